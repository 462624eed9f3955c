"""Differential suite: the same boto3 call sequences against this sandbox's DynamoDB endpoint and against
moto's server (`ThreadedMotoServer`), responses compared after normalisation.

Each scenario is a list of (operation, parameters) steps run in order on both endpoints; a step's record
is its response without ResponseMetadata, or `("error", Code, Message)` when it fails.

Intentional differences (normalised away, and why):
- Scan order: DynamoDB (and moto) return a Scan in partition-hash order, this store in encoded-key order;
  neither is specified, so Scan `Items` are compared as sorted lists, and paged Scans by their union.
- ConsumedCapacity: unit arithmetic is an estimate in every emulator; only the shape's keys are compared.
- DescribeTable/CreateTable: ids, ARNs' account, timestamps and ItemCount/TableSizeBytes (DynamoDB refreshes
  them every ~6 hours; this store counts live) are dropped; key schema, attributes and index shapes are compared.
- Error messages: the code is always compared; the message only where DynamoDB's wording is known and moto
  matches it (steps marked `exact`). Where moto's wording differs from DynamoDB's, this store follows DynamoDB.
- Empty `LocalSecondaryIndexes`/`GlobalSecondaryIndexes` lists: moto includes them, DynamoDB omits them (as here).
- moto returns ConsumedCapacity (and an empty ItemCollectionMetrics) unasked; DynamoDB only when asked:
  those are dropped from responses to requests that did not ask.
- DeleteTable: DynamoDB (and this store) answer TableStatus DELETING, moto ACTIVE; moto's is rewritten.
- ExpressionAttributeValues without any expression: DynamoDB (and this store) reject it as unused; moto
  accepts it. That case is covered in tests/test_store.py instead.
- Sets (SS/NS/BS) are unordered in DynamoDB; moto returns them in Python set order, so they are compared sorted.
- Reserved words: DynamoDB (and this store) reject reserved words such as `inner` or `list` in expression paths,
  moto accepts some of them; the scenarios avoid reserved words.
- Numbers: DynamoDB returns them in canonical form ("1.50" comes back "1.5"), as this store does; moto echoes
  the text it was sent. The scenarios send canonical numbers.
- Legacy parameters: the scenario covers Expected and AttributeUpdates, where moto follows DynamoDB. moto
  ignores AttributesToGet on GetItem, ignores Expected on DeleteItem, gets ConditionalOperator OR wrong and
  repeats items for KeyConditions with a QueryFilter; those are covered in tests/test_store.py, against
  the same requests written as expressions.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto.server import ThreadedMotoServer

from sandbox.clock import SystemClock
from sandbox.db import Database
from sandbox.store import TableStore
from tests.tables_port import tables_port

KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
Step = tuple[str, dict[str, Any]]


class SandboxThread:
    """This sandbox's endpoint on its own loop in a thread, so the suite can drive both servers from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._db = Database(None)
        self._port = contextlib.AsyncExitStack()

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=10)

    async def _start(self) -> int:
        await self._db.open()
        self.store = TableStore(self._db, clock=SystemClock(), app_name="diff")
        await self.store.start()
        port: int = await self._port.enter_async_context(tables_port(self.store))
        return port

    async def _stop(self) -> None:
        await self._port.aclose()
        await self.store.stop()
        await self._db.close()

    def start(self) -> int:
        self._thread.start()
        port: int = self._run(self._start())
        return port

    def stop(self) -> None:
        self._run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[Any, Any]]:
    with sandbox_and_moto() as pair:
        yield pair


@contextlib.contextmanager
def sandbox_and_moto() -> Iterator[tuple[Any, Any]]:
    """boto3 DynamoDB clients of a sandbox's tables port and of a moto server, each on its own thread."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    ours = SandboxThread()
    port = ours.start()
    try:
        _, moto_port = moto.get_host_and_port()
        yield (
            boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **KEYS),
            boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{moto_port}", **KEYS),
        )
    finally:
        ours.stop()
        moto.stop()
        server = getattr(moto, "_server", None)
        if server is not None:
            server.server_close()


DROP = {
    "ResponseMetadata",
    "CreationDateTime",
    "TableId",
    "TableArn",
    "ItemCount",
    "TableSizeBytes",
    "IndexArn",
    "IndexSizeBytes",
    "LatestStreamArn",
    "LatestStreamLabel",
    "TableClassSummary",
    "DeletionProtectionEnabled",
    "WarmThroughput",
    "ProvisionedThroughput",
    "BillingModeSummary",
    "TableThroughputModeSummary",
}


# moto lists empty index collections; DynamoDB omits them, and so does this store.
SETS = ("SS", "NS", "BS")
OMITTED_EMPTY = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"}


def _normalise(value: Any, op: str) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in SETS:  # sets are unordered; moto shuffles them
            kind = next(iter(value))
            return {kind: sorted(value[kind])}
        out = {k: _normalise(v, op) for k, v in value.items() if k not in DROP and not (k in OMITTED_EMPTY and v == [])}
        if "ConsumedCapacity" in out:
            out["ConsumedCapacity"] = (
                sorted(out["ConsumedCapacity"]) if isinstance(out["ConsumedCapacity"], dict) else "..."
            )
        if op == "scan" and "Items" in out:
            out["Items"] = sorted(out["Items"], key=repr)
            out.pop("LastEvaluatedKey", None)
        if "AttributeDefinitions" in out:
            out["AttributeDefinitions"] = sorted(out["AttributeDefinitions"], key=repr)
        if op == "batch_get_item" and "Responses" in out:
            out["Responses"] = {t: sorted(items, key=repr) for t, items in out["Responses"].items()}
        return out
    if isinstance(value, list):
        return [_normalise(v, op) for v in value]
    return value


def _record(client: Any, op: str, params: dict[str, Any], exact: bool) -> Any:
    try:
        response = getattr(client, op)(**params)
        if "ReturnConsumedCapacity" not in params:
            response.pop("ConsumedCapacity", None)
        if not response.get("ItemCollectionMetrics", True):
            del response["ItemCollectionMetrics"]
        if op == "delete_table":
            response["TableDescription"]["TableStatus"] = "DELETING"
            for echoed in ("CreationDateTime", "KeySchema", "AttributeDefinitions", *OMITTED_EMPTY):
                response["TableDescription"].pop(echoed, None)  # moto echoes the schema; DynamoDB does not
        return _normalise(response, op)
    except botocore.exceptions.ClientError as err:
        error = err.response["Error"]
        response = dict(err.response)
        extra = {k: response[k] for k in ("CancellationReasons", "Item") if k in response}
        return ("error", error["Code"], error.get("Message") if exact else None, extra)


def _run(clients: tuple[Any, Any], steps: list[Step]) -> None:
    ours, moto = clients
    for number, (op, params) in enumerate(steps):
        exact = bool(params.pop("exact", False))
        mine, theirs = _record(ours, op, dict(params), exact), _record(moto, op, dict(params), exact)
        assert mine == theirs, f"step {number} {op}({params})\n  sandbox: {mine}\n  moto:    {theirs}"


def _table(name: str, *, sort: tuple[str, str] | None = ("sk", "N"), gsi: bool = False) -> Step:
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if sort:
        attrs.append({"AttributeName": sort[0], "AttributeType": sort[1]})
        keys.append({"AttributeName": sort[0], "KeyType": "RANGE"})
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": attrs,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if gsi:
        attrs.append({"AttributeName": "owner", "AttributeType": "S"})
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "byOwner",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": sort[0] if sort else "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    return ("create_table", params)


def S(v: str) -> dict[str, str]:
    return {"S": v}


def N(v: Any) -> dict[str, str]:
    return {"N": str(v)}


def test_differential_item_crud_and_return_values(clients: tuple[Any, Any]) -> None:
    t = "crud"
    key = {"pk": S("a"), "sk": N(1)}
    _run(
        clients,
        [
            _table(t),
            (
                "put_item",
                {"TableName": t, "Item": {**key, "v": N(1), "s": {"SS": ["x"]}, "m": {"M": {"l": {"L": [N(1)]}}}}},
            ),
            ("get_item", {"TableName": t, "Key": key}),
            ("put_item", {"TableName": t, "Item": {**key, "v": N(2)}, "ReturnValues": "ALL_OLD"}),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET v = v + :d, w = :w ADD c :d",
                    "ExpressionAttributeValues": {":d": N(5), ":w": S("w")},
                    "ReturnValues": "ALL_NEW",
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "REMOVE w SET v = :z",
                    "ExpressionAttributeValues": {":z": N("1.5")},
                    "ReturnValues": "UPDATED_OLD",
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET l = list_append(if_not_exists(l, :e), :one)",
                    "ExpressionAttributeValues": {":e": {"L": []}, ":one": {"L": [S("x")]}},
                    "ReturnValues": "UPDATED_NEW",
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET m = :m",
                    "ExpressionAttributeValues": {":m": {"M": {"a": {"M": {"b": S("x"), "c": N(1)}}}}},
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET m.a.b = :w",
                    "ExpressionAttributeValues": {":w": S("w")},
                    "ReturnValues": "UPDATED_NEW",
                },
            ),
            ("get_item", {"TableName": t, "Key": key, "ProjectionExpression": "v, l[0]"}),
            ("delete_item", {"TableName": t, "Key": key, "ReturnValues": "ALL_OLD"}),
            ("get_item", {"TableName": t, "Key": key}),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": {"pk": S("new"), "sk": N(0)},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": N(1)},
                    "ReturnValues": "ALL_NEW",
                },
            ),
        ],
    )


def test_differential_conditions_and_validation(clients: tuple[Any, Any]) -> None:
    t = "cond"
    key = {"pk": S("a"), "sk": N(1)}
    _run(
        clients,
        [
            _table(t),
            (
                "put_item",
                {"TableName": t, "Item": {**key, "v": N(1)}, "ConditionExpression": "attribute_not_exists(pk)"},
            ),
            (
                "put_item",
                {
                    "TableName": t,
                    "Item": {**key, "v": N(2)},
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "exact": True,
                },
            ),
            (
                "put_item",
                {
                    "TableName": t,
                    "Item": key,
                    "ConditionExpression": "v = :one",
                    "ExpressionAttributeValues": {":one": N(1)},
                },
            ),
            (
                "delete_item",
                {
                    "TableName": t,
                    "Key": key,
                    "ConditionExpression": "attribute_exists(v)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                },
            ),
            ("put_item", {"TableName": t, "Item": {"pk": N(1), "sk": N(1)}, "exact": True}),
            ("put_item", {"TableName": t, "Item": {"pk": S("a")}, "exact": True}),
            ("get_item", {"TableName": t, "Key": {"pk": S("a")}}),
            ("get_item", {"TableName": "nope", "Key": key}),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET pk = :x",
                    "ExpressionAttributeValues": {":x": S("b")},
                },
            ),
            ("get_item", {"TableName": t, "Key": key}),
        ],
    )


def test_differential_query_ranges_paging_filters(clients: tuple[Any, Any]) -> None:
    t = "query"
    steps: list[Step] = [_table(t)]
    steps += [
        ("put_item", {"TableName": t, "Item": {"pk": S("p"), "sk": N(n), "even": {"BOOL": int(float(n)) % 2 == 0}}})
        for n in ("-3", "0", "1.5", "2", "10", "100", "7")
    ]
    steps += [("put_item", {"TableName": t, "Item": {"pk": S("q"), "sk": N(1)}})]
    kc = {"TableName": t, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}
    steps += [
        ("query", kc),
        ("query", {**kc, "ScanIndexForward": False}),
        ("query", {**kc, "Limit": 3}),
        ("query", {**kc, "Limit": 3, "ExclusiveStartKey": {"pk": S("p"), "sk": N("1.5")}}),
        (
            "query",
            {
                **kc,
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":p": S("p"), ":a": N(0), ":b": N(10)},
            },
        ),
        (
            "query",
            {
                **kc,
                "KeyConditionExpression": "pk = :p AND sk > :a",
                "ExpressionAttributeValues": {":p": S("p"), ":a": N(2)},
            },
        ),
        (
            "query",
            {**kc, "FilterExpression": "even = :t", "ExpressionAttributeValues": {":p": S("p"), ":t": {"BOOL": True}}},
        ),
        (
            "query",
            {
                **kc,
                "FilterExpression": "even = :t",
                "ExpressionAttributeValues": {":p": S("p"), ":t": {"BOOL": True}},
                "Select": "COUNT",
            },
        ),
        ("query", {**kc, "ProjectionExpression": "sk"}),
        ("query", {**kc, "KeyConditionExpression": "sk = :p"}),
    ]
    _run(clients, steps)


def test_differential_string_sort_keys_and_gsi(clients: tuple[Any, Any]) -> None:
    t = "strings"
    steps: list[Step] = [_table(t, sort=("sk", "S"), gsi=True)]
    for sk, owner in (("a#1", "ann"), ("a#2", None), ("b#1", "bob"), ("a#10", "ann"), ("ab", "ann"), ("é", "bob")):
        item = {"pk": S("p"), "sk": S(sk)}
        if owner:
            item["owner"] = S(owner)
        steps.append(("put_item", {"TableName": t, "Item": item}))
    kc = {
        "TableName": t,
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :x)",
        "ExpressionAttributeValues": {":p": S("p"), ":x": S("a#")},
    }
    gsi = {
        "TableName": t,
        "IndexName": "byOwner",
        "KeyConditionExpression": "#o = :o",
        "ExpressionAttributeNames": {"#o": "owner"},
        "ExpressionAttributeValues": {":o": S("ann")},
    }
    steps += [
        ("query", kc),
        ("query", {**kc, "ExpressionAttributeValues": {":p": S("p"), ":x": S("")}}),
        ("query", {"TableName": t, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}),
        ("query", gsi),
        ("query", {**gsi, "ScanIndexForward": False}),
        ("scan", {"TableName": t, "IndexName": "byOwner"}),
        (
            "update_item",
            {
                "TableName": t,
                "Key": {"pk": S("p"), "sk": S("ab")},
                "UpdateExpression": "REMOVE #o",
                "ExpressionAttributeNames": {"#o": "owner"},
            },
        ),
        ("query", gsi),
    ]
    _run(clients, steps)


def test_differential_scan_batch_and_transactions(clients: tuple[Any, Any]) -> None:
    t = "batch"
    puts = [{"PutRequest": {"Item": {"pk": S(f"k{i}"), "sk": N(i), "v": N(i * 10)}}} for i in range(12)]
    keys = [{"pk": S(f"k{i}"), "sk": N(i)} for i in (0, 3, 99)]
    ok_tx = [
        {"Put": {"TableName": t, "Item": {"pk": S("tx"), "sk": N(1)}}},
        {
            "Update": {
                "TableName": t,
                "Key": keys[0],
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": N(-1)},
            }
        },
        {"ConditionCheck": {"TableName": t, "Key": keys[1], "ConditionExpression": "attribute_exists(v)"}},
    ]
    bad_tx = [
        {"Delete": {"TableName": t, "Key": {"pk": S("tx"), "sk": N(1)}}},
        {
            "ConditionCheck": {
                "TableName": t,
                "Key": keys[1],
                "ConditionExpression": "v = :x",
                "ExpressionAttributeValues": {":x": N(0)},
            }
        },
    ]
    _run(
        clients,
        [
            _table(t),
            ("batch_write_item", {"RequestItems": {t: puts}}),
            ("scan", {"TableName": t}),
            ("scan", {"TableName": t, "FilterExpression": "v > :x", "ExpressionAttributeValues": {":x": N(50)}}),
            ("scan", {"TableName": t, "Select": "COUNT"}),
            ("batch_get_item", {"RequestItems": {t: {"Keys": keys}}}),
            ("batch_get_item", {"RequestItems": {t: {"Keys": [keys[0], keys[0]]}}, "exact": True}),
            ("batch_write_item", {"RequestItems": {t: [*puts, *puts[:14]]}}),
            ("transact_write_items", {"TransactItems": ok_tx}),
            ("transact_write_items", {"TransactItems": bad_tx}),
            (
                "transact_get_items",
                {
                    "TransactItems": [
                        {"Get": {"TableName": t, "Key": k}} for k in (keys[0], {"pk": S("tx"), "sk": N(1)}, keys[2])
                    ]
                },
            ),
            ("transact_write_items", {"TransactItems": [ok_tx[0], ok_tx[0]]}),
        ],
    )


def test_differential_table_management(clients: tuple[Any, Any]) -> None:
    _run(
        clients,
        [
            _table("mgmt-a", gsi=True),
            _table("mgmt-a"),
            ("describe_table", {"TableName": "mgmt-a"}),
            (
                "update_time_to_live",
                {"TableName": "mgmt-a", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}},
            ),
            ("describe_time_to_live", {"TableName": "mgmt-a"}),
            ("delete_table", {"TableName": "mgmt-a"}),
            ("describe_table", {"TableName": "mgmt-a"}),
        ],
    )


def test_differential_expression_language(clients: tuple[Any, Any]) -> None:
    t = "exprs"
    key = {"pk": S("e"), "sk": N(1)}
    doc = {
        **key,
        "name": S("widget"),
        "tags": {"SS": ["a", "b", "c"]},
        "nums": {"NS": ["1", "2"]},
        "m": {"M": {"k1": {"M": {"x": N(1)}}, "arr": {"L": [N(1), N(2), N(3)]}}},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
    }
    scan = {"TableName": t}
    _run(
        clients,
        [
            _table(t),
            ("put_item", {"TableName": t, "Item": doc}),
            ("put_item", {"TableName": t, "Item": {"pk": S("e"), "sk": N(2), "name": S("gadget"), "price": N(10)}}),
            (
                "scan",
                {
                    **scan,
                    "FilterExpression": "contains(tags, :a) AND size(m.arr) = :three",
                    "ExpressionAttributeValues": {":a": S("a"), ":three": N(3)},
                },
            ),
            (
                "scan",
                {
                    **scan,
                    "FilterExpression": "#n IN (:w, :z) OR price > :p",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":w": S("widget"), ":z": S("zzz"), ":p": N(100)},
                },
            ),
            (
                "scan",
                {
                    **scan,
                    "FilterExpression": "NOT attribute_exists(price) AND attribute_type(flag, :bool)",
                    "ExpressionAttributeValues": {":bool": S("BOOL")},
                },
            ),
            (
                "scan",
                {
                    **scan,
                    "FilterExpression": "begins_with(#n, :g) OR m.k1.x = :one",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":g": S("gad"), ":one": N(1)},
                },
            ),
            (
                "scan",
                {
                    **scan,
                    "FilterExpression": "price BETWEEN :a AND :b",
                    "ExpressionAttributeValues": {":a": N(5), ":b": N(10)},
                },
            ),
            ("get_item", {"TableName": t, "Key": key, "ProjectionExpression": "m.k1.x, m.arr[1], tags"}),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "ADD tags :d, nums :n DELETE tags :b SET m.k1.y = :one REMOVE m.arr[0]",
                    "ExpressionAttributeValues": {
                        ":d": {"SS": ["d"]},
                        ":n": {"NS": ["3"]},
                        ":b": {"SS": ["b"]},
                        ":one": N(1),
                    },
                    "ReturnValues": "ALL_NEW",
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET flag = :t",
                    "ConditionExpression": "size(tags) > :two AND flag = :f",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}, ":two": N(2), ":f": {"BOOL": False}},
                    "ReturnValues": "UPDATED_NEW",
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET price = price + :one",
                    "ExpressionAttributeValues": {":one": N(1)},
                },
            ),
            (
                "update_item",
                {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET #n = :a, #n = :b",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":a": S("a"), ":b": S("b")},
                },
            ),
            ("get_item", {"TableName": t, "Key": key}),
        ],
    )


def test_differential_legacy_parameters(clients: tuple[Any, Any]) -> None:
    t = "legacy"
    key = {"pk": S("p"), "sk": N(1)}
    steps: list[Step] = [_table(t)]
    steps += [
        ("put_item", {"TableName": t, "Item": {"pk": S("p"), "sk": N(n), "v": N(n * 10), "tag": S(f"t{n % 2}")}})
        for n in range(1, 7)
    ]
    steps += [
        ("get_item", {"TableName": t, "Key": key}),
        ("put_item", {"TableName": t, "Item": {**key, "v": N(1)}, "Expected": {"v": {"Value": N(10)}}}),
        ("put_item", {"TableName": t, "Item": {**key, "v": N(2)}, "Expected": {"v": {"Value": N(10)}}}),
        ("put_item", {"TableName": t, "Item": {**key, "v": N(3)}, "Expected": {"nope": {"Exists": False}}}),
        (
            "put_item",
            {
                "TableName": t,
                "Item": {**key, "v": N(4)},
                "Expected": {
                    "v": {"ComparisonOperator": "GT", "AttributeValueList": [N(0)]},
                    "nope": {"ComparisonOperator": "NULL"},
                },
            },
        ),
        (
            "update_item",
            {
                "TableName": t,
                "Key": key,
                "AttributeUpdates": {
                    "v": {"Action": "ADD", "Value": N(5)},
                    "tag": {"Action": "DELETE"},
                    "s": {"Action": "ADD", "Value": {"SS": ["a", "b"]}},
                    "w": {"Value": S("put")},
                },
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "update_item",
            {
                "TableName": t,
                "Key": key,
                "AttributeUpdates": {"s": {"Action": "DELETE", "Value": {"SS": ["a"]}}},
                "Expected": {"w": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("pu")]}},
                "ReturnValues": "UPDATED_NEW",
            },
        ),
        (
            "delete_item",
            {"TableName": t, "Key": key, "Expected": {"v": {"ComparisonOperator": "GT", "AttributeValueList": [N(0)]}}},
        ),
    ]
    _run(clients, steps)
