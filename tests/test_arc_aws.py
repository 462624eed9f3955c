"""`sandbox.arc` deployed (the `Aws` backend) against moto: the resources Architect creates for an app,
found through SSM as Architect's own client finds them, with discovery looked up once per cold start."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox import arc
from sandbox.arc import _backends
from sandbox.errors import NotFoundError, SandboxError

STACK = "MyAppStaging"  # toLogicalID("my-app-staging"): the stack `arc deploy` creates for staging


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for variable in ("ARC_SANDBOX", "ARC_STACK_NAME", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    for prefix in ("DYNAMODB", "DYNAMODB_STREAMS", "SNS", "SQS", "LAMBDA", "SSM"):
        monkeypatch.delenv(f"AWS_ENDPOINT_URL_{prefix}", raising=False)
    monkeypatch.setenv("ARC_APP_NAME", "my-app")
    monkeypatch.setenv("ARC_ENV", "staging")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ARC_WSS_URL", "wss://abc123.execute-api.us-west-2.amazonaws.com/staging")
    caches = (_backends._client, _backends._discover, _backends._ws_client)
    for cached in caches:
        cached.cache_clear()
    with mock_aws():
        yield deploy()
    for cached in caches:
        cached.cache_clear()


def deploy() -> dict[str, Any]:
    """What Architect's CloudFormation makes for `@events ping`, `@queues jobs` (FIFO) and `@tables notes`,
    named the way CloudFormation names them, with the SSM parameters of Architect's package."""
    sns, sqs, ddb, ssm = boto3.client("sns"), boto3.client("sqs"), boto3.client("dynamodb"), boto3.client("ssm")
    topic = sns.create_topic(Name=f"{STACK}-PingEventTopic-1QX2W3E4R5T6")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{STACK}-JobsQueue-7Y8U9I0O.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    table = f"{STACK}-NotesTable-A1S2D3F4"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "noteID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "noteID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name, value in (("events/ping", topic), ("queues/jobs", queue), ("tables/notes", table)):
        ssm.put_parameter(Name=f"/{STACK}/{name}", Value=value, Type="String")
    # An SQS subscription shows what the topic received.
    tap = sqs.create_queue(QueueName="tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=tap_arn, Attributes={"RawMessageDelivery": "true"})
    return {"sqs": sqs, "queue": queue, "tap": tap}


def test_aws_backend_is_chosen_outside_a_sandbox(aws: dict[str, Any]) -> None:
    assert isinstance(_backends.backend(), _backends.Aws)


def test_aws_publish_send_and_tables(aws: dict[str, Any]) -> None:
    sqs = aws["sqs"]
    message_id = arc.events.publish("ping", {"hello": "topic"})
    [tapped] = sqs.receive_message(QueueUrl=aws["tap"])["Messages"]
    assert json.loads(tapped["Body"]) == {"hello": "topic"} and message_id
    arc.queues.publish("jobs", {"n": 1}, group_id="g")
    [queued] = sqs.receive_message(QueueUrl=aws["queue"], AttributeNames=["MessageGroupId"])["Messages"]
    assert json.loads(queued["Body"]) == {"n": 1} and queued["Attributes"]["MessageGroupId"] == "g"
    notes = arc.tables().notes
    notes.put({"noteID": "n1", "body": "hi", "stars": 3})
    assert notes.get({"noteID": "n1"}) == {"noteID": "n1", "body": "hi", "stars": 3}


def test_aws_discovery_is_looked_up_once_per_cold_start(aws: dict[str, Any]) -> None:
    calls: list[str] = []
    ssm = _backends._client("ssm")
    ssm.meta.events.register("before-call.ssm.GetParametersByPath", lambda **_: calls.append("lookup"))
    arc.events.publish("ping", {"n": 1})
    arc.events.publish("ping", {"n": 2})
    arc.queues.publish("jobs", {"n": 3})
    assert arc.tables().notes.get({"noteID": "none"}) is None
    assert calls == ["lookup"]


def test_aws_unknown_names_say_so(aws: dict[str, Any]) -> None:
    with pytest.raises(NotFoundError, match="no event named 'nope'"):
        arc.events.publish("nope", {})
    with pytest.raises(NotFoundError, match="no queue named 'nope'"):
        arc.queues.publish("nope", {})


def test_aws_ws_goes_to_the_management_api_at_arc_wss_url(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    arc.ws.send("Ab3dEfGhIjKlMnO=", {"hello": "client"})
    info = arc.ws.info("Ab3dEfGhIjKlMnO=")  # the keys and ISO times the sandbox gives (tests/test_ws.py)
    assert set(info) == {"connectedAt", "identity", "lastActiveAt"} and set(info["identity"]) == {
        "sourceIp",
        "userAgent",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["connectedAt"])
    arc.ws.close("Ab3dEfGhIjKlMnO=")
    monkeypatch.delenv("ARC_WSS_URL")
    with pytest.raises(SandboxError, match="ARC_WSS_URL"):
        arc.ws.send("Ab3dEfGhIjKlMnO=", {})
