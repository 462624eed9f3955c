"""SNS's query protocol (form-encoded `Action=Publish...`, XML answers), as boto3 speaks it, onto the bus.

Topic ARNs are `arn:aws:sns:<region>:<account>:<app>-<name>`, the ARN the subscriber's records carry
and discovery serves at `/<Stack>/events/<name>`; a topic is also found by its bare @events name.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDictProxy

from sandbox.errors import NotFoundError, ValidationError
from sandbox.lambdas.invocations import new_request_id
from sandbox.messaging import records
from sandbox.model import EventSpec, Manifest
from sandbox.wire_errors import WireError, each_entry

if TYPE_CHECKING:
    from sandbox.bus import EventBus

XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
MAX_BATCH = 10
MAX_MESSAGE = 262_144
PAGE = 100  # ListTopics: topics per page

Form = Mapping[str, str]
Operation = Callable[[Form], Awaitable[str]]


def invalid(what: str) -> WireError:
    return WireError(400, "InvalidParameter", f"Invalid parameter: {what}")


def not_found() -> WireError:
    return WireError(404, "NotFound", "Topic does not exist")


class SnsApi:
    def __init__(self, bus: EventBus, manifest: Callable[[], Manifest]) -> None:
        self._bus = bus
        self._manifest = manifest
        self._operations: dict[str, Operation] = {
            "Publish": self.publish,
            "PublishBatch": self.publish_batch,
            "ListTopics": self.list_topics,
            "GetTopicAttributes": self.get_topic_attributes,
        }

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        action = str(form.get("Action", ""))
        request_id = new_request_id()
        text_form = _text_only(form)
        try:
            operation = self._operations.get(action)
            if operation is None:
                raise WireError(400, "InvalidAction", f"The action {action} is not valid for this endpoint.")
            result = await operation(text_form)
        except WireError as error:
            return _xml(error.status, _error_document(error, request_id))
        body = (
            f'<{action}Response xmlns="{XMLNS}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
        )
        return _xml(200, body)

    # --- topics ------------------------------------------------------------------------------

    def arn(self, spec: EventSpec) -> str:
        return records.topic_arn(self._bus.region, self._bus.account_id, self._manifest().app, spec.name)

    def topic_arns(self) -> dict[str, str]:
        """{@events name: TopicArn} for discovery."""
        return {spec.name: self.arn(spec) for spec in self._manifest().events}

    def _topic(self, form: Form, key: str = "TopicArn") -> EventSpec:
        arn = str(form.get(key) or "")
        if not arn and "TargetArn" in form:
            arn = str(form["TargetArn"])
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"] or not parts[5]:
            raise invalid("TopicArn" if key == "TopicArn" else key)
        app = self._manifest().app
        for spec in self._manifest().events:
            if parts[5] in (f"{app}-{spec.name}", spec.name):
                return spec
        raise not_found()

    async def list_topics(self, form: Form) -> str:
        arns = sorted(self.arn(spec) for spec in self._manifest().events)
        start = int(str(form.get("NextToken") or 0)) if str(form.get("NextToken") or "0").isdigit() else 0
        page = arns[start : start + PAGE]
        members = "".join(f"<member><TopicArn>{escape(a)}</TopicArn></member>" for a in page)
        more = f"<NextToken>{start + PAGE}</NextToken>" if start + PAGE < len(arns) else ""
        return f"<Topics>{members}</Topics>{more}"

    async def get_topic_attributes(self, form: Form) -> str:
        spec = self._topic(form)
        arn = self.arn(spec)
        attributes = {
            "TopicArn": arn,
            "Owner": self._bus.account_id,
            "DisplayName": spec.name,
            "SubscriptionsConfirmed": "1",
            "SubscriptionsPending": "0",
            "SubscriptionsDeleted": "0",
            "Policy": _policy(arn, self._bus.account_id),
            "EffectiveDeliveryPolicy": '{"http":{"defaultHealthyRetryPolicy":{"numRetries":3}}}',
        }
        entries = "".join(
            f"<entry><key>{escape(k)}</key><value>{escape(v)}</value></entry>" for k, v in attributes.items()
        )
        return f"<Attributes>{entries}</Attributes>"

    # --- publishing --------------------------------------------------------------------------

    async def publish(self, form: Form) -> str:
        spec = self._topic(form)
        message_id = await self._publish(spec, form, "")
        return f"<MessageId>{message_id}</MessageId>"

    async def _publish(self, spec: EventSpec, form: Form, prefix: str) -> str:
        message = form.get(prefix + "Message")
        if message is None or message == "":
            raise invalid("Empty message")
        subject = form.get(prefix + "Subject")
        if subject is not None and (not subject or len(subject) > 100 or not subject.isprintable()):
            raise invalid("Subject")
        attributes = _message_attributes(form, prefix + "MessageAttributes.entry.")
        size = len(message.encode()) + sum(len(k) + len(v) for k, v in attributes.items())
        if size > MAX_MESSAGE:
            raise invalid("Message too long")
        structure = form.get(prefix + "MessageStructure")
        if structure is not None:
            message = _for_lambda(message, structure)
        try:
            return await self._bus.publish(
                spec.name, records.RawMessage(message), subject=subject, attributes=attributes
            )
        except NotFoundError:
            raise not_found() from None
        except ValidationError as error:
            raise invalid(error.message) from None

    async def publish_batch(self, form: Form) -> str:
        spec = self._topic(form)
        prefixes = _batch_prefixes(form)
        done, failed = [], []
        outcomes = await each_entry(self._publish(spec, form, prefix) for prefix in prefixes)
        for prefix, outcome in zip(prefixes, outcomes, strict=True):
            entry_id = escape(form[prefix + "Id"])
            if isinstance(outcome, WireError):
                failed.append(
                    f"<member><Id>{entry_id}</Id><Code>{outcome.code}</Code>"
                    f"<Message>{escape(outcome.message)}</Message><SenderFault>true</SenderFault></member>"
                )
            else:
                done.append(f"<member><Id>{entry_id}</Id><MessageId>{outcome}</MessageId></member>")
        return f"<Successful>{''.join(done)}</Successful><Failed>{''.join(failed)}</Failed>"


def _for_lambda(message: str, structure: str) -> str:
    """MessageStructure=json: a message per protocol; a Lambda subscriber gets the "lambda" one, else
    "default", which SNS requires."""
    if structure != "json":
        raise invalid("MessageStructure")
    try:
        per_protocol = json.loads(message)
    except ValueError:
        raise invalid("Message Structure - JSON message body failed to parse") from None
    if not isinstance(per_protocol, dict) or not isinstance(per_protocol.get("default"), str):
        raise invalid("Message Structure - No default entry in JSON message body")
    chosen = per_protocol.get("lambda", per_protocol["default"])
    if not isinstance(chosen, str):
        raise invalid("Message Structure - JSON message body failed to parse")
    return chosen


def _text_only(form: MultiDictProxy[Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _message_attributes(form: Form, prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    n = 1
    while f"{prefix}{n}.Name" in form:
        name = form[f"{prefix}{n}.Name"]
        data_type = form.get(f"{prefix}{n}.Value.DataType", "")
        value = form.get(f"{prefix}{n}.Value.StringValue", form.get(f"{prefix}{n}.Value.BinaryValue"))
        if not data_type or value is None:
            raise invalid(f"The message attribute '{name}' must contain non-empty message attribute value.")
        found[name] = value
        n += 1
    return found


def _batch_prefixes(form: Form) -> list[str]:
    prefixes = []
    n = 1
    while f"PublishBatchRequestEntries.member.{n}.Id" in form:
        prefixes.append(f"PublishBatchRequestEntries.member.{n}.")
        n += 1
    if not prefixes:
        raise WireError(400, "EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(prefixes) > MAX_BATCH:
        raise WireError(
            400, "TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible."
        )
    ids = [form[p + "Id"] for p in prefixes]
    if any(not i or len(i) > 80 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in i) for i in ids):
        raise WireError(400, "InvalidBatchEntryId", "The Id of a batch entry in a batch request doesn't abide by the specification.")  # fmt: skip
    if len(set(ids)) != len(ids):
        raise WireError(400, "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
    return prefixes


def _policy(arn: str, account: str) -> str:
    return (
        '{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID",'
        f'"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["SNS:Publish","SNS:GetTopicAttributes"],'
        f'"Resource":"{arn}","Condition":{{"StringEquals":{{"AWS:SourceOwner":"{account}"}}}}}}]}}'
    )


def _error_document(error: WireError, request_id: str) -> str:
    kind = "Sender" if error.status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{kind}</Type><Code>{error.code}</Code>'
        f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )


def _xml(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/xml")
