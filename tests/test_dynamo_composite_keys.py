"""Multi-attribute GSI keys (up to 4 HASH and 4 RANGE attributes): definition, sparse rows, the order
of the index, and which conditions a Query may put on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.errors import ValidationError
from sandbox.store import TableStore

ROWS = [("a", 1), ("a", 2), ("a", 10), ("ab", 0), ("b", 5), ("a\x00", 3)]


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _table(key_schema: list[tuple[str, str]], name: str = "tbl") -> dict[str, Any]:
    types = {"p": "S", "h1": "S", "h2": "N", "r1": "S", "r2": "N", "r3": "S"}
    used = {"p", *(n for n, _ in key_schema)}
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": types[n]} for n in sorted(used)],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "multi",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": n, "KeyType": k} for n, k in key_schema],
            }
        ],
    }


TWO_BY_TWO = [("h1", "HASH"), ("h2", "HASH"), ("r1", "RANGE"), ("r2", "RANGE")]


@pytest.fixture
async def store() -> AsyncIterator[TableStore]:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app", sweep_interval=1e9) as s:
        await s.call("CreateTable", _table(TWO_BY_TWO))
        for n, (r1, r2) in enumerate(ROWS):
            item = {"p": S(str(n)), "h1": S("x"), "h2": N(1), "r1": S(r1), "r2": N(r2)}
            await s.call("PutItem", {"TableName": "tbl", "Item": item})
        other = {"p": S("other"), "h1": S("x"), "h2": N(2), "r1": S("a"), "r2": N(1)}  # another partition
        await s.call("PutItem", {"TableName": "tbl", "Item": other})
        await s.call("PutItem", {"TableName": "tbl", "Item": {"p": S("sparse"), "h1": S("x"), "h2": N(1)}})
        yield s


async def _query(store: TableStore, condition: str, values: dict[str, Any], **extra: Any) -> list[tuple[str, int]]:
    request = {
        "TableName": "tbl",
        "IndexName": "multi",
        "KeyConditionExpression": f"h1 = :h1 AND h2 = :h2{' AND ' if condition else ''}{condition}",
        "ExpressionAttributeValues": {":h1": S("x"), ":h2": N(1), **values},
        **extra,
    }
    items = (await store.call("Query", request))["Items"]
    return [(i["r1"]["S"], int(i["r2"]["N"])) for i in items]


async def test_the_index_orders_by_each_attribute_in_turn(store: TableStore) -> None:
    ordered = [("a", 1), ("a", 2), ("a", 10), ("a\x00", 3), ("ab", 0), ("b", 5)]  # the missing r1/r2 is left out
    assert await _query(store, "", {}) == ordered
    assert await _query(store, "", {}, ScanIndexForward=False) == ordered[::-1]


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        ("r1 = :a", {":a": S("a")}, [("a", 1), ("a", 2), ("a", 10)]),
        ("r1 = :a AND r2 > :n", {":a": S("a"), ":n": N(1)}, [("a", 2), ("a", 10)]),
        ("r1 = :a AND r2 <= :n", {":a": S("a"), ":n": N(2)}, [("a", 1), ("a", 2)]),
        ("r1 = :a AND r2 BETWEEN :m AND :n", {":a": S("a"), ":m": N(2), ":n": N(10)}, [("a", 2), ("a", 10)]),
        ("begins_with(r1, :a)", {":a": S("a")}, [("a", 1), ("a", 2), ("a", 10), ("a\x00", 3), ("ab", 0)]),
        ("r1 < :a", {":a": S("ab")}, [("a", 1), ("a", 2), ("a", 10), ("a\x00", 3)]),
        ("r1 >= :a", {":a": S("ab")}, [("ab", 0), ("b", 5)]),
        ("r1 > :a", {":a": S("a")}, [("a\x00", 3), ("ab", 0), ("b", 5)]),
    ],
)
async def test_sort_conditions_left_to_right(
    store: TableStore, condition: str, values: dict[str, Any], expected: list[tuple[str, int]]
) -> None:
    assert await _query(store, condition, values) == expected


async def test_paging_continues_where_it_stopped(store: TableStore) -> None:
    request: dict[str, Any] = {
        "TableName": "tbl",
        "IndexName": "multi",
        "KeyConditionExpression": "h1 = :h1 AND h2 = :h2",
        "ExpressionAttributeValues": {":h1": S("x"), ":h2": N(1)},
        "Limit": 4,
    }
    first = await store.call("Query", request)
    assert set(first["LastEvaluatedKey"]) == {"p", "h1", "h2", "r1", "r2"}
    rest = await store.call("Query", {**request, "ExclusiveStartKey": first["LastEvaluatedKey"]})
    assert [i["r1"]["S"] for i in first["Items"] + rest["Items"]] == ["a", "a", "a", "a\x00", "ab", "b"]
    assert "LastEvaluatedKey" not in rest


@pytest.mark.parametrize(
    ("condition", "values", "message"),
    [
        ("h1 = :h1", {":h1": S("x")}, "HASH key attribute .* equality"),
        ("h1 = :h1 AND h2 > :h2", {":h1": S("x"), ":h2": N(1)}, "HASH key attribute .* equality"),
        ("h1 = :h1 AND h2 = :h2 AND r2 = :n", {":h1": S("x"), ":h2": N(1), ":n": N(1)}, "RANGE .* equality"),
        (
            "h1 = :h1 AND h2 = :h2 AND r1 > :a AND r2 = :n",
            {":h1": S("x"), ":h2": N(1), ":a": S("a"), ":n": N(1)},
            "RANGE .* equality",
        ),
        ("h1 = :h1 AND h2 = :h2", {":h1": S("x"), ":h2": S("1")}, "type does not match"),
    ],
)
async def test_queries_the_key_does_not_allow(
    store: TableStore, condition: str, values: dict[str, Any], message: str
) -> None:
    request = {"TableName": "tbl", "IndexName": "multi", "KeyConditionExpression": condition}
    with pytest.raises(ValidationError, match=message):
        await store.call("Query", {**request, "ExpressionAttributeValues": values})


async def test_definitions_describe_and_validate(store: TableStore) -> None:
    (index,) = (await store.call("DescribeTable", {"TableName": "tbl"}))["Table"]["GlobalSecondaryIndexes"]
    assert index["KeySchema"] == [{"AttributeName": n, "KeyType": k} for n, k in TWO_BY_TWO]
    bad_type = {"p": S("q"), "h1": S("x"), "h2": S("not a number"), "r1": S("a"), "r2": N(1)}
    with pytest.raises(ValidationError, match="Type mismatch for Index Key h2"):
        await store.call("PutItem", {"TableName": "tbl", "Item": bad_type})
    interleaved = [("h1", "HASH"), ("r1", "RANGE"), ("h2", "HASH")]
    with pytest.raises(ValidationError, match="HASH key elements must precede all RANGE"):
        await store.call("CreateTable", _table(interleaved, "bad1"))
    five = [("h1", "HASH"), ("h2", "HASH"), ("r1", "HASH"), ("r2", "HASH"), ("r3", "HASH")]
    with pytest.raises(ValidationError, match="at most 4 HASH"):
        await store.call("CreateTable", _table(five, "bad2"))
    twice = [("h1", "HASH"), ("h2", "HASH"), ("h1", "RANGE")]
    with pytest.raises(ValidationError, match="same name"):
        await store.call("CreateTable", _table(twice, "bad3"))


async def test_a_new_index_is_backfilled_and_moves_with_its_items(store: TableStore) -> None:
    key_schema = [
        {"AttributeName": "h2", "KeyType": "HASH"},
        {"AttributeName": "r2", "KeyType": "RANGE"},
        {"AttributeName": "r1", "KeyType": "RANGE"},
    ]
    update = {"Create": {"IndexName": "late", "Projection": {"ProjectionType": "KEYS_ONLY"}, "KeySchema": key_schema}}
    # DynamoDB wants every key attribute of a new index in the request's definitions, known or not.
    definitions = [{"AttributeName": n, "AttributeType": t} for n, t in (("h2", "N"), ("r2", "N"), ("r1", "S"))]
    with pytest.raises(ValidationError, match="must be defined in AttributeDefinitions"):
        await store.call("UpdateTable", {"TableName": "tbl", "GlobalSecondaryIndexUpdates": [update]})
    await store.call(
        "UpdateTable",
        {"TableName": "tbl", "AttributeDefinitions": definitions, "GlobalSecondaryIndexUpdates": [update]},
    )
    request = {
        "TableName": "tbl",
        "IndexName": "late",
        "KeyConditionExpression": "h2 = :h2 AND r2 < :n",
        "ExpressionAttributeValues": {":h2": N(1), ":n": N(3)},
    }
    found = (await store.call("Query", request))["Items"]
    assert [(i["r2"]["N"], i["r1"]["S"]) for i in found] == [("0", "ab"), ("1", "a"), ("2", "a")]
    await store.call("DeleteItem", {"TableName": "tbl", "Key": {"p": S("3")}})
    found = (await store.call("Query", request))["Items"]
    assert [(i["r2"]["N"], i["r1"]["S"]) for i in found] == [("1", "a"), ("2", "a")]


async def test_two_hash_attributes_alone_and_no_filter_on_the_key(store: TableStore) -> None:
    await store.call("CreateTable", _table([("h1", "HASH"), ("h2", "HASH")], "pair"))
    await store.call("PutItem", {"TableName": "pair", "Item": {"p": S("1"), "h1": S("x"), "h2": N(1), "v": N(5)}})
    request: dict[str, Any] = {
        "TableName": "pair",
        "IndexName": "multi",
        "KeyConditionExpression": "h1 = :h1 AND h2 = :h2",
        "ExpressionAttributeValues": {":h1": S("x"), ":h2": N(1), ":v": N(5)},
        "FilterExpression": "v = :v",
    }
    assert (await store.call("Query", request))["Count"] == 1
    with pytest.raises(ValidationError, match="Filter Expression can only contain non-primary key attributes: .* h2"):
        await store.call("Query", {**request, "FilterExpression": "#k = :v", "ExpressionAttributeNames": {"#k": "h2"}})
    with pytest.raises(ValidationError, match="same name"):
        await store.call("CreateTable", _table([("h1", "HASH"), ("h1", "HASH")], "twice"))
