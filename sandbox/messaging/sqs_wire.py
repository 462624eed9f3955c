"""SQS's JSON protocol (`X-Amz-Target: AmazonSQS.<Operation>`), as current boto3 speaks it, onto the bus.

Queue URLs are `http://<host>/<account>/<app>-<name>[.fifo]`, named as the ARNs in the records the
queue's function receives; GetQueueUrl also takes the bare @queues name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.errors import AwsError, NotFoundError, ValidationError
from sandbox.messaging import records
from sandbox.messaging.queues import MAX_DELAY, QueuedMessage
from sandbox.messaging.reading import MAX_VISIBILITY
from sandbox.model import Manifest, QueueSpec
from sandbox.wire_errors import WireError, each_entry

if TYPE_CHECKING:
    from sandbox.bus import EventBus

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."
MAX_BATCH = 10
MAX_BODY = 262_144
ALL_ATTRIBUTES = (
    "QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "VisibilityTimeout",
    "MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
)  # fmt: skip
FIFO_ATTRIBUTES = ("FifoQueue", "ContentBasedDeduplication")


def _error(code: str, message: str, query_code: str | None = None) -> WireError:
    return WireError(400, f"com.amazonaws.sqs#{code}", message, query_code=query_code or code)


def no_such_queue() -> WireError:
    return _error("QueueDoesNotExist", "The specified queue does not exist.", "AWS.SimpleQueueService.NonExistentQueue")


def missing(parameter: str) -> WireError:
    return _error("MissingRequiredParameterException", f"The request must contain the parameter {parameter}.",
                  "MissingParameter")  # fmt: skip


def invalid(message: str) -> WireError:
    return _error("InvalidParameterValue", message)


Operation = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]


class SqsApi:
    def __init__(self, bus: EventBus, manifest: Callable[[], Manifest]) -> None:
        self._bus = bus
        self._manifest = manifest
        self._operations: dict[str, Operation] = {
            "SendMessage": self.send_message,
            "SendMessageBatch": self.send_message_batch,
            "GetQueueUrl": self.get_queue_url,
            "GetQueueAttributes": self.get_queue_attributes,
            "ListQueues": self.list_queues,
            "PurgeQueue": self.purge_queue,
            "ReceiveMessage": self.receive_message,
            "DeleteMessage": self.delete_message,
            "DeleteMessageBatch": self.delete_message_batch,
            "ChangeMessageVisibility": self.change_message_visibility,
        }

    async def handle(self, request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "")[len(TARGET_PREFIX) :]
        try:
            body = _parse(await request.read())
            found = self._operations.get(operation)
            if found is None:
                raise _error("UnsupportedOperation", f"{operation} is not supported by arc-sandbox")
            answer = await found(body, f"http://{request.host}")
        except WireError as error:
            return _error_response(error)
        return web.Response(body=json.dumps(answer).encode(), content_type=CONTENT_TYPE)

    # --- queues ------------------------------------------------------------------------------

    def _physical(self, spec: QueueSpec) -> str:
        return f"{self._manifest().app}-{spec.name}{'.fifo' if spec.fifo else ''}"

    def _url(self, base: str, spec: QueueSpec) -> str:
        return f"{base}/{self._bus.account_id}/{self._physical(spec)}"

    def queue_urls(self, base: str) -> dict[str, str]:
        """{@queues name: QueueUrl} for discovery, under `base` (http://host:port)."""
        return {spec.name: self._url(base, spec) for spec in self._manifest().queues}

    def _by_name(self, name: str) -> QueueSpec:
        for spec in self._manifest().queues:
            if name in (spec.name, self._physical(spec), self._physical(spec).removesuffix(".fifo")):
                return spec
        raise no_such_queue()

    def _queue(self, body: dict[str, Any]) -> QueueSpec:
        url = body.get("QueueUrl")
        if not isinstance(url, str) or not url:
            raise missing("QueueUrl")
        return self._by_name(url.rstrip("/").rpartition("/")[2])

    async def get_queue_url(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        return {"QueueUrl": self._url(base, self._by_name(str(body.get("QueueName", ""))))}

    async def list_queues(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        prefix = str(body.get("QueueNamePrefix") or "")
        urls = [self._url(base, s) for s in self._manifest().queues if self._physical(s).startswith(prefix)]
        return {"QueueUrls": urls} if urls else {}

    async def get_queue_attributes(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        names = list(body.get("AttributeNames") or [])
        every = ALL_ATTRIBUTES + (FIFO_ATTRIBUTES if spec.fifo else ())
        if "All" in names:
            names = list(every)
        unknown = [n for n in names if n not in every]
        if unknown:
            raise _error("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
        values = self._attributes(spec)
        return {"Attributes": {n: values[n] for n in names}} if names else {}

    def _attributes(self, spec: QueueSpec) -> dict[str, str]:
        counts = self._bus.reader.counts(spec.name)
        arn = records.queue_arn(self._bus.region, self._bus.account_id, self._manifest().app, spec.name, fifo=spec.fifo)
        visibility = spec.visibility_timeout or 6 * spec.function.timeout
        return {
            "QueueArn": arn,
            "ApproximateNumberOfMessages": str(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": str(counts.not_visible),
            "ApproximateNumberOfMessagesDelayed": str(counts.delayed),
            "CreatedTimestamp": "0",
            "LastModifiedTimestamp": "0",
            "VisibilityTimeout": str(int(visibility)),
            "MaximumMessageSize": str(MAX_BODY),
            "MessageRetentionPeriod": "345600",
            "DelaySeconds": "0",
            "ReceiveMessageWaitTimeSeconds": "0",
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
        }

    async def purge_queue(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        await self._bus.reader.purge(self._queue(body).name)
        return {}

    # --- sending -----------------------------------------------------------------------------

    async def send_message(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        return await self._send(spec, body)

    async def _send(self, spec: QueueSpec, entry: dict[str, Any]) -> dict[str, Any]:
        text = entry.get("MessageBody")
        if not isinstance(text, str) or not text:
            raise missing("MessageBody")
        if len(text.encode()) > MAX_BODY:
            raise invalid(f"One or more parameters are invalid. Reason: Message must be shorter than {MAX_BODY} bytes.")
        attributes = _message_attributes(entry.get("MessageAttributes"))
        delay = _delay(entry.get("DelaySeconds"), fifo=spec.fifo)
        group = entry.get("MessageGroupId")
        if spec.fifo and not group:
            raise missing("MessageGroupId")
        try:
            message_id = await self._bus.send_message(
                spec.name, records.RawMessage(text), delay_seconds=delay, group_id=group,
                deduplication_id=entry.get("MessageDeduplicationId"),
                attributes={k: v for k, (_, v) in attributes.items()},
            )  # fmt: skip
        except NotFoundError:
            raise no_such_queue() from None
        except (ValidationError, AwsError) as error:
            raise invalid(error.message) from None
        answer = {"MessageId": message_id, "MD5OfMessageBody": records.md5(text)}
        if attributes:
            answer["MD5OfMessageAttributes"] = attributes_md5(attributes)
        return answer

    async def send_message_batch(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        entries = _batch_entries(body.get("Entries"))
        successful, failed = [], []
        for entry, outcome in zip(entries, await each_entry(self._send(spec, e) for e in entries), strict=True):
            if isinstance(outcome, WireError):
                failed.append(_failure(entry["Id"], outcome))
            else:
                successful.append({"Id": entry["Id"], **outcome})
        return {"Successful": successful, "Failed": failed}

    # --- reading -----------------------------------------------------------------------------

    async def receive_message(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        limit = _int(body.get("MaxNumberOfMessages", 1), "MaxNumberOfMessages", 1, MAX_BATCH)
        visibility = body.get("VisibilityTimeout")
        hidden = None if visibility is None else _int(visibility, "VisibilityTimeout", 0, int(MAX_VISIBILITY))
        wait = _int(body.get("WaitTimeSeconds", 0), "WaitTimeSeconds", 0, 20)
        taken = await self._bus.reader.receive_waiting(
            spec.name, wait_seconds=wait, max_messages=limit, visibility_timeout=hidden
        )
        wanted = _wanted_system_attributes(body)
        names = set(body.get("MessageAttributeNames") or [])
        messages = [_received(m, spec, wanted, names) for m in taken]
        return {"Messages": messages} if messages else {}

    async def delete_message(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        await self._reader_call(self._bus.reader.delete(spec.name, str(body.get("ReceiptHandle", ""))))
        return {}

    async def delete_message_batch(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        entries = _batch_entries(body.get("Entries"))
        deletes = (
            self._reader_call(self._bus.reader.delete(spec.name, str(e.get("ReceiptHandle", "")))) for e in entries
        )
        successful, failed = [], []
        for entry, outcome in zip(entries, await each_entry(deletes), strict=True):
            if isinstance(outcome, WireError):
                failed.append(_failure(entry["Id"], outcome))
            else:
                successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    async def change_message_visibility(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        spec = self._queue(body)
        timeout = _int(body.get("VisibilityTimeout"), "VisibilityTimeout", 0, int(MAX_VISIBILITY))
        handle = str(body.get("ReceiptHandle", ""))
        await self._reader_call(self._bus.reader.change_visibility(spec.name, handle, timeout))
        return {}

    async def _reader_call(self, call: Awaitable[None]) -> None:
        try:
            await call
        except AwsError as error:
            short = error.aws_code.rpartition(".")[2]
            raise _error(short, error.message, error.aws_code) from None


# --- request parts ---------------------------------------------------------------------------


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise WireError(400, "com.amazon.coral.service#SerializationException", "Malformed request body") from None
    if not isinstance(body, dict):
        raise WireError(400, "com.amazon.coral.service#SerializationException", "Malformed request body")
    return body


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"Value {value} for parameter {name} is invalid. Reason: Must be between {low} and {high}.")
    return value


def _delay(value: Any, *, fifo: bool) -> int:
    if value is None:
        return 0
    if fifo and value:
        raise invalid(
            f"Value {value} for parameter DelaySeconds is invalid. Reason: The request include parameter "
            "that is not valid for this queue type."
        )
    return _int(value, "DelaySeconds", 0, int(MAX_DELAY))


def _message_attributes(raw: Any) -> dict[str, tuple[str, str]]:
    """{name: (DataType, value)}; Binary values kept as their base64 text."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("MessageAttributes must be a map")
    found: dict[str, tuple[str, str]] = {}
    for name, attribute in raw.items():
        data_type = attribute.get("DataType") if isinstance(attribute, dict) else None
        if not isinstance(data_type, str) or not data_type:
            raise invalid(f"The message attribute '{name}' must contain non-empty message attribute type.")
        value = attribute.get("BinaryValue") if data_type.startswith("Binary") else attribute.get("StringValue")
        if not isinstance(value, str) or value == "":
            raise invalid(f"The message attribute '{name}' must contain non-empty message attribute value.")
        found[name] = (data_type, value)
    return found


def attributes_md5(attributes: Mapping[str, tuple[str, str]]) -> str:
    """MD5OfMessageAttributes, in the byte layout SQS documents (boto3 checks it)."""

    def part(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        data_type, value = attributes[name]
        binary = data_type.startswith("Binary")
        digest.update(part(name.encode()) + part(data_type.encode()) + (b"\x02" if binary else b"\x01"))
        digest.update(part(base64.b64decode(value) if binary else value.encode()))
    return digest.hexdigest()


def _batch_entries(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _error("EmptyBatchRequest", "There should be at least one entry in the request.",
                     "AWS.SimpleQueueService.EmptyBatchRequest")  # fmt: skip
    if len(raw) > MAX_BATCH:
        raise _error("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are {MAX_BATCH}. "
                     f"You have sent {len(raw)}.", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")  # fmt: skip
    ids = [e.get("Id") if isinstance(e, dict) else None for e in raw]
    for entry_id in ids:
        if not isinstance(entry_id, str) or not entry_id or len(entry_id) > 80 or not _id_chars(entry_id):
            raise _error("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, "
                         "hyphens and underscores. It can be at most 80 letters long.",
                         "AWS.SimpleQueueService.InvalidBatchEntryId")  # fmt: skip
    if len(set(ids)) != len(ids):
        raise _error("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.",
                     "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")  # fmt: skip
    return list(raw)


def _id_chars(text: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def _failure(entry_id: str, error: WireError) -> dict[str, Any]:
    return {"Id": entry_id, "SenderFault": True, "Code": error.query_code, "Message": error.message}


def _wanted_system_attributes(body: dict[str, Any]) -> set[str]:
    return set(body.get("AttributeNames") or []) | set(body.get("MessageSystemAttributeNames") or [])


def _received(message: QueuedMessage, spec: QueueSpec, wanted: set[str], names: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt,
        "MD5OfBody": records.md5(message.body),
        "Body": message.body,
    }
    system = {
        "SenderId": "AROAARCSANDBOX:arc-sandbox",
        "SentTimestamp": str(int(message.sent_at * 1000)),
        "ApproximateReceiveCount": str(message.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int((message.first_receive or message.sent_at) * 1000)),
    }
    if spec.fifo:
        system |= {"MessageGroupId": message.group_id or "", "MessageDeduplicationId": message.dedup_id or "",
                   "SequenceNumber": str(message.seq).rjust(20, "0")}  # fmt: skip
    if wanted:
        out["Attributes"] = system if "All" in wanted else {k: v for k, v in system.items() if k in wanted}
    chosen = {k: ("String", v) for k, v in message.attributes.items() if "All" in names or ".*" in names or k in names}
    if chosen:
        out["MessageAttributes"] = {k: {"DataType": t, "StringValue": v} for k, (t, v) in chosen.items()}
        out["MD5OfMessageAttributes"] = attributes_md5(chosen)
    return out


def _error_response(error: WireError) -> web.Response:
    payload = {"__type": error.code, "message": error.message}
    return web.Response(
        status=error.status,
        body=json.dumps(payload).encode(),
        content_type=CONTENT_TYPE,
        headers={"x-amzn-query-error": f"{error.query_code};Sender"},
    )
