"""TableStore in-process (wire-format requests through `call`): items, keys, conditions, return values,
queries and scans over the SQLite index ranges, GSIs, batches, transactions, TTL, persistence, manifest tables, seeding.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.dynamodb import paging
from sandbox.errors import (
    ConditionalCheckFailedError,
    IdempotentParameterMismatchError,
    ResourceNotFoundError,
    TransactionCanceledError,
    UnknownOperationError,
    ValidationError,
)
from sandbox.model import IndexSpec, KeyAttr, TableSpec
from sandbox.store import TableStore

NOTES = TableSpec(
    name="notes",
    partition_key=KeyAttr("pk", "S"),
    sort_key=KeyAttr("n", "N"),
    ttl_attribute="expires",
    indexes=(IndexSpec(name="byOwner", partition_key=KeyAttr("owner", "S"), sort_key=KeyAttr("title", "S")),),
)
T = "app-staging-notes"


def S(v: str) -> dict[str, Any]:
    return {"S": v}


def N(v: str | int) -> dict[str, Any]:
    return {"N": str(v)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(clock: FakeClock) -> AsyncIterator[TableStore]:
    # The background sweep has its own test; here tests call sweep_expired() themselves.
    async with (
        Database(None) as db,
        TableStore(db, clock=clock, app_name="app", tables=[NOTES], sweep_interval=1e9) as s,
    ):
        yield s


async def put(store: TableStore, **attrs: Any) -> dict[str, Any]:
    return await store.call("PutItem", {"TableName": T, "Item": attrs})


async def get(store: TableStore, pk: str, n: int) -> dict[str, Any] | None:
    out = await store.call("GetItem", {"TableName": T, "Key": {"pk": S(pk), "n": N(n)}})
    item: dict[str, Any] | None = out.get("Item")
    return item


async def test_store_put_get_keeps_every_type(store: TableStore) -> None:
    item = {
        "pk": S("a"),
        "n": N(1),
        "s": S("héllo"),
        "num": N("12345678901234567890.123456789"),
        "b": {"B": "AQID"},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"x": {"L": [N(1), S("y")]}}},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": ["AQ=="]},
    }
    await store.call("PutItem", {"TableName": T, "Item": item})
    assert await get(store, "a", 1) == item
    assert await get(store, "a", 2) is None


async def test_store_manifest_tables_exist_in_both_stages(store: TableStore) -> None:
    listed = await store.call("ListTables", {})
    assert listed["TableNames"] == ["app-production-notes", "app-staging-notes"]
    assert store.logical_tables() == {"notes": T}
    described = (await store.call("DescribeTable", {"TableName": T}))["Table"]
    assert described["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "n", "KeyType": "RANGE"},
    ]
    assert described["GlobalSecondaryIndexes"][0]["IndexName"] == "byOwner"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        pytest.param(
            {"Item": {"pk": N(1), "n": N(1)}},
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
            id="type-mismatch",
        ),
        pytest.param(
            {"Item": {"pk": S("a")}},
            "One or more parameter values were invalid: Missing the key n in the item",
            id="missing",
        ),
        pytest.param(
            {"Item": {"pk": S(""), "n": N(1)}},
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
            "empty string value. Key: pk",
            id="empty-key",
        ),
        pytest.param(
            {"Item": {"pk": S("a"), "n": N(1), "big": S("x" * 410_000)}},
            "Item size has exceeded the maximum allowed size",
            id="too-big",
        ),
        pytest.param(
            {"Item": {"pk": S("a"), "n": N(1), "owner": N(3)}},
            "One or more parameter values were invalid: Type mismatch for Index Key owner Expected: S Actual: N "
            "IndexName: byOwner",
            id="index-key-type",
        ),
    ],
)
async def test_store_put_item_rejects_bad_items(store: TableStore, request_: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        await store.call("PutItem", {"TableName": T, **request_})
    assert err.value.message == message
    assert (await store.call("Scan", {"TableName": T}))["Count"] == 0


async def test_store_get_item_key_must_match_schema(store: TableStore) -> None:
    for key in ({"pk": S("a")}, {"pk": S("a"), "n": S("1")}, {"pk": S("a"), "n": N(1), "x": S("y")}):
        with pytest.raises(ValidationError, match="The provided key element does not match the schema"):
            await store.call("GetItem", {"TableName": T, "Key": key})


async def test_store_unknown_table_and_operation(store: TableStore) -> None:
    with pytest.raises(ResourceNotFoundError):
        await store.call("GetItem", {"TableName": "nope", "Key": {"pk": S("a")}})
    with pytest.raises(UnknownOperationError):
        await store.call("CreateBackup", {})


async def test_store_conditional_put_and_failure_returns_old_item(store: TableStore) -> None:
    cond = {"ConditionExpression": "attribute_not_exists(pk)"}
    await store.call("PutItem", {"TableName": T, "Item": {"pk": S("a"), "n": N(1), "v": N(1)}, **cond})
    with pytest.raises(ConditionalCheckFailedError) as err:
        await store.call(
            "PutItem",
            {
                "TableName": T,
                "Item": {"pk": S("a"), "n": N(1), "v": N(2)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **cond,
            },
        )
    assert err.value.item == {"pk": S("a"), "n": N(1), "v": N(1)}
    assert await get(store, "a", 1) == {"pk": S("a"), "n": N(1), "v": N(1)}


async def test_store_unused_expression_values_are_rejected(store: TableStore) -> None:
    with pytest.raises(ValidationError, match="unused in expressions: keys: {:x}"):
        await store.call(
            "PutItem",
            {"TableName": T, "Item": {"pk": S("a"), "n": N(1)}, "ExpressionAttributeValues": {":x": S("1")}},
        )
    assert await get(store, "a", 1) is None


async def test_store_return_values(store: TableStore) -> None:
    assert await put(store, pk=S("a"), n=N(1), v=N(1)) == {}
    out = await store.call(
        "PutItem", {"TableName": T, "Item": {"pk": S("a"), "n": N(1), "v": N(2)}, "ReturnValues": "ALL_OLD"}
    )
    assert out["Attributes"]["v"] == N(1)
    key = {"pk": S("a"), "n": N(1)}
    upd = {
        "TableName": T,
        "Key": key,
        "UpdateExpression": "SET v = v + :one, w = :w",
        "ExpressionAttributeValues": {":one": N(1), ":w": S("w")},
    }
    assert (await store.call("UpdateItem", {**upd, "ReturnValues": "UPDATED_OLD"}))["Attributes"] == {"v": N(2)}
    assert (await store.call("UpdateItem", {**upd, "ReturnValues": "UPDATED_NEW"}))["Attributes"] == {
        "v": N(4),
        "w": S("w"),
    }
    assert (await store.call("UpdateItem", {**upd, "ReturnValues": "ALL_NEW"}))["Attributes"]["v"] == N(5)
    with pytest.raises(ValidationError, match="Return values set to invalid value"):
        await store.call("PutItem", {"TableName": T, "Item": {"pk": S("a"), "n": N(1)}, "ReturnValues": "ALL_NEW"})
    out = await store.call("DeleteItem", {"TableName": T, "Key": key, "ReturnValues": "ALL_OLD"})
    assert out["Attributes"]["w"] == S("w")
    assert await get(store, "a", 1) is None


NESTED = {
    "m": {"M": {"a": {"M": {"b": S("old-b"), "c": N(1)}}, "keep": S("mk")}},
    "l": {"L": [{"M": {"a": S("old0"), "b": S("b0")}}, {"M": {"a": S("old1"), "b": S("b1")}}]},
    "y": S("yy"),
}


@pytest.mark.parametrize(
    ("expression", "returns", "expected"),
    [
        pytest.param("SET m.a.b = :v", "UPDATED_NEW", {"m": {"M": {"a": {"M": {"b": S("new")}}}}}, id="nested-new"),
        pytest.param("SET m.a.b = :v", "UPDATED_OLD", {"m": {"M": {"a": {"M": {"b": S("old-b")}}}}}, id="nested-old"),
        pytest.param("SET l[1].a = :v", "UPDATED_NEW", {"l": {"L": [{"M": {"a": S("new")}}]}}, id="list-element"),
        pytest.param("REMOVE y", "UPDATED_OLD", {"y": S("yy")}, id="removed-old"),
        pytest.param("REMOVE y", "UPDATED_NEW", None, id="removed-new-has-nothing"),
        pytest.param("SET l[5] = :v", "UPDATED_NEW", None, id="appended-past-the-end-lands-elsewhere"),
        pytest.param(
            "SET m.a.b = :v, y = :v",
            "UPDATED_NEW",
            {"m": {"M": {"a": {"M": {"b": S("new")}}}}, "y": S("new")},
            id="two-paths",
        ),
    ],
)
async def test_store_updated_return_values_give_only_the_updated_paths(
    store: TableStore, expression: str, returns: str, expected: dict[str, Any] | None
) -> None:
    # DynamoDB returns what is at each updated path inside its parents, not the whole top-level attribute.
    await put(store, pk=S("a"), n=N(1), **NESTED)
    request: dict[str, Any] = {
        "TableName": T,
        "Key": {"pk": S("a"), "n": N(1)},
        "UpdateExpression": expression,
        "ReturnValues": returns,
    }
    if ":v" in expression:
        request["ExpressionAttributeValues"] = {":v": S("new")}
    out = await store.call("UpdateItem", request)
    assert out.get("Attributes") == expected


async def test_store_update_creates_item_and_rejects_key_update(store: TableStore) -> None:
    key = {"pk": S("u"), "n": N(1)}
    await store.call(
        "UpdateItem",
        {"TableName": T, "Key": key, "UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": N(1)}},
    )
    assert await get(store, "u", 1) == {**key, "c": N(1)}
    with pytest.raises(ValidationError):
        await store.call(
            "UpdateItem",
            {
                "TableName": T,
                "Key": key,
                "UpdateExpression": "SET pk = :v",
                "ExpressionAttributeValues": {":v": S("x")},
            },
        )
    assert await get(store, "u", 1) == {**key, "c": N(1)}


async def _query(store: TableStore, **request: Any) -> dict[str, Any]:
    return await store.call("Query", {"TableName": T, **request})


async def test_store_query_orders_numbers_numerically_both_ways(store: TableStore) -> None:
    for n in ("10", "-5", "2", "1e3", "0.5", "-100"):
        await put(store, pk=S("p"), n=N(n))
    await put(store, pk=S("q"), n=N(3))
    kc = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}
    forward = [i["n"]["N"] for i in (await _query(store, **kc))["Items"]]
    assert [float(x) for x in forward] == [-100, -5, 0.5, 2, 10, 1000]
    backward = [i["n"]["N"] for i in (await _query(store, ScanIndexForward=False, **kc))["Items"]]
    assert backward == forward[::-1]


async def test_store_query_sort_key_ranges(store: TableStore) -> None:
    for n in range(10):
        await put(store, pk=S("p"), n=N(n))

    async def ns(expr: str, **values: Any) -> list[int]:
        out = await _query(
            store, KeyConditionExpression=f"pk = :p AND {expr}", ExpressionAttributeValues={":p": S("p"), **values}
        )
        return [int(i["n"]["N"]) for i in out["Items"]]

    assert await ns("n BETWEEN :a AND :b", **{":a": N(3), ":b": N(5)}) == [3, 4, 5]
    assert await ns("n < :a", **{":a": N(2)}) == [0, 1]
    assert await ns("n >= :a", **{":a": N(8)}) == [8, 9]
    assert await ns("n = :a", **{":a": N(4)}) == [4]


async def test_store_query_pages_with_limit_and_start_key(store: TableStore) -> None:
    for n in range(7):
        await put(store, pk=S("p"), n=N(n))
    kc = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}, "Limit": 3}
    seen: list[int] = []
    start: dict[str, Any] | None = None
    pages = 0
    while True:
        out = await _query(store, **kc, **({"ExclusiveStartKey": start} if start else {}))
        pages += 1
        seen += [int(i["n"]["N"]) for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if start is None:
            break
        assert start == out["Items"][-1]
    assert seen == list(range(7))
    assert pages == 3


async def test_store_query_filter_counts_and_select_count(store: TableStore) -> None:
    for n in range(6):
        await put(store, pk=S("p"), n=N(n), even=({"BOOL": n % 2 == 0}))
    base = {
        "KeyConditionExpression": "pk = :p",
        "FilterExpression": "even = :t",
        "ExpressionAttributeValues": {":p": S("p"), ":t": {"BOOL": True}},
    }
    out = await _query(store, **base)
    assert (out["Count"], out["ScannedCount"]) == (3, 6)
    counted = await _query(store, Select="COUNT", **base)
    assert "Items" not in counted and counted["Count"] == 3
    projected = await _query(store, ProjectionExpression="n", **base)
    assert projected["Items"][0] == {"n": N(0)}


async def test_store_query_pages_at_one_megabyte(store: TableStore) -> None:
    blob = "x" * 100_000
    for n in range(25):
        await put(store, pk=S("big"), n=N(n), blob=S(blob))
    kc = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("big")}}
    first = await _query(store, **kc)
    assert 8 <= first["Count"] < 25
    assert "LastEvaluatedKey" in first
    rest = await _query(store, ExclusiveStartKey=first["LastEvaluatedKey"], **kc)
    total = first["Count"] + rest["Count"]
    if "LastEvaluatedKey" in rest:
        total += (await _query(store, ExclusiveStartKey=rest["LastEvaluatedKey"], **kc))["Count"]
    assert total == 25


async def test_store_gsi_is_sparse_maintained_and_paged(store: TableStore) -> None:
    await put(store, pk=S("a"), n=N(1), owner=S("ann"), title=S("b"))
    await put(store, pk=S("a"), n=N(2), owner=S("ann"), title=S("a"))
    await put(store, pk=S("a"), n=N(3), title=S("no owner"))
    ix = {
        "IndexName": "byOwner",
        "KeyConditionExpression": "#o = :o",
        "ExpressionAttributeNames": {"#o": "owner"},
        "ExpressionAttributeValues": {":o": S("ann")},
    }
    out = await _query(store, **ix)
    assert [i["title"]["S"] for i in out["Items"]] == ["a", "b"]
    assert (await store.call("Scan", {"TableName": T, "IndexName": "byOwner"}))["Count"] == 2
    await store.call(
        "UpdateItem",
        {
            "TableName": T,
            "Key": {"pk": S("a"), "n": N(2)},
            "UpdateExpression": "SET #o = :b",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":b": S("bob")},
        },
    )
    assert [i["n"] for i in (await _query(store, **ix))["Items"]] == [N(1)]
    page = await _query(store, Limit=1, **{**ix, "ExpressionAttributeValues": {":o": S("bob")}})
    assert page["Count"] == 1 and "LastEvaluatedKey" in page  # at Limit, even with nothing after it
    after = await _query(
        store, ExclusiveStartKey=page["LastEvaluatedKey"], **{**ix, "ExpressionAttributeValues": {":o": S("bob")}}
    )
    assert after["Count"] == 0 and "LastEvaluatedKey" not in after
    await put(store, pk=S("b"), n=N(1), owner=S("bob"), title=S("z"))
    page = await _query(store, Limit=1, **{**ix, "ExpressionAttributeValues": {":o": S("bob")}})
    assert page["LastEvaluatedKey"] == {"pk": S("a"), "n": N(2), "owner": S("bob"), "title": S("a")}
    await store.call("DeleteItem", {"TableName": T, "Key": {"pk": S("a"), "n": N(1)}})
    assert (await _query(store, **ix))["Count"] == 0


async def test_store_query_is_an_index_range_not_a_scan(store: TableStore) -> None:
    """EXPLAIN QUERY PLAN of the SQL a Query runs: a SEARCH on the primary key, never a SCAN."""
    from sandbox.dynamodb.query import query_plan
    from sandbox.dynamodb.request import names_for

    table = store.ctx.catalog.get(T)
    for index, kc, values in (
        (
            None,
            "pk = :p AND n BETWEEN :a AND :b",
            {":p": S("p"), ":a": N(1), ":b": N(2)},
        ),
        (table.index("byOwner"), "#o = :o AND begins_with(title, :t)", {":o": S("x"), ":t": S("a")}),
    ):
        request: dict[str, Any] = {"KeyConditionExpression": kc, "ExpressionAttributeValues": values}
        if index is not None:
            request["ExpressionAttributeNames"] = {"#o": "owner"}
        plan = query_plan(store.ctx, table, index, request, names_for(request))
        sql, params = paging._sql(plan, plan.start, 10)
        rows = await store.ctx.db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        details = " | ".join(str(r[-1]) for r in rows)
        assert "SCAN" not in details.replace("SCAN CONSTANT", ""), details
        assert "SEARCH" in details


async def test_store_parallel_scan_segments_partition_the_table(store: TableStore) -> None:
    for p in range(20):
        await put(store, pk=S(f"p{p}"), n=N(1))
    seen: list[str] = []
    for segment in range(3):
        out = await store.call("Scan", {"TableName": T, "Segment": segment, "TotalSegments": 3})
        seen += [i["pk"]["S"] for i in out["Items"]]
    assert sorted(seen) == sorted(f"p{p}" for p in range(20))
    with pytest.raises(ValidationError, match="zero-based"):
        await store.call("Scan", {"TableName": T, "Segment": 3, "TotalSegments": 3})


async def test_store_batch_write_and_get(store: TableStore) -> None:
    puts = [{"PutRequest": {"Item": {"pk": S("b"), "n": N(i)}}} for i in range(25)]
    assert await store.call("BatchWriteItem", {"RequestItems": {T: puts}}) == {"UnprocessedItems": {}}
    with pytest.raises(ValidationError, match="length less than or equal to 25"):
        await store.call("BatchWriteItem", {"RequestItems": {T: [*puts, puts[0]]}})
    with pytest.raises(ValidationError, match="duplicates"):
        await store.call("BatchWriteItem", {"RequestItems": {T: [puts[0], puts[0]]}})
    bad = [{"PutRequest": {"Item": {"pk": S("c"), "n": N(1)}}}, {"PutRequest": {"Item": {"pk": S("c")}}}]
    with pytest.raises(ValidationError):
        await store.call("BatchWriteItem", {"RequestItems": {T: bad}})
    assert await get(store, "c", 1) is None
    keys = [{"pk": S("b"), "n": N(i)} for i in (0, 5, 99)]
    out = await store.call("BatchGetItem", {"RequestItems": {T: {"Keys": keys}}})
    assert sorted(int(i["n"]["N"]) for i in out["Responses"][T]) == [0, 5]
    assert out["UnprocessedKeys"] == {}
    dels = [{"DeleteRequest": {"Key": {"pk": S("b"), "n": N(i)}}} for i in range(25)]
    await store.call("BatchWriteItem", {"RequestItems": {T: dels}})
    assert (await store.call("Scan", {"TableName": T}))["Count"] == 0


def _tx(*items: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    return {"TransactItems": list(items), **({"ClientRequestToken": token} if token else {})}


async def test_store_transaction_is_all_or_nothing(store: TableStore) -> None:
    await put(store, pk=S("t"), n=N(1), v=N(1))
    check = {
        "ConditionCheck": {
            "TableName": T,
            "Key": {"pk": S("t"), "n": N(1)},
            "ConditionExpression": "v = :two",
            "ExpressionAttributeValues": {":two": N(2)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    new = {"Put": {"TableName": T, "Item": {"pk": S("t"), "n": N(2)}}}
    with pytest.raises(TransactionCanceledError) as err:
        await store.call("TransactWriteItems", _tx(new, check))
    assert err.value.reasons == [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": {"pk": S("t"), "n": N(1), "v": N(1)},
        },
    ]
    assert await get(store, "t", 2) is None
    with pytest.raises(ValidationError, match="multiple operations on one item"):
        await store.call("TransactWriteItems", _tx(new, new))
    await store.call("TransactWriteItems", _tx(new, {"Delete": {"TableName": T, "Key": {"pk": S("t"), "n": N(1)}}}))
    assert await get(store, "t", 2) is not None and await get(store, "t", 1) is None
    out = await store.call(
        "TransactGetItems",
        {"TransactItems": [{"Get": {"TableName": T, "Key": {"pk": S("t"), "n": N(i)}}} for i in (1, 2)]},
    )
    assert out["Responses"] == [{}, {"Item": {"pk": S("t"), "n": N(2)}}]


async def test_store_transaction_token_is_idempotent_for_ten_minutes(store: TableStore, clock: FakeClock) -> None:
    bump = {
        "Update": {
            "TableName": T,
            "Key": {"pk": S("c"), "n": N(0)},
            "UpdateExpression": "ADD c :one",
            "ExpressionAttributeValues": {":one": N(1)},
        }
    }
    for _ in range(2):
        await store.call("TransactWriteItems", _tx(bump, token="tok"))
    assert (await get(store, "c", 0) or {})["c"] == N(1)
    with pytest.raises(IdempotentParameterMismatchError):
        await store.call(
            "TransactWriteItems", _tx({"Put": {"TableName": T, "Item": {"pk": S("x"), "n": N(0)}}}, token="tok")
        )
    clock.advance(601)
    await store.call("TransactWriteItems", _tx(bump, token="tok"))
    assert (await get(store, "c", 0) or {})["c"] == N(2)


async def test_store_ttl_hides_then_sweeps(store: TableStore, clock: FakeClock) -> None:
    now = int(clock.now())
    await put(store, pk=S("e"), n=N(1), expires=N(now + 10), owner=S("o"), title=S("t"))
    await put(store, pk=S("e"), n=N(2), expires=N(now + 100))
    assert (await store.call("DescribeTimeToLive", {"TableName": T}))["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }
    clock.advance(10)
    assert await get(store, "e", 1) is None
    kc = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("e")}}
    assert (await _query(store, **kc))["Count"] == 1
    assert await store.sweep_expired() == 1
    rows = await store.ctx.db.fetchall("SELECT count(*) FROM dynamo_gsi")
    assert rows[0][0] == 0
    await store.call(
        "UpdateTimeToLive", {"TableName": T, "TimeToLiveSpecification": {"Enabled": False, "AttributeName": "expires"}}
    )
    clock.advance(1000)
    assert await get(store, "e", 2) is not None
    with pytest.raises(ValidationError, match="already disabled"):
        await store.call(
            "UpdateTimeToLive",
            {"TableName": T, "TimeToLiveSpecification": {"Enabled": False, "AttributeName": "expires"}},
        )


async def test_store_ttl_background_sweep_runs_on_the_clock(clock: FakeClock) -> None:
    async with (
        Database(None) as db,
        TableStore(db, clock=clock, app_name="app", tables=[NOTES], sweep_interval=1.0) as s,
    ):
        await put(s, pk=S("e"), n=N(1), expires=N(int(clock.now())))
        rows = await db.fetchall("SELECT count(*) FROM dynamo_items")
        assert rows[0][0] == 1
        clock.advance(1.0)
        await asyncio.wait_for(s.next_sweep(), 5)
        assert (await db.fetchall("SELECT count(*) FROM dynamo_items"))[0][0] == 0


async def test_store_data_survives_restart_and_manifest_changes(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "data.db"
    async with Database(path) as db, TableStore(db, clock=clock, app_name="app", tables=[NOTES]) as s:
        await put(s, pk=S("k"), n=N(1), owner=S("o"), title=S("t"), tag=S("x"))
    plain = TableSpec(
        name="notes",
        partition_key=KeyAttr("pk", "S"),
        sort_key=KeyAttr("n", "N"),
        indexes=(IndexSpec(name="byTag", partition_key=KeyAttr("tag", "S")),),
    )
    async with Database(path) as db, TableStore(db, clock=clock, app_name="app", tables=[plain]) as s:
        assert await get(s, "k", 1) is not None
        out = await s.call(
            "Query",
            {
                "TableName": T,
                "IndexName": "byTag",
                "KeyConditionExpression": "tag = :t",
                "ExpressionAttributeValues": {":t": S("x")},
            },
        )
        assert out["Count"] == 1
        with pytest.raises(ValidationError, match="does not have the specified index"):
            await s.call(
                "Query",
                {
                    "TableName": T,
                    "IndexName": "byOwner",
                    "KeyConditionExpression": "#o = :o",
                    "ExpressionAttributeNames": {"#o": "owner"},
                    "ExpressionAttributeValues": {":o": S("o")},
                },
            )
        other = TableSpec(name="other", partition_key=KeyAttr("id", "S"))
        await s.sync_manifest("app", [plain, other])
        assert s.logical_tables() == {"notes": T, "other": "app-staging-other"}


async def test_store_create_update_delete_table(store: TableStore) -> None:
    req = {
        "TableName": "mine",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    desc = (await store.call("CreateTable", req))["TableDescription"]
    assert desc["TableStatus"] == "ACTIVE" and desc["BillingModeSummary"] == {
        "BillingMode": "PAY_PER_REQUEST",
        "LastUpdateToPayPerRequestDateTime": desc["CreationDateTime"],
    }
    await store.call("PutItem", {"TableName": "mine", "Item": {"id": S("1"), "g": S("x")}})
    await store.call(
        "UpdateTable",
        {
            "TableName": "mine",
            "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [
                {
                    "Create": {
                        "IndexName": "g-index",
                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                }
            ],
        },
    )
    out = await store.call(
        "Query",
        {
            "TableName": "mine",
            "IndexName": "g-index",
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": S("x")},
        },
    )
    assert out["Items"] == [{"id": S("1"), "g": S("x")}]
    assert (await store.call("DescribeTable", {"TableName": "mine"}))["Table"]["ItemCount"] == 1
    with pytest.raises(Exception, match="already exists"):
        await store.call("CreateTable", req)
    await store.call("DeleteTable", {"TableName": "mine"})
    with pytest.raises(ResourceNotFoundError):
        await store.call("DescribeTable", {"TableName": "mine"})


async def test_store_seed_writes_plain_rows(store: TableStore, tmp_path: Path) -> None:
    seed = tmp_path / "sandbox-seed.json"
    seed.write_text(json.dumps({"notes": [{"pk": "s", "n": 1, "price": 9.99, "tags": ["a"]}], "ghost": [{"id": 1}]}))
    assert await store.seed(seed) == (1, 1)
    assert await get(store, "s", 1) == {"pk": S("s"), "n": N(1), "price": N("9.99"), "tags": {"L": [S("a")]}}


async def test_store_consumed_capacity_shapes(store: TableStore) -> None:
    item = {"pk": S("c"), "n": N(1), "owner": S("o"), "title": S("t")}
    total = await store.call("PutItem", {"TableName": T, "Item": item, "ReturnConsumedCapacity": "TOTAL"})
    assert total["ConsumedCapacity"] == {"TableName": T, "CapacityUnits": 2.0}  # the new item's GSI entry is a write
    # The same item again changes nothing in the index: the table's write alone.
    indexes = await store.call("PutItem", {"TableName": T, "Item": item, "ReturnConsumedCapacity": "INDEXES"})
    assert indexes["ConsumedCapacity"] == {"TableName": T, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    read = await store.call(
        "GetItem", {"TableName": T, "Key": {"pk": S("c"), "n": N(1)}, "ReturnConsumedCapacity": "TOTAL"}
    )
    assert read["ConsumedCapacity"] == {"TableName": T, "CapacityUnits": 0.5}
    with pytest.raises(ValidationError):
        await store.call("GetItem", {"TableName": T, "Key": {"pk": S("c"), "n": N(1)}, "ReturnConsumedCapacity": "X"})


async def test_store_table_without_sort_key_and_scan_paging(store: TableStore) -> None:
    await store.call(
        "CreateTable",
        {
            "TableName": "flat",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "B"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        },
    )
    ids = ["AA==", "AQ==", "/w==", "AAE="]
    for i in ids:
        await store.call("PutItem", {"TableName": "flat", "Item": {"id": {"B": i}}})
    out = await store.call(
        "Query",
        {"TableName": "flat", "KeyConditionExpression": "id = :i", "ExpressionAttributeValues": {":i": {"B": "/w=="}}},
    )
    assert out["Items"] == [{"id": {"B": "/w=="}}]
    seen: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        page = await store.call(
            "Scan", {"TableName": "flat", "Limit": 3, **({"ExclusiveStartKey": start} if start else {})}
        )
        seen += [i["id"]["B"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == sorted(ids)
    assert seen == ["AA==", "AAE=", "AQ==", "/w=="]  # byte order: 00 < 00 01 < 01 < ff


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            {"Select": "SPECIFIC_ATTRIBUTES"}, "Must specify the AttributesToGet or ProjectionExpression", id="specific"
        ),
        pytest.param(
            {"Select": "COUNT", "ProjectionExpression": "n"}, "Cannot specify the ProjectionExpression", id="count"
        ),
        pytest.param(
            {"Select": "ALL_PROJECTED_ATTRIBUTES"}, "can be used only when Querying using an IndexName", id="proj"
        ),
        pytest.param({"Select": "NOPE"}, "failed to satisfy constraint", id="enum"),
        pytest.param({"Limit": 0}, "Member must have value greater than or equal to 1", id="limit"),
        pytest.param({"ExclusiveStartKey": {"pk": S("p")}}, "The provided starting key is invalid", id="start"),
        pytest.param(
            {"ExclusiveStartKey": {"pk": S("other"), "n": N(1)}}, "outside query boundaries", id="start-elsewhere"
        ),
    ],
)
async def test_store_query_parameter_validation(store: TableStore, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        await _query(store, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": S("p")}, **extra)


async def test_store_stop_twice_is_safe(clock: FakeClock) -> None:
    async with Database(None) as db:
        s = TableStore(db, clock=clock, app_name="app", tables=[NOTES])
        await s.start()
        await s.stop()
        await s.stop()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.decimals(min_value=-(10**20), max_value=10**20, places=8, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=12,
        unique=True,
    )
)
async def test_store_query_orders_any_numbers_like_decimal(store: TableStore, values: list[Decimal]) -> None:
    pk = S(uuid.uuid4().hex)  # a fresh partition per example: the store outlives hypothesis' examples
    for value in values:
        await put(store, pk=pk, n=N(str(value)))
    out = await _query(store, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": pk})
    assert [Decimal(i["n"]["N"]) for i in out["Items"]] == sorted(values)


async def test_store_pages_a_query_on_a_global_index_without_a_sort_key(store: TableStore) -> None:
    """A GSI partition holds many items even when the index has no sort key: its pages follow on."""
    await store.call(
        "CreateTable",
        {
            "TableName": "kinds",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "kind", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byKind",
                    "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    for n in range(5):
        await store.call("PutItem", {"TableName": "kinds", "Item": {"id": {"S": f"t{n}"}, "kind": {"S": "same"}}})
    seen: list[str] = []
    request: dict[str, Any] = {
        "TableName": "kinds",
        "IndexName": "byKind",
        "KeyConditionExpression": "kind = :k",
        "ExpressionAttributeValues": {":k": {"S": "same"}},
        "Limit": 2,
    }
    while True:
        page = await store.call("Query", request)
        seen += [item["id"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert sorted(seen) == [f"t{n}" for n in range(5)]
