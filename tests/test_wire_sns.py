"""SNS over the wire (`sandbox.messaging.sns_wire`): boto3's sns client publishing to the app's @events topics."""

from __future__ import annotations

from typing import Any

import aiohttp
import botocore.exceptions
import pytest

from sandbox.sandbox import Sandbox
from tests import wire_app
from tests.wire_app import call, client_factory, seen

clock, sandbox = wire_app.clock, wire_app.sandbox  # the wire app's fixtures


@pytest.fixture
def sns(sandbox: Sandbox) -> Any:
    return client_factory("sns", sandbox.ports["events"])()


def topic(sandbox: Sandbox, name: str = "ping") -> str:
    return f"arn:aws:sns:us-west-2:{sandbox.bus.account_id}:wire-app-{name}"


async def test_sns_publish_delivers_the_message_as_sent(sandbox: Sandbox, sns: Any) -> None:
    attributes = {"colour": {"DataType": "String", "StringValue": "blue"}}
    answer = await call(sns.publish, TopicArn=topic(sandbox), Message="not json", Subject="Hi",
                        MessageAttributes=attributes)  # fmt: skip
    await sandbox.settle()
    [event] = seen(sandbox.manifest.root, "events/ping")
    record = event["Records"][0]["Sns"]
    assert (record["Message"], record["Subject"], record["MessageId"]) == ("not json", "Hi", answer["MessageId"])
    assert record["TopicArn"] == topic(sandbox)
    assert record["MessageAttributes"]["colour"]["Value"] == "blue"


async def test_sns_list_topics_and_attributes(sandbox: Sandbox, sns: Any) -> None:
    assert (await call(sns.list_topics))["Topics"] == [{"TopicArn": topic(sandbox)}]
    found = (await call(sns.get_topic_attributes, TopicArn=topic(sandbox)))["Attributes"]
    assert found["TopicArn"] == topic(sandbox) and found["Owner"] == sandbox.bus.account_id


async def test_sns_publish_batch_reports_each_entry(sandbox: Sandbox, sns: Any) -> None:
    entries = [{"Id": "one", "Message": '{"n": 1}'}, {"Id": "two", "Message": '{"n": 2}', "Subject": "x" * 101}]
    answer = await call(sns.publish_batch, TopicArn=topic(sandbox), PublishBatchRequestEntries=entries)
    assert [s["Id"] for s in answer["Successful"]] == ["one"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [("two", "InvalidParameter", True)]
    await sandbox.settle()
    assert [e["Records"][0]["Sns"]["Message"] for e in seen(sandbox.manifest.root, "events/ping")] == ['{"n": 1}']


@pytest.mark.parametrize(
    ("arn", "status", "code"),
    [
        pytest.param("arn:aws:sns:us-west-2:123456789012:wire-app-nope", 404, "NotFound", id="unknown-topic"),
        pytest.param("not-an-arn", 400, "InvalidParameter", id="malformed-arn"),
    ],
)
async def test_sns_bad_topics(sandbox: Sandbox, sns: Any, arn: str, status: int, code: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await call(sns.publish, TopicArn=arn, Message="x")
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert sandbox.bus.published == []


async def test_sns_empty_and_oversized_messages_are_invalid(sandbox: Sandbox, sns: Any) -> None:
    for message in ("", "x" * 262_145):
        with pytest.raises(sns.exceptions.InvalidParameterException):
            await call(sns.publish, TopicArn=topic(sandbox), Message=message)
    with pytest.raises(sns.exceptions.TooManyEntriesInBatchRequestException):
        entries = [{"Id": f"e{n}", "Message": "x"} for n in range(11)]
        await call(sns.publish_batch, TopicArn=topic(sandbox), PublishBatchRequestEntries=entries)
    assert sandbox.bus.published == []


async def test_sns_message_structure_json_sends_the_lambda_entry_or_the_default(sandbox: Sandbox, sns: Any) -> None:
    per_protocol = [
        '{"default": "for all", "lambda": "for functions", "email": "hi"}',
        '{"default": "for all", "sqs": "q"}',
    ]
    for message in per_protocol:
        await call(sns.publish, TopicArn=topic(sandbox), Message=message, MessageStructure="json")
    await sandbox.settle()
    received = [e["Records"][0]["Sns"]["Message"] for e in seen(sandbox.manifest.root, "events/ping")]
    # Two publishes may run in two environments at once, so arrival order is not theirs.
    assert sorted(received) == ["for all", "for functions"]


@pytest.mark.parametrize(
    ("message", "structure", "problem"),
    [
        pytest.param('{"lambda": "x"}', "json", "No default entry", id="no-default"),
        pytest.param("not json", "json", "failed to parse", id="not-json"),
        pytest.param('{"default": 1}', "json", "No default entry", id="default-not-text"),
        pytest.param('{"default": "x"}', "xml", "MessageStructure", id="unknown-structure"),
    ],
)
async def test_sns_bad_message_structures_are_invalid(
    sandbox: Sandbox, sns: Any, message: str, structure: str, problem: str
) -> None:
    with pytest.raises(sns.exceptions.InvalidParameterException, match=problem):
        await call(sns.publish, TopicArn=topic(sandbox), Message=message, MessageStructure=structure)
    assert sandbox.bus.published == []


async def test_sns_unknown_action_is_an_xml_error(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        data = {"Action": "CreateTopic", "Name": "x"}
        # shaped like boto3's: the events port takes form bodies only with a SigV4 Authorization header
        signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20261129/us-west-2/sns/aws4_request, "
                  "SignedHeaders=host, Signature=0"}  # fmt: skip
        url = f"http://127.0.0.1:{sandbox.ports['events']}/"
        async with session.post(url, data=data, headers=signed) as resp:
            assert resp.status == 400
            assert "<Code>InvalidAction</Code>" in await resp.text()


async def test_events_port_still_takes_architect_functions_posts(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{sandbox.ports['events']}/events"
        async with session.post(url, json={"name": "ping", "payload": {"a": 1}}) as resp:
            assert (resp.status, await resp.text()) == (200, "ok")
    await sandbox.settle()
    assert [e["Records"][0]["Sns"]["Message"] for e in seen(sandbox.manifest.root, "events/ping")] == ['{"a": 1}']
