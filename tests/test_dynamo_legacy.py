"""Legacy (pre-expression) parameters: each answers exactly as the same request written as expressions,
and bad or mixed ones are refused with nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.errors import ConditionalCheckFailedError, ValidationError
from sandbox.model import KeyAttr, TableSpec
from sandbox.store import TableStore

T = "app-staging-things"
THINGS = TableSpec(name="things", partition_key=KeyAttr("pk", "S"), sort_key=KeyAttr("n", "N"))


def S(v: str) -> dict[str, Any]:
    return {"S": v}


def N(v: int) -> dict[str, Any]:
    return {"N": str(v)}


def cond(operator: str, *values: Any) -> dict[str, Any]:
    return {"ComparisonOperator": operator, "AttributeValueList": list(values)}


KEY = {"pk": S("p"), "n": N(1)}


@pytest.fixture
async def store() -> AsyncIterator[TableStore]:
    async with (
        Database(None) as db,
        TableStore(db, clock=FakeClock(), app_name="app", tables=[THINGS], sweep_interval=1e9) as s,
    ):
        for n in range(1, 7):
            item = {"pk": S("p"), "n": N(n), "v": N(n * 10), "tag": S(f"t{n % 2}"), "name": S(f"item {n}")}
            await s.call("PutItem", {"TableName": T, "Item": item})
        yield s


async def same(store: TableStore, operation: str, legacy: dict[str, Any], expressions: dict[str, Any]) -> Any:
    ours = await store.call(operation, {"TableName": T, **legacy})
    assert ours == await store.call(operation, {"TableName": T, **expressions})
    return ours


async def test_legacy_attributes_to_get_projects_like_a_projection_expression(store: TableStore) -> None:
    out = await same(store, "GetItem", {"Key": KEY, "AttributesToGet": ["v", "tag"]}, {
        "Key": KEY, "ProjectionExpression": "v, tag",
    })  # fmt: skip
    assert out["Item"] == {"v": N(10), "tag": S("t1")}
    batch = await store.call("BatchGetItem", {"RequestItems": {T: {"Keys": [KEY], "AttributesToGet": ["name"]}}})
    assert batch["Responses"][T] == [{"name": S("item 1")}]
    scan = await same(store, "Scan", {"AttributesToGet": ["n"]}, {"ProjectionExpression": "n"})
    assert sorted(int(i["n"]["N"]) for i in scan["Items"]) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("key_conditions", "expression", "values"),
    [
        ({"pk": cond("EQ", S("p"))}, "pk = :p", {":p": S("p")}),
        ({"pk": cond("EQ", S("p")), "n": cond("BETWEEN", N(2), N(4))}, "pk = :p AND n BETWEEN :a AND :b",
         {":p": S("p"), ":a": N(2), ":b": N(4)}),
        ({"pk": cond("EQ", S("p")), "n": cond("GT", N(4))}, "pk = :p AND n > :a", {":p": S("p"), ":a": N(4)}),
    ],
)  # fmt: skip
async def test_legacy_key_conditions_query_like_a_key_condition_expression(
    store: TableStore, key_conditions: dict[str, Any], expression: str, values: dict[str, Any]
) -> None:
    out = await same(store, "Query", {"KeyConditions": key_conditions}, {
        "KeyConditionExpression": expression, "ExpressionAttributeValues": values,
    })  # fmt: skip
    assert out["Count"] > 0


async def test_legacy_query_filter_with_or_and_every_operator(store: TableStore) -> None:
    out = await same(
        store,
        "Query",
        {
            "KeyConditions": {"pk": cond("EQ", S("p"))},
            "QueryFilter": {"v": cond("IN", N(20), N(60)), "tag": cond("EQ", S("t1"))},
            "ConditionalOperator": "OR",
        },
        {
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": "v IN (:a, :b) OR tag = :t",
            "ExpressionAttributeValues": {":p": S("p"), ":a": N(20), ":b": N(60), ":t": S("t1")},
        },
    )
    assert [int(i["n"]["N"]) for i in out["Items"]] == [1, 2, 3, 5, 6]
    filters = [
        (cond("NE", N(10)), 5),
        (cond("LE", N(20)), 2),
        (cond("LT", N(20)), 1),
        (cond("GE", N(50)), 2),
        (cond("NOT_NULL"), 6),
        (cond("NULL"), 0),
    ]
    for condition, count in filters:
        scanned = await store.call("Scan", {"TableName": T, "ScanFilter": {"v": condition}})
        assert scanned["Count"] == count, condition
    for condition, count in [
        (cond("CONTAINS", S("item")), 6),
        (cond("NOT_CONTAINS", S("3")), 5),
        (cond("BEGINS_WITH", S("item 1")), 1),
    ]:
        scanned = await store.call("Scan", {"TableName": T, "ScanFilter": {"name": condition}})
        assert scanned["Count"] == count, condition


async def test_legacy_expected_guards_writes(store: TableStore) -> None:
    with pytest.raises(ConditionalCheckFailedError):
        await store.call("DeleteItem", {"TableName": T, "Key": KEY, "Expected": {"v": cond("LT", N(0))}})
    with pytest.raises(ConditionalCheckFailedError):
        await store.call("PutItem", {"TableName": T, "Item": {**KEY}, "Expected": {"v": {"Exists": False}}})
    item = await store.call("GetItem", {"TableName": T, "Key": KEY})
    assert item["Item"]["v"] == N(10)  # untouched by the failed writes
    either = {"v": cond("GT", N(100)), "pk": cond("NOT_NULL")}
    await store.call(
        "PutItem",
        {"TableName": T, "Item": {**KEY, "v": N(11)}, "Expected": either, "ConditionalOperator": "OR"},
    )
    await store.call("DeleteItem", {"TableName": T, "Key": KEY, "Expected": {"v": {"Value": N(11)}}})
    assert "Item" not in await store.call("GetItem", {"TableName": T, "Key": KEY})


async def test_legacy_attribute_updates_put_add_delete(store: TableStore) -> None:
    out = await store.call(
        "UpdateItem",
        {
            "TableName": T,
            "Key": KEY,
            "AttributeUpdates": {
                "v": {"Action": "ADD", "Value": N(5)},
                "tag": {"Action": "DELETE"},
                "l": {"Action": "ADD", "Value": {"L": [S("x")]}},  # the legacy ADD appends to a list
                "w": {"Value": S("put")},  # PUT is the default
            },
            "ReturnValues": "ALL_NEW",
        },
    )
    attributes = out["Attributes"]
    assert (attributes["v"], attributes["l"], attributes["w"]) == (N(15), {"L": [S("x")]}, S("put"))
    assert "tag" not in attributes
    again = {"l": {"Action": "ADD", "Value": {"L": [S("y")]}}}
    out = await store.call(
        "UpdateItem", {"TableName": T, "Key": KEY, "AttributeUpdates": again, "ReturnValues": "UPDATED_NEW"}
    )
    assert out["Attributes"] == {"l": {"L": [S("x"), S("y")]}}


@pytest.mark.parametrize(
    ("operation", "request_", "message"),
    [
        ("PutItem", {"Item": KEY, "Expected": {"v": {"Value": N(1)}}, "ConditionExpression": "attribute_exists(v)"},
         "Can not use both expression and non-expression parameters"),
        ("GetItem", {"Key": KEY, "AttributesToGet": ["v"], "ProjectionExpression": "v"},
         "Can not use both expression and non-expression parameters"),
        ("PutItem", {"Item": KEY, "AttributeUpdates": {"v": {"Value": N(1)}}}, "PutItem does not take"),
        ("DeleteItem", {"Key": KEY, "Expected": {"v": cond("BETWEEN", N(1))}}, "Invalid number of argument"),
        ("DeleteItem", {"Key": KEY, "Expected": {"v": cond("ALMOST", N(1))}}, "comparisonOperator"),
        ("DeleteItem", {"Key": KEY, "Expected": {"v": {"Exists": True}}}, "Value must be provided"),
        ("DeleteItem", {"Key": KEY, "Expected": {"v": {"Value": N(10)}}, "ConditionalOperator": "XOR"}, "AND, OR"),
        ("Query", {"KeyConditions": {"pk": cond("NE", S("p"))}}, "not an indexable operation"),
        ("UpdateItem", {"Key": KEY, "AttributeUpdates": {"v": {"Action": "ADD"}}}, "Only DELETE action"),
        ("UpdateItem", {"Key": KEY, "AttributeUpdates": {"v": {"Action": "SWAP", "Value": N(1)}}}, "ADD, PUT, DELETE"),
        ("Scan", {"AttributesToGet": []}, "must not be empty"),
    ],
)  # fmt: skip
async def test_legacy_bad_requests_are_refused_and_write_nothing(
    store: TableStore, operation: str, request_: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        await store.call(operation, {"TableName": T, **request_})
    item = await store.call("GetItem", {"TableName": T, "Key": KEY})
    assert item["Item"] == {"pk": S("p"), "n": N(1), "v": N(10), "tag": S("t1"), "name": S("item 1")}
