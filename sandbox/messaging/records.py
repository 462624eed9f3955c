"""The events Lambda receives from SNS, SQS and EventBridge, shaped as AWS sends them."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.model import Json


def message_id() -> str:
    """A MessageId: a UUID as SNS and SQS give, time-ordered (version 7) rather than random, so that
    each new row lands at the end of the SQLite index on it instead of on a random page; with a
    large backlog, random ids made every commit write pages all over the file. The random part comes
    from `random`, not the kernel: an id has to be unique, not secret, and a system call per publish
    showed in the bus's profile."""
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_ms(epoch: float) -> str:
    """2026-11-22T11:00:00.123Z, as SNS writes timestamps."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def iso_s(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def topic_arn(region: str, account: str, app: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{app}-{name}"


def queue_arn(region: str, account: str, app: str, name: str, *, fifo: bool) -> str:
    return f"arn:aws:sqs:{region}:{account}:{app}-{name}{'.fifo' if fifo else ''}"


def rule_arn(region: str, account: str, app: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:rule/{app}-{name}"


def subscription_arn(topic: str) -> str:
    """The function's subscription to the topic: one per topic, so the same ARN for every delivery, as SNS gives."""
    return f"{topic}:{uuid.uuid5(uuid.NAMESPACE_URL, topic)}"


class SnsTopic:
    """A topic's ARN and the parts of its deliveries' records that are the same for every message,
    worked out once per topic rather than once per delivery."""

    def __init__(self, arn: str, subscription: str | None = None) -> None:
        region = arn.split(":")[3]
        self.arn = arn
        self.subscription = subscription or subscription_arn(arn)
        self.cert = f"https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
        self.unsubscribe = f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={self.subscription}"
        self._second = -1  # the last timestamp's whole second, and that second as iso_ms writes it
        self._second_text = ""

    def event(
        self,
        *,
        message_id: str,
        message: str,
        timestamp: float,
        subject: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> dict[str, Json]:
        second = int(timestamp)
        if second != self._second:  # as iso_ms, with the date formatted once a second, not once a message
            self._second, self._second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp))
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": self.subscription,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": self.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": f"{self._second_text}.{int(timestamp * 1000) % 1000:03d}Z",
                "SignatureVersion": "1",
                "Signature": "arc-sandbox-unsigned",
                "SigningCertUrl": self.cert,
                "UnsubscribeUrl": self.unsubscribe,
                "MessageAttributes": {k: {"Type": "String", "Value": v} for k, v in attributes.items()}
                if attributes
                else {},
            },
        }
        return {"Records": [record]}


def sns_event(
    *,
    arn: str,
    message_id: str,
    message: str,
    timestamp: float,
    subject: str | None = None,
    attributes: Mapping[str, str] | None = None,
    subscription: str | None = None,
) -> dict[str, Json]:
    topic = SnsTopic(arn, subscription)
    return topic.event(
        message_id=message_id, message=message, timestamp=timestamp, subject=subject, attributes=attributes
    )


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def sqs_record(
    *,
    arn: str,
    message_id: str,
    receipt_handle: str,
    body: str,
    sent_at: float,
    first_receive: float,
    receive_count: int,
    attributes: Mapping[str, str] | None = None,
    fifo: Mapping[str, str] | None = None,
) -> dict[str, Json]:
    system = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(int(sent_at * 1000)),
        "SenderId": "AROAARCSANDBOX:arc-sandbox",
        "ApproximateFirstReceiveTimestamp": str(int(first_receive * 1000)),
        **(fifo or {}),
    }
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": system,
        "messageAttributes": {
            k: {"stringValue": v, "stringListValues": [], "binaryListValues": [], "dataType": "String"}
            for k, v in (attributes or {}).items()
        },
        "md5OfBody": md5(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": arn.split(":")[3],
    }


def sqs_event(records: Sequence[dict[str, Json]]) -> dict[str, Json]:
    return {"Records": list(records)}


def scheduled_event(*, arn: str, account: str, region: str, at: float) -> dict[str, Json]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_s(at),
        "region": region,
        "resources": [arn],
        "detail": {},
    }


class RawMessage(str):
    """A message body a wire client gave as text (SNS `Message`, SQS `MessageBody`): delivered as sent."""


def encode_payload(payload: Any) -> str:
    """The message body: the payload as JSON text, as architect-functions and @architect/functions send it."""
    if isinstance(payload, RawMessage):
        return str(payload)
    return json.dumps(payload)
