"""The events port as architect-functions and @architect/functions use it, and the records AWS sends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from dirty_equals import IsStr

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

CAPTURE = """
import json
EVENTS = {path!r}
def handler(event, context):
    with open(EVENTS, "a") as f:
        f.write(json.dumps(event) + "\\n")
"""


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    app = tmp_path / "app"
    for kind, name in (("events", "ping"), ("queues", "jobs")):
        (app / "src" / kind / name).mkdir(parents=True)
        code = CAPTURE.replace("{path!r}", repr(str(tmp_path / f"{kind}.jsonl")))
        (app / "src" / kind / name / "lambda.py").write_text(code)
    (app / "app.arc").write_text("@app\nlistener-test\n@events\nping\n@queues\njobs\n")
    config = SandboxConfig.ephemeral(app)
    async with Sandbox(config) as sb:
        yield sb


def captured(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    path = sandbox.config.app_dir.parent / f"{kind}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_listener_answers_like_architects_bus(sandbox: Sandbox) -> None:
    url = f"http://127.0.0.1:{sandbox.ports['events']}"
    async with aiohttp.ClientSession(url) as client:
        async with client.post("/events", data="{not json") as r:
            assert (r.status, await r.text()) == (400, "Sandbox @event bus exception parsing request body")
        async with client.post("/events", json={"name": "nope", "payload": {}}) as r:
            assert (r.status, await r.text()) == (404, "Not found")
        async with client.post("/queues", json={"name": "nope", "payload": {}}) as r:
            assert r.status == 404
        async with client.post("/events", json={"name": "ping", "payload": {"a": 1}}) as r:
            assert (r.status, await r.text()) == (200, "ok")
        async with client.post("/queues", json={"name": "jobs", "payload": {"b": 2}, "groupID": "g"}) as r:
            assert (r.status, await r.text()) == (200, "ok")
    await sandbox.settle()
    assert len(captured(sandbox, "events")) == 1 and len(captured(sandbox, "queues")) == 1


async def test_listener_records_have_the_shape_aws_sends(sandbox: Sandbox) -> None:
    await sandbox.bus.publish("ping", {"a": 1}, subject="hi", attributes={"k": "v"})
    await sandbox.bus.send_message("jobs", {"b": 2}, group_id="g")
    await sandbox.settle()
    (sns_event,) = captured(sandbox, "events")
    (record,) = sns_event["Records"]
    assert record == {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": IsStr(regex=r"arn:aws:sns:us-west-2:123456789012:listener-test-ping:.+"),
        "Sns": {
            "Type": "Notification",
            "MessageId": IsStr(),
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:listener-test-ping",
            "Subject": "hi",
            "Message": '{"a": 1}',
            "Timestamp": IsStr(regex=r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
            "SignatureVersion": "1",
            "Signature": IsStr(),
            "SigningCertUrl": IsStr(),
            "UnsubscribeUrl": IsStr(),
            "MessageAttributes": {"k": {"Type": "String", "Value": "v"}},
        },
    }
    (sqs_event,) = captured(sandbox, "queues")
    (message,) = sqs_event["Records"]
    assert message == {
        "messageId": IsStr(),
        "receiptHandle": IsStr(),
        "body": '{"b": 2}',
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": IsStr(regex=r"\d{13}"),
            "SenderId": IsStr(),
            "ApproximateFirstReceiveTimestamp": IsStr(regex=r"\d{13}"),
            "SequenceNumber": IsStr(regex=r"\d{20}"),
            "MessageGroupId": "g",
            "MessageDeduplicationId": IsStr(),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(b'{"b": 2}').hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:listener-test-jobs.fifo",
        "awsRegion": "us-west-2",
    }
