"""ReturnConsumedCapacity on TransactWriteItems and TransactGetItems, through boto3 on the tables port.

DynamoDB's rules, pinned here with exact units: one ConsumedCapacity entry per table, in the order the
tables first appear in TransactItems, its figures repeated as WriteCapacityUnits (writes) or
ReadCapacityUnits (reads); every item costs twice the plain operation's units (rounded up per item
first: 1 KB for a write, 4 KB for a read, and a transactional read is strongly consistent), a
missing item and a ConditionCheck included; index entries are written once, as outside a
transaction; a cancelled transaction carries no capacity; a retry with the same ClientRequestToken
writes nothing and is answered with the read units of the items instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto.server import ThreadedMotoServer

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.store import TableStore
from tests import test_dynamo_capacity as capacity_tests
from tests.tables_port import tables_port

KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
T = "indexed"
U = "plain"
BIG = "y" * 1500  # over 1 KB, under 4 KB: two write units, one read unit
HUGE = "z" * 5000  # over 4 KB: two read units


INDEXED: dict[str, Any] = {**capacity_tests.TABLE, "TableName": T}  # a GSI (ALL) and an LSI (KEYS_ONLY)
S = capacity_tests.S
PLAIN: dict[str, Any] = {
    "TableName": U,
    "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
}
KEY = {"pk": S("p"), "sk": S("s")}


class Client:
    """boto3's client, each call off the loop that serves the port."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    async def __call__(self, operation: str, **params: Any) -> Any:
        call: Callable[..., Any] = getattr(self.raw, operation)
        out = await asyncio.to_thread(call, **params)
        out.pop("ResponseMetadata", None)
        return out

    async def fails(self, operation: str, **params: Any) -> dict[str, Any]:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await self(operation, **params)
        response: dict[str, Any] = dict(caught.value.response)
        response.pop("ResponseMetadata", None)
        return response


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with (
        Database(None) as db,
        TableStore(db, clock=FakeClock(), app_name="app", sweep_interval=1e9) as store,
        tables_port(store) as port,
    ):
        c = Client(boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **KEYS))
        await c("create_table", **INDEXED)
        await c("create_table", **PLAIN)
        yield c


def units(axis: str, value: float) -> dict[str, float]:
    return {"CapacityUnits": value, axis: value}


def entry(table: str, axis: str, own: float, *, gsi: float = 0, lsi: float = 0, indexes: bool = True) -> Any:
    """One table's entry; `indexes` False for TOTAL, which gives the total alone."""
    out: dict[str, Any] = {"TableName": table, **units(axis, own + gsi + lsi)}
    if indexes:
        out["Table"] = units(axis, own)
        if gsi:
            out["GlobalSecondaryIndexes"] = {"gsi": units(axis, gsi)}
        if lsi:
            out["LocalSecondaryIndexes"] = {"lsi": units(axis, lsi)}
    return out


W = "WriteCapacityUnits"
R = "ReadCapacityUnits"


async def write(client: Client, items: list[dict[str, Any]], mode: str = "INDEXES", **more: Any) -> Any:
    out = await client("transact_write_items", TransactItems=items, ReturnConsumedCapacity=mode, **more)
    return out.get("ConsumedCapacity")


async def test_writes_cost_twice_on_the_table_and_once_on_each_index_one_entry_per_table(client: Client) -> None:
    put = {"Put": {"TableName": T, "Item": {**KEY, "x": S("one"), "v": S(BIG)}}}
    missing = {"Delete": {"TableName": U, "Key": {"pk": S("nobody")}}}
    check = {
        "ConditionCheck": {
            "TableName": U,
            "Key": {"pk": S("also nobody")},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    # The new 1.5 KB item: 2 units, doubled on the table; the GSI holds all of it (2), the keys-only LSI
    # its keys (1). The plain table: a delete of nothing and a check of nothing, the minimum 1 unit each, doubled.
    assert await write(client, [check, put, missing]) == [entry(U, W, 4), entry(T, W, 4, gsi=2, lsi=1)]
    # An update moving the item's index key: a delete and a put in each index; the table is charged on
    # the larger of the item before and after.
    move = {
        "Update": {
            "TableName": T,
            "Key": KEY,
            "UpdateExpression": "SET x = :x",
            "ExpressionAttributeValues": {":x": S("two")},
        }
    }
    assert await write(client, [move]) == [entry(T, W, 4, gsi=4, lsi=2)]
    # TOTAL gives the total alone, the index writes in it.
    touch = {
        "Update": {
            "TableName": T,
            "Key": KEY,
            "UpdateExpression": "SET a = :a",
            "ExpressionAttributeValues": {":a": S("hi")},
        }
    }
    assert await write(client, [touch], "TOTAL") == [entry(T, W, 4, gsi=2, indexes=False)]
    # A ConditionCheck on the stored 1.5 KB item is charged on the item it read; a delete removes the
    # entry from each index.
    await client("put_item", TableName=U, Item={"pk": S("big"), "v": S(BIG)})
    check_big = {
        "ConditionCheck": {"TableName": U, "Key": {"pk": S("big")}, "ConditionExpression": "attribute_exists(v)"}
    }
    delete = {"Delete": {"TableName": T, "Key": KEY}}
    assert await write(client, [delete, check_big]) == [entry(T, W, 4, gsi=2, lsi=1), entry(U, W, 4)]


async def test_none_or_nothing_asked_gives_no_capacity(client: Client) -> None:
    put = {"Put": {"TableName": U, "Item": {"pk": S("a")}}}
    assert await client("transact_write_items", TransactItems=[put]) == {}
    assert await write(client, [put], "NONE") is None
    get = [{"Get": {"TableName": U, "Key": {"pk": S("a")}}}]
    assert "ConsumedCapacity" not in await client("transact_get_items", TransactItems=get)
    assert "ConsumedCapacity" not in await client(
        "transact_get_items", TransactItems=get, ReturnConsumedCapacity="NONE"
    )
    bad = await client.fails("transact_write_items", TransactItems=[put], ReturnConsumedCapacity="SOME")
    assert bad["Error"]["Code"] == "ValidationException"
    assert "returnConsumedCapacity" in bad["Error"]["Message"]


async def test_a_cancelled_transaction_carries_no_capacity_and_writes_nothing(client: Client) -> None:
    put = {"Put": {"TableName": T, "Item": {**KEY, "x": S("one")}}}
    check = {
        "ConditionCheck": {"TableName": U, "Key": {"pk": S("nobody")}, "ConditionExpression": "attribute_exists(pk)"}
    }
    failed = await client.fails("transact_write_items", TransactItems=[put, check], ReturnConsumedCapacity="INDEXES")
    assert failed["Error"]["Code"] == "TransactionCanceledException"
    assert set(failed) == {"Error", "CancellationReasons"}  # no ConsumedCapacity
    assert "Item" not in await client("get_item", TableName=T, Key=KEY)


async def test_reads_cost_twice_a_strongly_consistent_read_missing_items_too(client: Client) -> None:
    await client("put_item", TableName=T, Item={**KEY, "v": S(HUGE)})
    await client("put_item", TableName=U, Item={"pk": S("small")})
    gets = [
        {"Get": {"TableName": T, "Key": KEY, "ProjectionExpression": "pk"}},  # the whole 5 KB item is charged: 2 x 2
        {"Get": {"TableName": U, "Key": {"pk": S("small")}}},
        {"Get": {"TableName": T, "Key": {"pk": S("p"), "sk": S("none")}}},  # missing: still 2 x 1
    ]
    out = await client("transact_get_items", TransactItems=gets, ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"] == [entry(T, R, 6), entry(U, R, 2)]
    out = await client("transact_get_items", TransactItems=gets, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [entry(T, R, 6, indexes=False), entry(U, R, 2, indexes=False)]


async def test_a_retry_with_the_token_is_answered_with_read_units_in_the_mode_it_asks(client: Client) -> None:
    put = {"Put": {"TableName": U, "Item": {"pk": S("t"), "v": S(BIG)}}}
    token = {"ClientRequestToken": "token-1"}
    assert await write(client, [put], "TOTAL", **token) == [entry(U, W, 4, indexes=False)]
    await client("delete_item", TableName=U, Key={"pk": S("t")})
    # The retry writes nothing (the item stays deleted); its 1.5 KB item costs 1 read unit, doubled.
    assert await write(client, [put], "INDEXES", **token) == [entry(U, R, 2)]
    assert await write(client, [put], "NONE", **token) is None
    assert "Item" not in await client("get_item", TableName=U, Key={"pk": S("t")})
    other = {"Put": {"TableName": U, "Item": {"pk": S("t"), "v": S("else")}}}
    mismatch = await client.fails("transact_write_items", TransactItems=[other], **token)
    assert mismatch["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_transact_get_items_capacity_matches_moto_for_small_items_that_exist() -> None:
    """moto answers TransactGetItems' capacity as DynamoDB does for items up to 4 KB that exist (it
    skips missing items, and answers TransactWriteItems with an empty list, where DynamoDB counts)."""

    async def ours(gets: list[dict[str, Any]], mode: str) -> Any:
        async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app") as store:
            await store.call("CreateTable", PLAIN)
            for n in range(3):
                await store.call("PutItem", {"TableName": U, "Item": {"pk": S(str(n))}})
            return (await store.call("TransactGetItems", {"TransactItems": gets, "ReturnConsumedCapacity": mode}))[
                "ConsumedCapacity"
            ]

    gets: list[Any] = [{"Get": {"TableName": U, "Key": {"pk": S(str(n))}}} for n in range(3)]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        _, port = moto.get_host_and_port()
        theirs = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **KEYS)
        theirs.create_table(**PLAIN)
        for n in range(3):
            theirs.put_item(TableName=U, Item={"pk": S(str(n))})
        for mode in ("TOTAL", "INDEXES"):
            expected = theirs.transact_get_items(TransactItems=gets, ReturnConsumedCapacity=mode)["ConsumedCapacity"]
            assert asyncio.run(ours(gets, mode)) == expected == [entry(U, R, 6, indexes=mode == "INDEXES")]
    finally:
        moto.stop()
