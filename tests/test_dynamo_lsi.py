"""Local secondary indexes: the same calls against this sandbox and moto's server (where moto follows
DynamoDB), then the LSI behaviours moto lacks, pinned against the store directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.errors import ResourceNotFoundError, ValidationError
from sandbox.store import TableStore
from tests.test_dynamo_differential import Step, _run, clients

__all__ = ["clients"]  # the differential suite's fixture: both servers, one pair of boto3 clients


@pytest.fixture
async def store() -> AsyncIterator[TableStore]:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app", sweep_interval=1e9) as s:
        yield s


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: str) -> dict[str, str]:
    return {"N": value}


def _lsi_table(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "rank", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "LocalSecondaryIndexes": [
            {
                "IndexName": "byRank",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def _put(table: str, pk: str, sk: str, rank: str | None, **extra: dict[str, str]) -> Step:
    item: dict[str, Any] = {"pk": S(pk), "sk": S(sk), **extra}
    if rank is not None:
        item["rank"] = N(rank)
    return ("put_item", {"TableName": table, "Item": item})


def _query(table: str, condition: str, values: dict[str, Any], **extra: Any) -> Step:
    params = {
        "TableName": table,
        "IndexName": "byRank",
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        **extra,
    }
    return ("query", params)


def test_lsi_matches_moto(clients: tuple[Any, Any]) -> None:
    t = "lsi-diff"
    steps: list[Step] = [
        ("create_table", _lsi_table(t)),
        ("describe_table", {"TableName": t}),
        _put(t, "a", "1", "30", x=S("one")),
        _put(t, "a", "2", "10"),
        _put(t, "a", "3", "20"),
        _put(t, "a", "4", None),  # no sort key for the index: not in it (sparse)
        _put(t, "b", "1", "5"),
        _query(t, "pk = :p", {":p": S("a")}),
        _query(t, "pk = :p AND #r > :r", {":p": S("a"), ":r": N("10")}, ExpressionAttributeNames={"#r": "rank"}),
        _query(t, "pk = :p", {":p": S("a")}, ScanIndexForward=False, Limit=2),
        _query(t, "pk = :p", {":p": S("a")}, ConsistentRead=True),  # allowed on an LSI, unlike a GSI
        _put(t, "a", "2", "40"),  # moves within the index
        ("delete_item", {"TableName": t, "Key": {"pk": S("a"), "sk": S("3")}}),
        _query(t, "pk = :p", {":p": S("a")}),
        ("scan", {"TableName": t, "IndexName": "byRank"}),
        ("delete_table", {"TableName": t}),
    ]
    _run(clients, steps)


async def _create(store: TableStore, projection: dict[str, Any]) -> None:
    request = _lsi_table("lsi")
    request["LocalSecondaryIndexes"][0]["Projection"] = projection
    await store.call("CreateTable", request)
    for sk, rank in (("1", "2"), ("2", "1")):
        item = {"pk": S("p"), "sk": S(sk), "rank": N(rank), "a": S("in"), "x": S("out")}
        await store.call("PutItem", {"TableName": "lsi", "Item": item})


async def test_lsi_reads_unprojected_attributes_from_the_table(store: TableStore) -> None:
    await _create(store, {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]})
    query = {"TableName": "lsi", "IndexName": "byRank", "KeyConditionExpression": "pk = :p"}
    query["ExpressionAttributeValues"] = {":p": S("p")}  # type: ignore[assignment]
    projected = (await store.call("Query", query))["Items"]
    assert projected == [
        {"pk": S("p"), "sk": S("2"), "rank": N("1"), "a": S("in")},
        {"pk": S("p"), "sk": S("1"), "rank": N("2"), "a": S("in")},
    ]
    everything = (await store.call("Query", {**query, "Select": "ALL_ATTRIBUTES"}))["Items"]
    assert [i["x"] for i in everything] == [S("out"), S("out")]
    picked = (await store.call("Query", {**query, "ProjectionExpression": "x, a"}))["Items"]
    assert picked == [{"x": S("out"), "a": S("in")}] * 2
    filtered = await store.call(
        "Query", {**query, "FilterExpression": "x = :x", "ExpressionAttributeValues": {":p": S("p"), ":x": S("out")}}
    )
    assert filtered["Count"] == 2


async def test_lsi_describe_and_validation(store: TableStore) -> None:
    await _create(store, {"ProjectionType": "KEYS_ONLY"})
    table = (await store.call("DescribeTable", {"TableName": "lsi"}))["Table"]
    assert "GlobalSecondaryIndexes" not in table
    (lsi,) = table["LocalSecondaryIndexes"]
    assert lsi == {
        "IndexName": "byRank",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "rank", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "IndexSizeBytes": 0,
        "ItemCount": 0,
        "IndexArn": table["TableArn"] + "/index/byRank",
    }
    bad_type = {"pk": S("p"), "sk": S("9"), "rank": S("not a number")}
    with pytest.raises(ValidationError, match="Type mismatch for Index Key rank"):
        await store.call("PutItem", {"TableName": "lsi", "Item": bad_type})
    with pytest.raises(ResourceNotFoundError, match="byRank"):  # an LSI is made with its table, never dropped
        await store.call(
            "UpdateTable", {"TableName": "lsi", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byRank"}}]}
        )
    other_hash = _lsi_table("lsi2")
    other_hash["LocalSecondaryIndexes"][0]["KeySchema"][0]["AttributeName"] = "rank"
    other_hash["LocalSecondaryIndexes"][0]["KeySchema"][1]["AttributeName"] = "sk"
    with pytest.raises(ValidationError, match="same leading hash key"):
        await store.call("CreateTable", other_hash)
    same_name = _lsi_table("lsi3")
    same_name["GlobalSecondaryIndexes"] = [{**same_name["LocalSecondaryIndexes"][0]}]
    with pytest.raises(ValidationError, match="Duplicate index name: byRank"):
        await store.call("CreateTable", same_name)
    no_sort = _lsi_table("lsi4")  # moto accepts this one; DynamoDB does not
    no_sort["KeySchema"] = no_sort["KeySchema"][:1]
    no_sort["AttributeDefinitions"] = [no_sort["AttributeDefinitions"][0], no_sort["AttributeDefinitions"][2]]
    with pytest.raises(ValidationError, match="Table KeySchema does not have a range key"):
        await store.call("CreateTable", no_sort)
    assert (await store.call("ListTables", {}))["TableNames"] == ["lsi"]
