"""ReturnConsumedCapacity on a table with a global and a local secondary index: what each write spends
on each index, broken down under INDEXES as DynamoDB does (Table, GlobalSecondaryIndexes,
LocalSecondaryIndexes, the total their sum), and index reads counted on the index alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.store import TableStore

T = "cap"
BIG = "y" * 1500  # an item over 1 KB: two write units wherever it is written whole


def S(value: str) -> dict[str, str]:
    return {"S": value}


TABLE: dict[str, Any] = {
    "TableName": T,
    "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "x", "AttributeType": "S"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "gsi",
            "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "lsi",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
}
KEY = {"pk": S("p"), "sk": S("s")}


@pytest.fixture
async def store() -> AsyncIterator[TableStore]:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app", sweep_interval=1e9) as s:
        await s.call("CreateTable", TABLE)
        yield s


def breakdown(table: float, gsi: float = 0, lsi: float = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"TableName": T, "CapacityUnits": table + gsi + lsi, "Table": {"CapacityUnits": table}}
    if gsi:
        out["GlobalSecondaryIndexes"] = {"gsi": {"CapacityUnits": gsi}}
    if lsi:
        out["LocalSecondaryIndexes"] = {"lsi": {"CapacityUnits": lsi}}
    return out


async def consumed(store: TableStore, operation: str, **request: Any) -> Any:
    out = await store.call(operation, {"TableName": T, "ReturnConsumedCapacity": "INDEXES", **request})
    return out["ConsumedCapacity"]


async def test_writes_spend_on_each_index_they_change(store: TableStore) -> None:
    item = {**KEY, "x": S("one"), "v": S(BIG)}
    # A new item enters both indexes: the GSI holds all of it (2 units), the keys-only LSI its keys (1).
    assert await consumed(store, "PutItem", Item=item) == breakdown(2, gsi=2, lsi=1)
    # An attribute only the GSI holds: the LSI's entry is untouched.
    update = {"Key": KEY, "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {":a": S("hi")}}
    assert await consumed(store, "UpdateItem", **update) == breakdown(2, gsi=2)
    # The same item written again changes no index entry.
    same = {**item, "a": S("hi")}
    assert await consumed(store, "PutItem", Item=same) == breakdown(2)
    # A new index key moves the entry: a delete and a put in each index.
    move = {"Key": KEY, "UpdateExpression": "SET x = :x", "ExpressionAttributeValues": {":x": S("two")}}
    assert await consumed(store, "UpdateItem", **move) == breakdown(2, gsi=4, lsi=2)
    # Without the index key the item leaves both indexes: one delete each.
    assert await consumed(store, "PutItem", Item={**KEY, "v": S(BIG)}) == breakdown(2, gsi=2, lsi=1)
    # Neither the old item nor the new one is in an index: no index is named (the table's write is
    # counted on the larger of the two).
    assert await consumed(store, "PutItem", Item={**KEY, "animal": S("dog")}) == breakdown(2)
    assert await consumed(store, "DeleteItem", Key=KEY) == breakdown(1)


async def test_a_delete_and_a_batch_count_the_index_entries_they_remove_or_add(store: TableStore) -> None:
    await store.call("PutItem", {"TableName": T, "Item": {**KEY, "x": S("one")}})
    assert await consumed(store, "DeleteItem", Key=KEY) == breakdown(1, gsi=1, lsi=1)
    puts = [{"PutRequest": {"Item": {"pk": S("p"), "sk": S(str(n)), "x": S("k")}}} for n in range(3)]
    out = await store.call("BatchWriteItem", {"RequestItems": {T: puts}, "ReturnConsumedCapacity": "INDEXES"})
    assert out["ConsumedCapacity"] == [breakdown(3, gsi=3, lsi=3)]
    total = await store.call(
        "PutItem", {"TableName": T, "Item": {**KEY, "x": S("z")}, "ReturnConsumedCapacity": "TOTAL"}
    )
    assert total["ConsumedCapacity"] == {"TableName": T, "CapacityUnits": 3.0}  # the total counts the indexes


async def test_reads_count_on_what_they_read(store: TableStore) -> None:
    await store.call("PutItem", {"TableName": T, "Item": {**KEY, "x": S("one")}})
    assert await consumed(store, "GetItem", Key=KEY) == breakdown(0.5)
    query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}
    assert await consumed(store, "Query", **query) == breakdown(0.5)
    on_gsi = {"IndexName": "gsi", "KeyConditionExpression": "x = :x", "ExpressionAttributeValues": {":x": S("one")}}
    assert await consumed(store, "Query", **on_gsi) == {
        "TableName": T,
        "CapacityUnits": 0.5,
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 0.5}},
    }
    on_lsi = {"IndexName": "lsi", **query}
    assert await consumed(store, "Query", **on_lsi) == {
        "TableName": T,
        "CapacityUnits": 0.5,
        "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 0.5}},
    }
