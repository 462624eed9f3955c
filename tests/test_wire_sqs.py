"""SQS over the wire (`sandbox.messaging.sqs_wire`, `sandbox.messaging.reading`): boto3's sqs client against a started sandbox.

Sending to a queue a function reads, and the whole client-read cycle (receive, visibility, delete,
counts, purge) on queues without a handler; errors with the codes boto3 raises for real SQS.
"""

from __future__ import annotations

import asyncio
from typing import Any

import botocore.exceptions
import pytest

from sandbox.clock import FakeClock
from sandbox.sandbox import Sandbox
from tests import wire_app
from tests.wire_app import call, client_factory, seen

clock, sandbox = wire_app.clock, wire_app.sandbox  # the wire app's fixtures


@pytest.fixture
def sqs(sandbox: Sandbox) -> Any:
    return client_factory("sqs", sandbox.ports["events"])()


async def url(sqs: Any, name: str) -> str:
    return str((await call(sqs.get_queue_url, QueueName=name))["QueueUrl"])


async def counts(sqs: Any, queue_url: str) -> tuple[int, int, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    found = (await call(sqs.get_queue_attributes, QueueUrl=queue_url, AttributeNames=names))["Attributes"]
    return int(found[names[0]]), int(found[names[1]]), int(found[names[2]])


async def test_sqs_send_message_reaches_the_function_with_the_body_as_sent(sandbox: Sandbox, sqs: Any) -> None:
    queue_url = await url(sqs, "jobs")
    assert queue_url.endswith(f"/{sandbox.bus.account_id}/wire-app-jobs")
    attributes = {"kind": {"DataType": "String", "StringValue": "demo"}}
    sent = await call(sqs.send_message, QueueUrl=queue_url, MessageBody="plain text", MessageAttributes=attributes)
    await sandbox.settle()
    [event] = seen(sandbox.manifest.root, "queues/jobs")
    [record] = event["Records"]
    assert record["body"] == "plain text"
    assert record["messageId"] == sent["MessageId"]
    assert record["messageAttributes"]["kind"]["stringValue"] == "demo"
    assert record["eventSourceARN"].endswith(":wire-app-jobs")


async def test_sqs_get_queue_url_and_list_queues(sandbox: Sandbox, sqs: Any) -> None:
    fifo = await url(sqs, "orders")
    assert fifo.endswith("/wire-app-orders.fifo")
    assert await url(sqs, "wire-app-orders.fifo") == fifo
    listed = (await call(sqs.list_queues))["QueueUrls"]
    assert sorted(u.rpartition("/")[2] for u in listed) == [
        "wire-app-inbox", "wire-app-jobs", "wire-app-orders.fifo"
    ]  # fmt: skip
    assert [u.rpartition("/")[2] for u in (await call(sqs.list_queues, QueueNamePrefix="wire-app-o"))["QueueUrls"]] == [
        "wire-app-orders.fifo"
    ]
    assert "QueueUrls" not in await call(sqs.list_queues, QueueNamePrefix="nope")


async def test_sqs_unknown_queue_is_queue_does_not_exist(sqs: Any) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as err:
        await call(sqs.get_queue_url, QueueName="missing")
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        await call(sqs.send_message, QueueUrl="http://localhost/123456789012/missing", MessageBody="x")


async def test_sqs_client_read_cycle(sandbox: Sandbox, sqs: Any, clock: FakeClock) -> None:
    inbox = await url(sqs, "inbox")
    for n in range(3):
        await call(sqs.send_message, QueueUrl=inbox, MessageBody=f"m{n}")
    await sandbox.settle()  # nothing delivers the inbox: it has no handler
    assert await counts(sqs, inbox) == (3, 0, 0)
    got = (await call(sqs.receive_message, QueueUrl=inbox, MaxNumberOfMessages=2, VisibilityTimeout=30))["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1"]
    assert await counts(sqs, inbox) == (1, 2, 0)
    await call(sqs.delete_message, QueueUrl=inbox, ReceiptHandle=got[0]["ReceiptHandle"])
    await call(
        sqs.change_message_visibility, QueueUrl=inbox, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=0
    )
    assert await counts(sqs, inbox) == (2, 0, 0)
    again = (await call(sqs.receive_message, QueueUrl=inbox, MaxNumberOfMessages=10, VisibilityTimeout=10,
                        MessageSystemAttributeNames=["ApproximateReceiveCount"]))["Messages"]  # fmt: skip
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [("m1", "2"), ("m2", "1")]
    assert "Messages" not in await call(sqs.receive_message, QueueUrl=inbox)
    clock.advance(10)  # the visibility timeout ends: both are visible again
    assert await counts(sqs, inbox) == (2, 0, 0)
    await call(sqs.purge_queue, QueueUrl=inbox)
    assert await counts(sqs, inbox) == (0, 0, 0)


async def test_sqs_delete_message_batch_reports_each_entry_and_commits_once(sandbox: Sandbox, sqs: Any) -> None:
    inbox = await url(sqs, "inbox")
    await call(sqs.send_message_batch, QueueUrl=inbox, Entries=[{"Id": str(n), "MessageBody": "x"} for n in range(3)])
    received = (await call(sqs.receive_message, QueueUrl=inbox, MaxNumberOfMessages=10))["Messages"]
    entries = [{"Id": f"e{n}", "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)]
    commits = sandbox.bus._storage.commits.commits
    answer = await call(
        sqs.delete_message_batch, QueueUrl=inbox, Entries=[*entries, {"Id": "bad", "ReceiptHandle": "x"}]
    )
    assert [e["Id"] for e in answer["Successful"]] == ["e0", "e1", "e2"]
    assert [(e["Id"], e["Code"]) for e in answer["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    assert sandbox.bus._storage.commits.commits == commits + 1  # the batch's deletes share one commit
    assert await counts(sqs, inbox) == (0, 0, 0)


async def test_sqs_delay_counts_as_delayed(sqs: Any, clock: FakeClock) -> None:
    inbox = await url(sqs, "inbox")
    await call(sqs.send_message, QueueUrl=inbox, MessageBody="later", DelaySeconds=60)
    assert await counts(sqs, inbox) == (0, 0, 1)
    clock.advance(60)
    assert await counts(sqs, inbox) == (1, 0, 0)


async def test_sqs_message_attributes_round_trip_with_checked_md5(sqs: Any) -> None:
    inbox = await url(sqs, "inbox")
    attributes = {"a": {"DataType": "String", "StringValue": "1"}, "b": {"DataType": "String", "StringValue": "two"}}
    await call(sqs.send_message, QueueUrl=inbox, MessageBody="with attributes", MessageAttributes=attributes)
    [message] = (await call(sqs.receive_message, QueueUrl=inbox, MessageAttributeNames=["All"]))["Messages"]
    assert message["MessageAttributes"] == {k: {"DataType": "String", "StringValue": v["StringValue"]}
                                            for k, v in attributes.items()}  # fmt: skip


async def test_sqs_fifo_groups_one_message_at_a_time(sqs: Any) -> None:
    orders = await url(sqs, "orders")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await call(sqs.send_message, QueueUrl=orders, MessageBody="no group")
    assert err.value.response["Error"]["Code"] == "MissingParameter"
    for body, group in (("a", "g1"), ("b", "g1"), ("c", "g2")):
        await call(sqs.send_message, QueueUrl=orders, MessageBody=body, MessageGroupId=group,
                   MessageDeduplicationId=body)  # fmt: skip
    duplicate = await call(sqs.send_message, QueueUrl=orders, MessageBody="a", MessageGroupId="g1",
                           MessageDeduplicationId="a")  # fmt: skip
    assert await counts(sqs, orders) == (3, 0, 0)  # the duplicate is accepted and dropped
    first = (await call(sqs.receive_message, QueueUrl=orders, MaxNumberOfMessages=1))["Messages"]
    assert [m["Body"] for m in first] == ["a"] and first[0]["MessageId"] == duplicate["MessageId"]
    rest = (await call(sqs.receive_message, QueueUrl=orders, MaxNumberOfMessages=10))["Messages"]
    assert [m["Body"] for m in rest] == ["c"]  # g1 waits until "a" is deleted or visible again
    await call(sqs.delete_message, QueueUrl=orders, ReceiptHandle=first[0]["ReceiptHandle"])
    assert [m["Body"] for m in (await call(sqs.receive_message, QueueUrl=orders))["Messages"]] == ["b"]


async def test_sqs_send_message_batch_reports_each_entry(sqs: Any) -> None:
    inbox = await url(sqs, "inbox")
    entries = [
        {"Id": "ok", "MessageBody": "fine"},
        {"Id": "late", "MessageBody": "too late", "DelaySeconds": 901},
    ]
    answer = await call(sqs.send_message_batch, QueueUrl=inbox, Entries=entries)
    assert [s["Id"] for s in answer["Successful"]] == ["ok"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [
        ("late", "InvalidParameterValue", True)
    ]
    assert await counts(sqs, inbox) == (1, 0, 0)


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        pytest.param(
            [{"Id": f"e{n}", "MessageBody": "x"} for n in range(11)],
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            id="eleven",
        ),
        pytest.param(
            [{"Id": "same", "MessageBody": "x"}] * 2, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", id="same-ids"
        ),
        pytest.param(
            [{"Id": "bad id!", "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId", id="bad-id"
        ),
    ],
)
async def test_sqs_bad_batches_are_refused_whole(sqs: Any, entries: list[dict[str, Any]], code: str) -> None:
    inbox = await url(sqs, "inbox")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await call(sqs.send_message_batch, QueueUrl=inbox, Entries=entries)
    assert err.value.response["Error"]["Code"] == code
    assert await counts(sqs, inbox) == (0, 0, 0)


async def test_sqs_bad_receipt_handles(sqs: Any) -> None:
    inbox = await url(sqs, "inbox")
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        await call(sqs.delete_message, QueueUrl=inbox, ReceiptHandle="nonsense")
    await call(sqs.send_message, QueueUrl=inbox, MessageBody="x")
    [message] = (await call(sqs.receive_message, QueueUrl=inbox, VisibilityTimeout=0))["Messages"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await call(sqs.change_message_visibility, QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"],
                   VisibilityTimeout=5)  # fmt: skip
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.MessageNotInflight"
    assert await counts(sqs, inbox) == (1, 0, 0)


async def test_sqs_get_queue_attributes_all_and_unknown(sqs: Any) -> None:
    orders = await url(sqs, "orders")
    found = (await call(sqs.get_queue_attributes, QueueUrl=orders, AttributeNames=["All"]))["Attributes"]
    assert found["FifoQueue"] == "true" and found["QueueArn"].endswith(":wire-app-orders.fifo")
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        await call(sqs.get_queue_attributes, QueueUrl=orders, AttributeNames=["Nope"])


async def test_sqs_long_poll_returns_when_a_message_arrives(sandbox: Sandbox, sqs: Any) -> None:
    inbox = await url(sqs, "inbox")
    waiting = asyncio.ensure_future(call(sqs.receive_message, QueueUrl=inbox, WaitTimeSeconds=5))
    assert sandbox.listeners is not None
    await asyncio.wait_for(sandbox.listeners.until_in_flight(1), 5)  # it has looked once: the queue was empty
    assert not waiting.done()
    await sandbox.bus.send_message("inbox", {"n": 1})
    assert [m["Body"] for m in (await asyncio.wait_for(waiting, 5))["Messages"]] == ['{"n": 1}']


async def test_sqs_long_poll_waits_without_looking_again_until_a_message_can_be_taken(
    sandbox: Sandbox, sqs: Any, clock: FakeClock
) -> None:
    """A waiting ReceiveMessage looks at the queue when it starts, and again only when a message is sent
    or a delayed one becomes visible (by the sandbox's clock): it does not poll."""
    inbox = await url(sqs, "inbox")
    queue = sandbox.bus.queues.get("inbox")
    looks = 0
    receive_for_client = queue.receive_for_client

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal looks
        looks += 1
        return receive_for_client(*args, **kwargs)

    queue.receive_for_client = counted  # type: ignore[method-assign]
    await call(sqs.send_message, QueueUrl=inbox, MessageBody='{"later": true}', DelaySeconds=30)
    waiting = asyncio.ensure_future(call(sqs.receive_message, QueueUrl=inbox, WaitTimeSeconds=20))
    assert sandbox.listeners is not None
    await asyncio.wait_for(sandbox.listeners.until_in_flight(1), 5)
    for _ in range(20):  # other requests come and go while it waits (each takes real milliseconds)
        assert await counts(sqs, inbox) == (0, 0, 1)
    assert looks == 1 and not waiting.done()
    clock.advance(30)
    assert [m["Body"] for m in (await asyncio.wait_for(waiting, 5))["Messages"]] == ['{"later": true}']
    assert looks == 2
