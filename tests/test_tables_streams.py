"""@tables-streams end to end: tests/fixtures/streams-app's stream function is fed the `notes` table's
records as Lambda's event source mapping feeds them, and writes each one it gets to `received`."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from dirty_equals import IsStr

from sandbox.bus import DeliveryFailedError
from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.dynamodb import stream_delivery
from sandbox.reload import ReloadPlan
from sandbox.sandbox import Sandbox

FIXTURE = Path(__file__).parent / "fixtures" / "streams-app"
KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "streams-app"))


@pytest.fixture
async def sandbox(app: Path, clock: FakeClock) -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral(app), clock=clock) as sb:
        yield sb


def _client(sandbox: Sandbox) -> Any:
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{sandbox.ports['tables']}", **KEYS)


async def _received(sandbox: Sandbox) -> list[dict[str, Any]]:
    rows = await sandbox.tables().received.scan_all()
    got = [row for row in rows if not str(row["seq"]).startswith("tried-")]
    return sorted(got, key=lambda row: str(row["seq"]))


async def test_a_write_fires_the_stream_function_with_lambdas_records(sandbox: Sandbox) -> None:
    notes = sandbox.tables().notes
    await notes.put({"id": "n1", "body": "hello"})
    await notes.update(Key={"id": "n1"}, UpdateExpression="SET body = :b", ExpressionAttributeValues={":b": "bye"})
    await notes.delete({"id": "n1"})
    results = await sandbox.settle()
    # Each write wakes the reader at once, so these may come in one batch or several, but in order.
    assert {(r.pragma, r.name, r.ok) for r in results} == {("tables-streams", "notes", True)}
    records = [json.loads(row["record"]) for row in await _received(sandbox)]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    table = "streams-app-staging-notes"
    assert records[1] == {
        "eventID": IsStr(regex=r"[0-9a-f]{32}"),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-west-2",
        "dynamodb": {
            "ApproximateCreationDateTime": int(sandbox.clock.now()),
            "Keys": {"id": {"S": "n1"}},
            "NewImage": {"id": {"S": "n1"}, "body": {"S": "bye"}},
            "OldImage": {"id": {"S": "n1"}, "body": {"S": "hello"}},
            "SequenceNumber": IsStr(regex=r"\d{21}"),
            "SizeBytes": records[1]["dynamodb"]["SizeBytes"],
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": IsStr(regex=rf"arn:aws:dynamodb:us-west-2:123456789012:table/{table}/stream/.+"),
    }


async def test_writes_through_the_tables_port_fire_it_too(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    item = {"id": {"S": "n2"}}
    await asyncio.to_thread(lambda: client.put_item(TableName="streams-app-staging-notes", Item=item))
    await sandbox.settle()
    (row,) = await _received(sandbox)
    assert json.loads(row["record"])["dynamodb"]["Keys"] == item


async def test_records_come_in_batches_of_the_batch_size(sandbox: Sandbox) -> None:
    assert sandbox.streams.batch_size == stream_delivery.BATCH_SIZE == 100  # Lambda's default for DynamoDB
    sandbox.streams.batch_size = 2
    puts = [{"PutRequest": {"Item": {"id": {"S": f"n{n}"}}}} for n in range(5)]
    client = _client(sandbox)  # one write of five items: the reader wakes once they are all there
    await asyncio.to_thread(lambda: client.batch_write_item(RequestItems={"streams-app-staging-notes": puts}))
    results = await sandbox.settle()
    assert [len(r.message_ids) for r in results] == [2, 2, 1]
    rows = await _received(sandbox)
    assert [json.loads(r["record"])["dynamodb"]["Keys"]["id"]["S"] for r in rows] == [f"n{n}" for n in range(5)]
    assert [(r["position"], r["size"]) for r in rows] == [(0, 2), (1, 2), (0, 2), (1, 2), (0, 1)]


async def test_a_failed_batch_is_retried_until_it_succeeds(sandbox: Sandbox) -> None:
    await sandbox.tables().notes.put({"id": "n1", "flaky": True})
    results = await sandbox.settle(raise_on_failure=False)
    assert [(r.attempt, r.ok) for r in results] == [(1, False), (2, True)]
    assert len(await _received(sandbox)) == 1


async def test_a_batch_that_keeps_failing_is_dropped_and_the_next_one_runs(sandbox: Sandbox) -> None:
    await sandbox.tables().notes.put({"id": "bad", "broken": True})
    with pytest.raises(DeliveryFailedError, match="this record always fails"):
        await sandbox.settle()
    results = await sandbox.settle(raise_on_failure=False)  # the backoff elapses on the FakeClock
    assert [(r.attempt, r.ok) for r in results] == [(2, False), (3, False)]
    await sandbox.tables().notes.put({"id": "good"})
    assert [r.ok for r in await sandbox.settle()] == [True]
    (row,) = await _received(sandbox)
    assert json.loads(row["record"])["dynamodb"]["Keys"] == {"id": {"S": "good"}}


async def test_ttl_deletions_reach_the_function_as_service_removes(sandbox: Sandbox, clock: FakeClock) -> None:
    await sandbox.tables().notes.put({"id": "n1", "expires": int(clock.now()) + 10})
    await sandbox.settle()
    clock.advance(11)
    assert await sandbox.store.sweep_expired() == 1
    await sandbox.settle()
    _, remove = [json.loads(row["record"]) for row in await _received(sandbox)]
    assert remove["eventName"] == "REMOVE"
    assert remove["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


async def test_the_reader_position_survives_a_restart(app: Path, tmp_path: Path, clock: FakeClock) -> None:
    config = SandboxConfig.ephemeral(app, memory=False, db_path=tmp_path / "data.db")
    async with Sandbox(config, clock=clock) as sandbox:
        await sandbox.tables().notes.put({"id": "first"})
        await sandbox.settle()
    async with Sandbox(config, clock=clock) as sandbox:
        await sandbox.tables().notes.put({"id": "second"})
        results = await sandbox.settle()
        assert [len(r.message_ids) for r in results] == [1]  # "first" is not handed over again
        assert len(await _received(sandbox)) == 2


async def test_a_stream_function_added_by_a_manifest_edit_starts_reading(app: Path, clock: FakeClock) -> None:
    arc = (app / "app.arc").read_text()
    (app / "app.arc").write_text(arc.replace("@tables-streams\nnotes\n", ""))
    async with Sandbox(SandboxConfig.ephemeral(app), clock=clock) as sandbox:
        await sandbox.tables().notes.put({"id": "before"})  # no stream yet: nothing records this one
        assert await sandbox.settle() == []
        (app / "app.arc").write_text(arc)
        await sandbox.apply_reload(ReloadPlan(manifest=True))
        await sandbox.tables().notes.put({"id": "after"})
        await sandbox.settle()
        (row,) = await _received(sandbox)
        assert json.loads(row["record"])["dynamodb"]["Keys"] == {"id": {"S": "after"}}
