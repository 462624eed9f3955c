"""Message checks and conversions shared by the bus's publishing and delivering paths."""

from __future__ import annotations

import json
import uuid

from sandbox.errors import ValidationError
from sandbox.messaging import records
from sandbox.messaging.queues import QueuedMessage
from sandbox.messaging.results import DeliveryResult
from sandbox.model import Json

MAX_MESSAGE_BYTES = 256 * 1024  # SNS and SQS


def checked_json(payload: Json) -> Json:
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"the payload is not JSON: {error}") from None
    return payload


def encoded(payload: Json) -> str:
    """The message body (the payload as JSON text), or a ValidationError if it is not JSON: one dump."""
    try:
        return records.encode_payload(payload)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"the payload is not JSON: {error}") from None


def check_size(body: str) -> None:
    size = len(body.encode())
    if size > MAX_MESSAGE_BYTES:
        raise ValidationError(f"the message is {size:,} bytes; SNS and SQS take at most {MAX_MESSAGE_BYTES:,}")


def loads(body: str) -> Json:
    try:
        return json.loads(body)
    except ValueError:
        return body


def sqs_record(arn: str, message: QueuedMessage) -> dict[str, Json]:
    fifo = None
    if arn.endswith(".fifo"):
        fifo = {
            "SequenceNumber": str(message.seq).rjust(20, "0"),
            "MessageGroupId": message.group_id or "",
            "MessageDeduplicationId": message.dedup_id or "",
        }
    return records.sqs_record(
        arn=arn, message_id=message.id, receipt_handle=message.receipt or str(uuid.uuid4()), body=message.body,
        sent_at=message.sent_at, first_receive=message.first_receive or message.sent_at,
        receive_count=message.receive_count, attributes=message.attributes, fifo=fifo,
    )  # fmt: skip


def batch_failures(answer: Json, ids: tuple[str, ...]) -> set[str]:
    """Lambda's partial batch response: {"batchItemFailures": [{"itemIdentifier": id}]}."""
    if not isinstance(answer, dict) or not isinstance(answer.get("batchItemFailures"), list):
        return set()
    failed = {str(f.get("itemIdentifier")) for f in answer["batchItemFailures"] if isinstance(f, dict)}
    if failed - set(ids):
        return set(ids)  # an unknown identifier fails the whole batch, as Lambda does
    return failed


def partial(result: DeliveryResult, failed: set[str]) -> DeliveryResult:
    return DeliveryResult(
        result.pragma, result.name, result.message_ids, result.attempt, False, result.request_id,
        result.duration_ms, f"partial batch failure: {len(failed)} of {len(result.message_ids)} failed",
        None, tuple(sorted(failed)),
    )  # fmt: skip


def info(message: QueuedMessage) -> dict[str, Json]:
    return {
        "pragma": "queues",
        "name": message.queue,
        "message_id": message.id,
        "receive_count": message.receive_count,
        "visible_at": message.visible_at,
        "group_id": message.group_id,
    }
