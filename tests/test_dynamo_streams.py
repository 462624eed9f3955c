"""DynamoDB Streams end to end: boto3's `dynamodb` and `dynamodbstreams` clients against a started
sandbox's tables port, on a FakeClock (TTL deletions, 24 h retention and iterator expiry without waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.exceptions
import pytest
from dirty_equals import IsInt, IsStr

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

T = TypeVar("T")
REGION = "eu-west-1"  # the client's region, which the records name as awsRegion
KEYS: Any = {"region_name": REGION, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
SEQ = IsStr(regex=r"\d{21}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Sandbox]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.arc").write_text("@app\nstreams-api\n")
    async with Sandbox(SandboxConfig.ephemeral(app, db_path=tmp_path / "data.db", memory=False), clock=clock) as sb:
        yield sb


class Clients:
    def __init__(self, sandbox: Sandbox) -> None:
        url = f"http://127.0.0.1:{sandbox.ports['tables']}"
        self.db = boto3.client("dynamodb", endpoint_url=url, **KEYS)
        self.streams = boto3.client("dynamodbstreams", endpoint_url=url, **KEYS)

    async def run(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)


@pytest.fixture
def aws(sandbox: Sandbox) -> Clients:
    return Clients(sandbox)


def _table(name: str, view: str | None, *, sort: bool = True) -> dict[str, Any]:
    keys = [{"AttributeName": "p", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "p", "AttributeType": "S"}]
    if sort:
        keys.append({"AttributeName": "c", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "c", "AttributeType": "N"})
    spec = {"StreamEnabled": True, "StreamViewType": view} if view else {"StreamEnabled": False}
    return {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": attrs,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": spec,
    }


async def _shard(aws: Clients, arn: str) -> str:
    description = (await aws.run(lambda: aws.streams.describe_stream(StreamArn=arn)))["StreamDescription"]
    shard_id: str = description["Shards"][0]["ShardId"]
    return shard_id


async def _iterator(aws: Clients, arn: str, kind: str, number: str | None = None) -> str:
    shard = await _shard(aws, arn)
    extra = {"SequenceNumber": number} if number else {}
    response = await aws.run(
        lambda: aws.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)
    )
    iterator: str = response["ShardIterator"]
    return iterator


async def _records(aws: Clients, iterator: str, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = await aws.run(lambda: aws.streams.get_records(ShardIterator=iterator, **extra))
    return response


async def test_stream_records_have_dynamodbs_shape_in_order(aws: Clients, clock: FakeClock) -> None:
    created = await aws.run(lambda: aws.db.create_table(**_table("orders", "NEW_AND_OLD_IMAGES")))
    description = created["TableDescription"]
    arn = description["LatestStreamArn"]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert arn == f"{description['TableArn']}/stream/{description['LatestStreamLabel']}"
    listed = await aws.run(lambda: aws.streams.list_streams(TableName="orders"))
    assert listed["Streams"] == [{"StreamArn": arn, "TableName": "orders", "StreamLabel": IsStr()}]
    start = await _iterator(aws, arn, "TRIM_HORIZON")

    key = {"p": {"S": "a"}, "c": {"N": "1"}}
    await aws.run(lambda: aws.db.put_item(TableName="orders", Item={**key, "v": {"S": "one"}}))
    await aws.run(lambda: aws.db.put_item(TableName="orders", Item={**key, "v": {"S": "one"}}))  # no change: no record
    clock.advance(5)
    await aws.run(
        lambda: aws.db.update_item(
            TableName="orders", Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "two"}}
        )
    )
    await aws.run(lambda: aws.db.delete_item(TableName="orders", Key=key))
    await aws.run(lambda: aws.db.delete_item(TableName="orders", Key=key))  # nothing to delete: no record

    page = await _records(aws, start)
    records = page["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    when = clock.now()
    assert records[1] == {
        "eventID": IsStr(regex=r"[0-9a-f]{32}"),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": records[1]["dynamodb"]["ApproximateCreationDateTime"],
            "Keys": key,
            "NewImage": {**key, "v": {"S": "two"}},
            "OldImage": {**key, "v": {"S": "one"}},
            "SequenceNumber": SEQ,
            "SizeBytes": IsInt(gt=0),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    assert records[1]["dynamodb"]["ApproximateCreationDateTime"].timestamp() == int(when)
    assert "NewImage" not in records[2]["dynamodb"] and "OldImage" not in records[0]["dynamodb"]
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3 and len({r["eventID"] for r in records}) == 3

    # Reading on: nothing new yet, and the next write shows up on the same iterator chain.
    later = await _records(aws, page["NextShardIterator"])
    assert later["Records"] == []
    await aws.run(lambda: aws.db.put_item(TableName="orders", Item={**key, "v": {"S": "three"}}))
    assert [r["eventName"] for r in (await _records(aws, later["NextShardIterator"]))["Records"]] == ["INSERT"]

    at = await _records(aws, await _iterator(aws, arn, "AT_SEQUENCE_NUMBER", numbers[1]))
    assert [r["dynamodb"]["SequenceNumber"] for r in at["Records"][:2]] == numbers[1:]
    after = await _records(aws, await _iterator(aws, arn, "AFTER_SEQUENCE_NUMBER", numbers[1]), Limit=1)
    assert [r["dynamodb"]["SequenceNumber"] for r in after["Records"]] == numbers[2:]
    latest = await _records(aws, await _iterator(aws, arn, "LATEST"))
    assert latest["Records"] == [] and "NextShardIterator" in latest


@pytest.mark.parametrize(
    ("view", "images"),
    [
        ("KEYS_ONLY", set()),
        ("NEW_IMAGE", {"NewImage"}),
        ("OLD_IMAGE", {"OldImage"}),
        ("NEW_AND_OLD_IMAGES", {"NewImage", "OldImage"}),
    ],
)
async def test_each_view_type_keeps_its_images(aws: Clients, view: str, images: set[str]) -> None:
    arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", view, sort=False))))["TableDescription"][
        "LatestStreamArn"
    ]
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "k"}, "v": {"N": "1"}}))
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "k"}, "v": {"N": "2"}}))
    (_, modify) = (await _records(aws, await _iterator(aws, arn, "TRIM_HORIZON")))["Records"]
    assert modify["dynamodb"]["StreamViewType"] == view
    assert {k for k in modify["dynamodb"] if k.endswith("Image")} == images


async def test_batch_and_transaction_writes_are_recorded_and_failed_ones_are_not(aws: Clients) -> None:
    arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"][
        "LatestStreamArn"
    ]
    item = {"p": {"S": "a"}, "c": {"N": "1"}}
    puts: Any = [{"PutRequest": {"Item": {"p": {"S": "a"}, "c": {"N": str(n)}}}} for n in (1, 2)]
    await aws.run(lambda: aws.db.batch_write_item(RequestItems={"tbl": puts}))
    with pytest.raises(botocore.exceptions.ClientError, match="ConditionalCheckFailed"):
        await aws.run(
            lambda: aws.db.put_item(
                TableName="tbl", Item={**item, "x": {"S": "y"}}, ConditionExpression="attribute_not_exists(p)"
            )
        )
    with pytest.raises(botocore.exceptions.ClientError, match="TransactionCanceled"):
        await aws.run(
            lambda: aws.db.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "tbl", "Item": {"p": {"S": "b"}, "c": {"N": "1"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "tbl",
                            "Key": item,
                            "ConditionExpression": "attribute_not_exists(p)",
                        }
                    },
                ]
            )
        )
    await aws.run(lambda: aws.db.transact_write_items(TransactItems=[{"Delete": {"TableName": "tbl", "Key": item}}]))
    records = (await _records(aws, await _iterator(aws, arn, "TRIM_HORIZON")))["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["c"]["N"]) for r in records] == [
        ("INSERT", "1"),
        ("INSERT", "2"),
        ("REMOVE", "1"),
    ]


async def test_ttl_deletions_are_removes_by_the_service(sandbox: Sandbox, aws: Clients, clock: FakeClock) -> None:
    arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "OLD_IMAGE"))))["TableDescription"][
        "LatestStreamArn"
    ]
    spec: Any = {"Enabled": True, "AttributeName": "exp"}
    await aws.run(lambda: aws.db.update_time_to_live(TableName="tbl", TimeToLiveSpecification=spec))
    item = {"p": {"S": "a"}, "c": {"N": "1"}, "exp": {"N": str(int(clock.now()) + 60)}}
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item=item))
    clock.advance(61)
    assert await sandbox.store.sweep_expired() == 1
    (_, removed) = (await _records(aws, await _iterator(aws, arn, "TRIM_HORIZON")))["Records"]
    assert removed["eventName"] == "REMOVE" and removed["dynamodb"]["OldImage"] == item
    assert removed["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


async def test_disabled_stream_stays_readable_then_expires(aws: Clients, clock: FakeClock) -> None:
    arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"][
        "LatestStreamArn"
    ]
    start = await _iterator(aws, arn, "TRIM_HORIZON")
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "a"}, "c": {"N": "1"}}))
    with pytest.raises(botocore.exceptions.ClientError, match="already has an enabled stream"):
        await aws.run(
            lambda: aws.db.update_table(
                TableName="tbl", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            )
        )
    await aws.run(lambda: aws.db.update_table(TableName="tbl", StreamSpecification={"StreamEnabled": False}))
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "b"}, "c": {"N": "1"}}))  # not recorded
    described = (await aws.run(lambda: aws.streams.describe_stream(StreamArn=arn)))["StreamDescription"]
    assert described["StreamStatus"] == "DISABLED"
    assert described["Shards"][0]["SequenceNumberRange"]["EndingSequenceNumber"] == SEQ
    page = await _records(aws, start)
    assert len(page["Records"]) == 1 and "NextShardIterator" not in page  # a closed shard read to its end
    table = (await aws.run(lambda: aws.db.describe_table(TableName="tbl")))["Table"]
    assert table["LatestStreamArn"] == arn and "StreamSpecification" not in table
    with pytest.raises(botocore.exceptions.ClientError, match="does not have a stream to disable"):
        await aws.run(lambda: aws.db.update_table(TableName="tbl", StreamSpecification={"StreamEnabled": False}))

    # Re-enabling opens a new stream; the old one is still listed until 24 hours have passed.
    enable: Any = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    again = await aws.run(lambda: aws.db.update_table(TableName="tbl", StreamSpecification=enable))
    assert again["TableDescription"]["LatestStreamArn"] != arn
    assert len((await aws.run(lambda: aws.streams.list_streams(TableName="tbl")))["Streams"]) == 2
    clock.advance(15 * 60 + 1)
    with pytest.raises(botocore.exceptions.ClientError, match="ExpiredIteratorException"):
        await _records(aws, start)
    clock.advance(24 * 3600)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFoundException"):
        await aws.run(lambda: aws.streams.describe_stream(StreamArn=arn))
    assert len((await aws.run(lambda: aws.streams.list_streams(TableName="tbl")))["Streams"]) == 1


async def test_records_older_than_a_day_are_not_returned(aws: Clients, clock: FakeClock) -> None:
    arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"][
        "LatestStreamArn"
    ]
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "old"}, "c": {"N": "1"}}))
    clock.advance(24 * 3600 + 1)
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "new"}, "c": {"N": "1"}}))
    records = (await _records(aws, await _iterator(aws, arn, "TRIM_HORIZON")))["Records"]
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in records] == ["new"]
    old_number = f"{int(records[0]['dynamodb']['SequenceNumber']) - 1:021d}"
    with pytest.raises(botocore.exceptions.ClientError, match="TrimmedDataAccessException"):
        await _iterator(aws, arn, "AT_SEQUENCE_NUMBER", old_number)


async def test_streams_api_errors(aws: Clients) -> None:
    arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"][
        "LatestStreamArn"
    ]
    shard = await _shard(aws, arn)
    error = botocore.exceptions.ClientError
    with pytest.raises(error, match="ValidationException"):
        await aws.run(lambda: aws.streams.describe_stream(StreamArn="arn:aws:dynamodb:somewhere:but/not/a/stream/arn"))
    with pytest.raises(error, match="ResourceNotFoundException"):
        await aws.run(lambda: aws.streams.describe_stream(StreamArn=arn.replace("/tbl/", "/nope/")))
    with pytest.raises(error, match="ResourceNotFoundException"):
        await aws.run(
            lambda: aws.streams.get_shard_iterator(
                StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST"
            )
        )
    with pytest.raises(error, match="ValidationException"):
        await aws.run(
            lambda: aws.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER")
        )
    with pytest.raises(error, match="ValidationException"):
        await aws.run(lambda: aws.streams.get_records(ShardIterator="made-up"))
    iterator = await _iterator(aws, arn, "LATEST")
    with pytest.raises(error, match="ValidationException.*limit"):
        await _records(aws, iterator, Limit=1001)
    with pytest.raises(error, match="ValidationException"):
        await aws.run(
            lambda: aws.db.create_table(
                **{**_table("unstreamed", None), "StreamSpecification": {"StreamEnabled": True}}
            )
        )
    assert (await aws.run(lambda: aws.streams.list_streams(TableName="unstreamed")))["Streams"] == []


async def test_stream_records_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.arc").write_text("@app\nstreams-api\n")
    config = SandboxConfig.ephemeral(app, db_path=tmp_path / "data.db", memory=False)
    async with Sandbox(config, clock=clock) as sb:
        aws = Clients(sb)
        arn = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"][
            "LatestStreamArn"
        ]
        await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "a"}, "c": {"N": "1"}}))
    async with Sandbox(config, clock=clock) as sb:
        aws = Clients(sb)
        await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "b"}, "c": {"N": "1"}}))
        records = (await _records(aws, await _iterator(aws, arn, "TRIM_HORIZON")))["Records"]
        assert [r["dynamodb"]["Keys"]["p"]["S"] for r in records] == ["a", "b"]


async def test_a_deleted_tables_stream_stays_readable_beside_its_successors(aws: Clients) -> None:
    first = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"]
    await aws.run(lambda: aws.db.put_item(TableName="tbl", Item={"p": {"S": "a"}, "c": {"N": "1"}}))
    await aws.run(lambda: aws.db.delete_table(TableName="tbl"))
    # The same name again, at the same instant of the FakeClock: a new, distinct stream.
    second = (await aws.run(lambda: aws.db.create_table(**_table("tbl", "KEYS_ONLY"))))["TableDescription"]
    assert second["LatestStreamArn"] != first["LatestStreamArn"]
    old = (await aws.run(lambda: aws.streams.describe_stream(StreamArn=first["LatestStreamArn"])))["StreamDescription"]
    assert old["StreamStatus"] == "DISABLED"
    records = (await _records(aws, await _iterator(aws, first["LatestStreamArn"], "TRIM_HORIZON")))["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]
    listed = await aws.run(lambda: aws.streams.list_streams(Limit=1))
    assert listed["LastEvaluatedStreamArn"] == listed["Streams"][0]["StreamArn"]
    rest = await aws.run(lambda: aws.streams.list_streams(ExclusiveStartStreamArn=listed["LastEvaluatedStreamArn"]))
    assert "LastEvaluatedStreamArn" not in rest
    arns = {s["StreamArn"] for s in [*listed["Streams"], *rest["Streams"]]}
    assert arns == {first["LatestStreamArn"], second["LatestStreamArn"]}
