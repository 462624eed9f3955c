"""DynamoDB behaviours found by running ScyllaDB's Alternator suite against the tables port, pinned here
with real boto3 clients on a real socket (and raw HTTP where boto3 would refuse to send the request).

By theme: limits (sizes and lengths), request-only validation, valid requests that used to be refused,
error types, the tagging and small management operations, and requests that used to get a 5xx.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import botocore.config
import botocore.exceptions
import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.model import KeyAttr, TableSpec
from sandbox.store import TableStore
from tests.tables_port import tables_port

HASH = TableSpec(name="hash", partition_key=KeyAttr("p", "S"))
SORTED = TableSpec(name="sorted", partition_key=KeyAttr("p", "S"), sort_key=KeyAttr("c", "N"))
H = "app-staging-hash"
SO = "app-staging-sorted"
KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "dummy", "aws_secret_access_key": "dummy"}
RAW = botocore.config.Config(parameter_validation=False, retries={"max_attempts": 0})
TARGET = "DynamoDB_20120810."


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with (
        Database(None) as db,
        TableStore(db, clock=FakeClock(), app_name="app", tables=[HASH, SORTED]) as store,
        tables_port(store) as bound,
    ):
        yield bound


def _client(port: int) -> Any:
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", config=RAW, **KEYS)


async def _call(port: int, operation: str, **params: Any) -> dict[str, Any]:
    method = getattr(_client(port), "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_"))
    result: dict[str, Any] = await asyncio.to_thread(method, **params)
    return result


async def _error(port: int, operation: str, **params: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await _call(port, operation, **params)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


async def _raw(port: int, operation: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST a body boto3 would never send; returns (status, parsed JSON or raw text)."""
    url = f"http://127.0.0.1:{port}/"
    sent = {"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.0", **(headers or {})}
    async with aiohttp.ClientSession() as http, http.post(url, data=io.BytesIO(body), headers=sent) as resp:
        text = await resp.read()
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, text


def S(v: str) -> dict[str, str]:
    return {"S": v}


def N(v: str) -> dict[str, str]:
    return {"N": v}


# --- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "fragment"),
    [
        pytest.param("PutItem", {"TableName": H, "Item": {"p": S("x" * 2049)}}, "hashkey", id="partition-key-2049"),
        pytest.param("GetItem", {"TableName": H, "Key": {"p": S("x" * 2049)}}, "hashkey", id="get-partition-2049"),
        pytest.param(
            "PutItem", {"TableName": SO, "Item": {"p": S("a"), "c": N("1"), "x": S("y")}}, None, id="fine-item"
        ),
        pytest.param("PutItem", {"TableName": H, "Item": {"p": S("a"), "x" * 65536: N("1")}}, "65536", id="name-64k"),
        pytest.param(
            "PutItem", {"TableName": H, "Item": {"p": S("a"), "": N("1")}}, "Empty attribute name", id="empty-name"
        ),
        pytest.param(
            "GetItem",
            {
                "TableName": H,
                "Key": {"p": S("a")},
                "ProjectionExpression": "#n",
                "ExpressionAttributeNames": {"#n": ""},
            },
            "Empty attribute name",
            id="empty-name-placeholder",
        ),
        pytest.param(
            "GetItem",
            {"TableName": H, "Key": {"p": S("a")}, "ProjectionExpression": "x" * 4097},
            "expression size",
            id="4097-bytes",
        ),
        pytest.param(
            "GetItem",
            {"TableName": H, "Key": {"p": S("a")}, "ProjectionExpression": "a" + ".b" * 32},
            "nesting levels",
            id="path-33-levels",
        ),
        pytest.param(
            "UpdateItem",
            {
                "TableName": H,
                "Key": {"p": S("a")},
                "UpdateExpression": "SET z = :v",
                "ConditionExpression": "a<b " + "or (a<b " * 160 + ")" * 160,
                "ExpressionAttributeValues": {":v": N("1")},
            },
            "too many operators",
            id="301-operators",
        ),
        pytest.param(
            "PutItem",
            {"TableName": H, "Item": {"p": S("a"), "m": {"M": {"a": {"M": {}}}}}},
            None,
            id="shallow-map",
        ),
        pytest.param(
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": H, "Item": {"p": S(f"k{i}"), "v": S("x" * 350_000)}}} for i in range(13)
                ]
            },
            "size cannot exceed 4 MB",
            id="transaction-over-4mb",
        ),
    ],
)
async def test_conformance_limits(port: int, operation: str, params: dict[str, Any], fragment: str | None) -> None:
    if fragment is None:
        await _call(port, operation, **params)
        return
    code, message = await _error(port, operation, **params)
    assert code == "ValidationException" and fragment in message


async def test_conformance_limits_keys_at_the_limit_and_nesting(port: int) -> None:
    await _call(port, "PutItem", TableName=H, Item={"p": S("x" * 2048)})
    nested: dict[str, Any] = {"M": {}}
    for _ in range(30):  # 30 maps inside the attribute, the attribute, the item: 32 levels
        nested = {"M": {"a": nested}}
    await _call(port, "PutItem", TableName=H, Item={"p": S("deep"), "n": nested})
    code, message = await _error(port, "PutItem", TableName=H, Item={"p": S("deeper"), "n": {"M": {"a": nested}}})
    assert code == "ValidationException" and "nested" in message
    code, message = await _error(
        port,
        "CreateTable",
        TableName="long-key",
        KeySchema=[{"AttributeName": "k" * 256, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k" * 256, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert code == "ValidationException" and "255" in message


# --- validation that needs only the request -------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "values", "fragment"),
    [
        pytest.param("a < :v", {":v": {"L": [N("1")]}}, "operand type: L", id="list-constant-in-order"),
        pytest.param(":v < a", {":v": {"M": {}}}, "operand type: M", id="map-constant-reversed"),
        pytest.param("a BETWEEN :lo AND :hi", {":lo": N("2"), ":hi": N("1")}, "upper bound", id="between-reversed"),
        pytest.param("a BETWEEN :lo AND :hi", {":lo": N("2"), ":hi": S("x")}, "same data type", id="between-types"),
        pytest.param("begins_with(a, :v)", {":v": N("2")}, "begins_with", id="begins-with-number"),
        pytest.param("size(:v) > :n", {":v": N("1"), ":n": N("1")}, "size", id="size-of-number"),
        pytest.param("((a = :v))", {":v": N("1")}, "redundant parentheses", id="redundant-parentheses"),
        pytest.param("if_not_exists(a, :v) = :v", {":v": N("1")}, "not allowed", id="update-function"),
        pytest.param("contains(a, a)", None, "contains", id="contains-same-path"),
        pytest.param("attribute_type(a, b)", None, "attribute_type", id="attribute-type-path"),
    ],
)
async def test_conformance_condition_checked_before_any_item(
    port: int, condition: str, values: dict[str, Any] | None, fragment: str
) -> None:
    """Wrong constants are errors even with no item to compare (where the item's own values only
    make the condition false)."""
    params: dict[str, Any] = {"TableName": H, "Key": {"p": S("none")}, "ConditionExpression": condition}
    if values:
        params["ExpressionAttributeValues"] = values
    code, message = await _error(port, "DeleteItem", **params)
    assert code == "ValidationException" and fragment in message


async def test_conformance_item_values_only_make_conditions_false(port: int) -> None:
    await _call(port, "PutItem", TableName=H, Item={"p": S("k"), "l": {"L": [N("1")]}, "two": N("2")})
    for condition, values in [
        ("l < :v", {":v": N("1")}),
        ("two BETWEEN two AND :v", {":v": N("1")}),  # bounds from the item out of order: false, not an error
    ]:
        code, _ = await _error(
            port,
            "DeleteItem",
            TableName=H,
            Key={"p": S("k")},
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
        assert code == "ConditionalCheckFailedException"
    await _call(port, "PutItem", TableName=H, Item={"p": S("k")}, ConditionExpression="q <> z")  # both missing: true


async def test_conformance_query_filters_and_keys(port: int) -> None:
    await _call(port, "PutItem", TableName=SO, Item={"p": S("q"), "c": N("1"), "v": N("5")})
    key = {"KeyConditionExpression": "p = :p", "ExpressionAttributeValues": {":p": S("q")}}
    code, message = await _error(port, "Query", TableName=SO, FilterExpression="c = :p", **key)
    assert code == "ValidationException" and "Primary key attribute: c" in message
    got = await _call(
        port,
        "Query",
        TableName=SO,
        KeyConditionExpression=":p = p AND :c < c",  # reversed operands read as p = :p AND c > :c
        ExpressionAttributeValues={":p": S("q"), ":c": N("0")},
    )
    assert got["Count"] == 1
    code, message = await _error(
        port,
        "Query",
        TableName=SO,
        KeyConditionExpression="p = :p AND p = :p",
        ExpressionAttributeValues={":p": S("q")},
    )
    assert "one condition per key" in message
    code, message = await _error(port, "Query", TableName=SO, KeyConditionExpression="")
    assert "can not be empty" in message
    code, message = await _error(
        port,
        "Query",
        TableName=SO,
        KeyConditionExpression="p = :p AND c.x < :c",
        ExpressionAttributeValues={":p": S("q"), ":c": N("0")},
    )
    assert "nested" in message
    code, message = await _error(port, "Query", TableName=H, ExclusiveStartKey={"p": S("q")}, **key)
    assert code == "ValidationException" and "ExclusiveStartKey" in message
    code, message = await _error(
        port, "Scan", TableName=SO, Segment=0, TotalSegments=1_000_000, ExclusiveStartKey={"p": S("0"), "c": N("0")}
    )
    assert "does not map to the provided segment" in message


async def test_conformance_projection_paths(port: int) -> None:
    key = {"TableName": H, "Key": {"p": S("a")}}
    for expression, fragment in [("a, a.b", "overlap"), ("a.b, a[0]", "conflict"), ("a[99999999999999]", "index")]:
        code, message = await _error(port, "GetItem", ProjectionExpression=expression, **key)
        assert code == "ValidationException" and fragment in message


async def test_conformance_update_paths(port: int) -> None:
    await _call(
        port, "PutItem", TableName=H, Item={"p": S("u"), "a": {"L": [S("one"), S("two"), S("three")]}, "s": S("x")}
    )
    key = {"TableName": H, "Key": {"p": S("u")}}
    # indexes past the end append in index order, whatever the order of the actions
    await _call(
        port,
        "UpdateItem",
        UpdateExpression="SET a[84] = :a, a[37] = :b, a[17] = :c",
        ExpressionAttributeValues={":a": S("84"), ":b": S("37"), ":c": S("17")},
        **key,
    )
    got = await _call(port, "GetItem", **key)
    assert [v["S"] for v in got["Item"]["a"]["L"]] == ["one", "two", "three", "17", "37", "84"]
    for expression, fragment in [
        ("SET s.c = :v", "document path"),
        ("REMOVE s.c", "document path"),
        ("REMOVE nothing[0]", "document path"),
        ("SET a.b = :v, a[1] = :v", "conflict"),
        ("SET _x = :v", "Syntax error"),
        ("SET z = list_append(list_append(:l, :l), :l)", "list_append"),
        ("SET z = if_not_exists(z, :v + :v)", "Syntax error"),
    ]:
        values = {":v": N("1"), ":l": {"L": []}} if ":l" in expression else {":v": N("1")}
        if expression.startswith("REMOVE"):
            code, message = await _error(port, "UpdateItem", UpdateExpression=expression, **key)
        else:
            code, message = await _error(
                port, "UpdateItem", UpdateExpression=expression, ExpressionAttributeValues=values, **key
            )
        assert code == "ValidationException" and fragment in message, expression
    # removing from an item that does not exist creates nothing, and finds no invalid path
    await _call(port, "UpdateItem", TableName=H, Key={"p": S("ghost")}, UpdateExpression="REMOVE x.y")
    assert "Item" not in await _call(port, "GetItem", TableName=H, Key={"p": S("ghost")})


async def test_conformance_legacy_argument_types(port: int) -> None:
    key = {"TableName": H, "Key": {"p": S("l")}}
    for condition in [
        {"ComparisonOperator": "IN", "AttributeValueList": [N("3"), S("dog")]},
        {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"L": []}]},
        {"ComparisonOperator": "LE", "AttributeValueList": [{"M": {}}]},
    ]:
        code, _ = await _error(port, "DeleteItem", Expected={"a": condition}, **key)
        assert code == "ValidationException", condition
    code, _ = await _error(
        port,
        "DeleteItem",
        Expected={"a": {"Exists": False, "ComparisonOperator": "EQ", "AttributeValueList": [N("3")]}},
        **key,
    )
    assert code == "ValidationException"
    await _call(port, "PutItem", TableName=H, Item={"p": S("l"), "a": {"SS": ["x"]}})
    code, message = await _error(port, "UpdateItem", AttributeUpdates={"a": {"Action": "ADD", "Value": N("2")}}, **key)
    assert code == "ValidationException" and "mismatch" in message


# --- valid requests that used to be refused ------------------------------------------------------


async def test_conformance_valid_requests(port: int) -> None:
    await _call(port, "UpdateItem", TableName=H, Key={"p": S("e")}, AttributeUpdates={}, Expected={})
    assert (await _call(port, "GetItem", TableName=H, Key={"p": S("e")}))["Item"] == {"p": S("e")}
    await _call(port, "PutItem", TableName=SO, Item={"p": S("k"), "c": N("1"), "v": N("7"), "w": N("8")})
    got = await _call(
        port,
        "Query",
        TableName=SO,
        KeyConditions={"p": {"AttributeValueList": [S("k")], "ComparisonOperator": "EQ"}},
        FilterExpression="v = :v",
        ProjectionExpression="w",
        ExpressionAttributeValues={":v": N("7")},
    )
    assert got["Items"] == [{"w": N("8")}]
    everything = await _call(
        port,
        "Query",
        TableName=SO,
        KeyConditions={"p": {"AttributeValueList": [S("k")], "ComparisonOperator": "EQ"}},
        QueryFilter={},
    )
    assert everything["Count"] == 1
    many = {f"more{i}": {"Value": N(str(i)), "Action": "PUT"} for i in range(400)}  # > 4 KB once written out
    await _call(port, "UpdateItem", TableName=H, Key={"p": S("many")}, AttributeUpdates=many)
    assert len((await _call(port, "GetItem", TableName=H, Key={"p": S("many")}))["Item"]) == 401


async def test_conformance_numbers_exact_to_38_digits(port: int) -> None:
    key = {"TableName": H, "Key": {"p": S("n")}}
    await _call(
        port,
        "UpdateItem",
        UpdateExpression="SET b = :a + :b",
        ExpressionAttributeValues={":a": N("1"), ":b": N("1" + "0" * 36)},
        **key,
    )
    assert (await _call(port, "GetItem", **key))["Item"]["b"] == N("1" + "0" * 35 + "1")
    for a, op, b in [("1e50", "-", "1"), ("9e125", "+", "9e125"), ("1.0", "+", "1.0e100000000")]:
        code, message = await _error(
            port,
            "UpdateItem",
            UpdateExpression=f"SET b = :a {op} :b",
            ExpressionAttributeValues={":a": N(a), ":b": N(b)},
            **key,
        )
        assert code == "ValidationException" and "overflow" in message.lower(), (a, op, b)
    code, message = await _error(port, "PutItem", TableName=H, Item={"p": S("n"), "x": N(" 1")})
    assert "numeric" in message


async def test_conformance_limit_gives_last_evaluated_key(port: int) -> None:
    await _call(port, "PutItem", TableName=SO, Item={"p": S("lim"), "c": N("1")})
    page = await _call(
        port,
        "Query",
        TableName=SO,
        KeyConditionExpression="p = :p",
        ExpressionAttributeValues={":p": S("lim")},
        Limit=1,
    )
    assert page["LastEvaluatedKey"] == {"p": S("lim"), "c": N("1")}
    rest = await _call(
        port,
        "Query",
        TableName=SO,
        KeyConditionExpression="p = :p",
        ExpressionAttributeValues={":p": S("lim")},
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    assert rest["Count"] == 0 and "LastEvaluatedKey" not in rest


# --- errors: type and wording --------------------------------------------------------------------


async def test_conformance_error_types(port: int) -> None:
    code, _ = await _error(port, "PutItem", TableName="xx", Item={"a": S("b")})
    assert code == "ValidationException"  # a name no table can have
    status, body = await _raw(port, "PutItem", _put_body('{"dog": "cat"}'))
    assert status == 400 and body["__type"].endswith("#ValidationException")
    code, _ = await _error(
        port,
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": H, "Item": {"p": N("7")}}},
            {"Put": {"TableName": H, "Item": {"p": S("ok")}, "ConditionExpression": "attribute_exists(p)"}},
        ],
    )
    assert code == "TransactionCanceledException"
    code, _ = await _error(
        port,
        "TransactWriteItems",
        TransactItems=[{"Put": {"TableName": H, "Item": {"p": S("t")}}}],
        ClientRequestToken="x" * 37,
    )
    assert code == "ValidationException"
    code, _ = await _error(
        port,
        "PutItem",
        TableName=H,
        Item={"p": S("a")},
        ConditionExpression="attribute_exists(#n)",
        ExpressionAttributeNames={"#n": 7},
    )
    assert code == "SerializationException"
    status, body = await _raw(port, "PutItem", b"{broken json")
    assert status == 400 and body["message"].endswith("at 1")


async def test_conformance_table_management(port: int) -> None:
    create = {
        "TableName": "made",
        "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "x", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    for projection, fragment in [
        ({"ProjectionType": "ALL", "NonKeyAttributes": ["a"]}, "NonKeyAttributes"),
        ({"ProjectionType": "INCLUDE"}, "NonKeyAttributes"),
        ({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "a"]}, "Duplicate"),
        ({}, "ProjectionType"),
    ]:
        index = {"IndexName": "gsi", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}], "Projection": projection}
        code, message = await _error(port, "CreateTable", **create, GlobalSecondaryIndexes=[index])
        assert code == "ValidationException" and fragment in message, projection
    made = await _call(port, "CreateTable", **{**create, "AttributeDefinitions": create["AttributeDefinitions"][:1]})
    assert made["TableDescription"]["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"]
    gone = (await _call(port, "DeleteTable", TableName="made"))["TableDescription"]
    assert not {"KeySchema", "AttributeDefinitions", "CreationDateTime"} & set(gone)
    backups = await _call(port, "DescribeContinuousBackups", TableName=H)
    assert backups["ContinuousBackupsDescription"]["ContinuousBackupsStatus"] == "DISABLED"
    code, _ = await _error(port, "DescribeContinuousBackups", TableName="missing-table")
    assert code == "TableNotFoundException"
    endpoints = (await _call(port, "DescribeEndpoints"))["Endpoints"]
    assert endpoints == [{"Address": f"127.0.0.1:{port}", "CachePeriodInMinutes": 1440}]
    code, message = await _error(
        port, "UpdateTimeToLive", TableName=H, TimeToLiveSpecification={"AttributeName": "", "Enabled": True}
    )
    assert "length" in message


# --- tags ----------------------------------------------------------------------------------------


async def test_conformance_tags_round_trip_limits_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    async with (
        Database(path) as db,
        TableStore(db, clock=FakeClock(), app_name="app", tables=[HASH]) as store,
        tables_port(store) as port,
    ):
        arn = (await _call(port, "DescribeTable", TableName=H))["Table"]["TableArn"]
        await _call(port, "TagResource", ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}])
        await _call(port, "TagResource", ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}])
        await _call(port, "UntagResource", ResourceArn=arn, TagKeys=["b", "never-there"])
        status, body = await _raw(
            port, "TagResource", json.dumps({"ResourceArn": arn, "Tags": [{"Key": "c", "Value": "3"}]}).encode()
        )
        assert status == 200 and body is None  # DynamoDB answers with no body at all
        for tags, code in [
            ([{"Key": "", "Value": "x"}], "ValidationException"),
            ([{"Key": "k" * 129, "Value": "x"}], "ValidationException"),
            ([{"Key": "k", "Value": "v" * 257}], "ValidationException"),
            ([{"Key": "bad#", "Value": "x"}], "ValidationException"),
            ([{"Key": "k"}], "ValidationException"),
            ([{"Key": f"n{i}", "Value": "x"} for i in range(49)], "ValidationException"),  # 51 with a and c
        ]:
            assert (await _error(port, "TagResource", ResourceArn=arn, Tags=tags))[0] == code
        assert (await _error(port, "TagResource", ResourceArn=arn + "x", Tags=[{"Key": "k", "Value": "v"}]))[0] == (
            "ResourceNotFoundException"
        )
        code, message = await _error(port, "TagResource", ResourceArn="nope", Tags=[{"Key": "k", "Value": "v"}])
        assert code == "ValidationException" and "ARNs" in message
        code, message = await _error(port, "ListTagsOfResource", ResourceArn=arn + "/index/gsi")
        assert code == "ValidationException" and "ResourceArn" in message
    async with (
        Database(path) as db,
        TableStore(db, clock=FakeClock(), app_name="app", tables=[HASH]) as store,
        tables_port(store) as port,
    ):
        listed = await _call(port, "ListTagsOfResource", ResourceArn=arn)
        assert listed["Tags"] == [{"Key": "a", "Value": "2"}, {"Key": "c", "Value": "3"}]


async def test_conformance_create_table_with_tags_all_or_nothing(port: int) -> None:
    create = {
        "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    code, _ = await _error(
        port, "CreateTable", TableName="tagged", Tags=[{"Key": str(i), "Value": "v"} for i in range(51)], **create
    )
    assert code == "ValidationException"
    assert (await _error(port, "DescribeTable", TableName="tagged"))[0] == "ResourceNotFoundException"
    made = await _call(port, "CreateTable", TableName="tagged", Tags=[{"Key": "team", "Value": "x"}], **create)
    listed = await _call(port, "ListTagsOfResource", ResourceArn=made["TableDescription"]["TableArn"])
    assert listed["Tags"] == [{"Key": "team", "Value": "x"}]


# --- no 5xx from any input -----------------------------------------------------------------------


def _put_body(attribute: str) -> bytes:
    return ('{"TableName": "' + H + '", "Item": {"p": {"S": "x"}, "a": ' + attribute + "}}").encode()


def _nested_condition_body(depth: int) -> bytes:
    """An UpdateItem whose condition is `a<b` inside `depth` parentheses."""
    return json.dumps(
        {
            "TableName": H,
            "Key": {"p": {"S": "x"}},
            "UpdateExpression": "SET z = :v",
            "ConditionExpression": "(" * depth + "a<b" + ")" * depth,
            "ExpressionAttributeValues": {":v": {"N": "1"}},
        }
    ).encode()


@pytest.mark.parametrize(
    ("operation", "body", "status", "code"),
    [
        pytest.param(
            "PutItem",
            _put_body('{"M": ' + '{"a": {"M": ' * 40 + "{}" + "}}" * 40 + "}"),
            400,
            "ValidationException",
            id="maps-40-deep",
        ),
        pytest.param(
            "PutItem",
            _put_body('{"M": ' + '{"a": {"M": ' * 900 + "{}" + "}}" * 900 + "}"),
            400,
            "SerializationException",
            id="json-1800-deep",
        ),
        pytest.param(
            "PutItem",
            _put_body('{"":' * 200_000 + "{}" + "}" * 200_000),
            400,
            "SerializationException",
            id="json-200000-deep",
        ),
        pytest.param("PutItem", _put_body('{"S": "\\ud800"}'), 400, "SerializationException", id="lone-surrogate"),
        pytest.param("PutItem", _put_body('{"N": "1e1000000"}'), 400, "ValidationException", id="huge-exponent"),
        pytest.param(
            "PutItem",
            _put_body('{"N": "1e99999999999999999999999"}'),
            400,
            "ValidationException",
            id="exponent-beyond-decimal",
        ),
        pytest.param(
            "UpdateItem", _nested_condition_body(20_000), 400, "ValidationException", id="deep-long-expression"
        ),
        pytest.param(
            "UpdateItem", _nested_condition_body(2000), 400, "ValidationException", id="deep-short-expression"
        ),
        pytest.param(
            "PutItem", _put_body('{"S": "' + " " * (17 * 1024 * 1024) + '"}'), 413, "RequestEntityTooLarge", id="17-mb"
        ),
    ],
)
async def test_conformance_hostile_requests_get_4xx(
    port: int, operation: str, body: bytes, status: int, code: str
) -> None:
    got, answer = await _raw(port, operation, body)
    assert got == status
    assert answer["__type"] == f"com.amazonaws.dynamodb.v20120810#{code}"
    assert (await _call(port, "GetItem", TableName=H, Key={"p": S("x")})).get("Item") is None  # nothing stored


async def test_conformance_undecodable_body_is_a_400(port: int) -> None:
    """DynamoDB answers 500 to a body that is not the gzip it says it is; a client's mistake is a 400 here."""
    body = json.dumps({"TableName": H, "Item": {"p": {"S": "gz"}}}).encode()
    status, answer = await _raw(port, "PutItem", body, headers={"Content-Encoding": "gzip"})
    assert status == 400 and answer["__type"].endswith("#SerializationException")
    assert "Item" not in await _call(port, "GetItem", TableName=H, Key={"p": S("gz")})


async def test_conformance_update_table_indexes(port: int) -> None:
    await _call(port, "PutItem", TableName=H, Item={"p": S("s"), "x": S("yes")})
    await _call(port, "PutItem", TableName=H, Item={"p": S("n"), "x": N("1")})  # x of another type
    await _call(port, "PutItem", TableName=H, Item={"p": S("e"), "x": S("")})  # empty: no index key
    await _call(port, "PutItem", TableName=H, Item={"p": S("l"), "x": S("a" * 2049)})  # too long for a key
    create = {
        "IndexName": "byx",
        "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    definitions = [{"AttributeName": "x", "AttributeType": "S"}]
    await _call(
        port,
        "UpdateTable",
        TableName=H,
        AttributeDefinitions=definitions,
        GlobalSecondaryIndexUpdates=[{"Create": create}],
    )
    scanned = await _call(port, "Scan", TableName=H, IndexName="byx")
    assert [item["p"] for item in scanned["Items"]] == [S("s")]  # the backfill skips what a write would refuse
    code, message = await _error(port, "UpdateTable", TableName=H)
    assert code == "ValidationException" and "UpdateTable" in message
    code, message = await _error(port, "UpdateTable", TableName=H, GlobalSecondaryIndexUpdates=[{}])
    assert code == "ValidationException" and "GlobalSecondaryIndexUpdate" in message
    two = [{"Create": {**create, "IndexName": f"i{n}"}} for n in range(2)]
    code, _ = await _error(
        port, "UpdateTable", TableName=H, AttributeDefinitions=definitions, GlobalSecondaryIndexUpdates=two
    )
    assert code == "LimitExceededException"
    code, message = await _error(
        port,
        "UpdateTable",
        TableName=H,
        AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[{"Create": {**create, "IndexName": "other"}}],
    )
    assert code == "ValidationException" and "redefined" in message


async def test_conformance_batch_get_charges_every_key(port: int) -> None:
    got = await _call(
        port, "BatchGetItem", RequestItems={H: {"Keys": [{"p": S("absent")}]}}, ReturnConsumedCapacity="INDEXES"
    )
    assert got["ConsumedCapacity"] == [{"TableName": H, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}}]


async def test_conformance_wire_answers_pass_stored_items_through_unchanged() -> None:
    """A Query or Scan without filter or projection sends the stored JSON as it is: the same items,
    Count, LastEvaluatedKey and capacity as the decoded answer an in-process caller gets."""
    async with (
        Database(None) as db,
        TableStore(db, clock=FakeClock(), app_name="app", tables=[HASH, SORTED]) as store,
        tables_port(store) as port,
    ):
        for i in range(5):
            item = {"p": S("v"), "c": N(str(i)), "m": {"M": {"é": {"L": [N("1.5"), {"NULL": True}]}}}}
            await store.call("PutItem", {"TableName": SO, "Item": item})
        cases: list[tuple[str, dict[str, Any]]] = [
            (
                "Query",
                {"KeyConditionExpression": "p = :p", "ExpressionAttributeValues": {":p": S("v")}, "Limit": 3},
            ),
            ("Scan", {"ReturnConsumedCapacity": "TOTAL"}),
        ]
        for operation, request in cases:
            direct = await store.call(operation, {"TableName": SO, **request})
            wire = await _call(port, operation, TableName=SO, **request)
            wire.pop("ResponseMetadata")
            assert wire == direct and direct["Items"][0]["m"]["M"]["é"]["L"][0] == N("1.5")


async def test_conformance_index_projection_refuses_unprojected_attributes(port: int) -> None:
    index = {
        "IndexName": "inc",
        "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
    }
    await _call(
        port,
        "CreateTable",
        TableName="projected",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "x", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[index],
        BillingMode="PAY_PER_REQUEST",
    )
    await _call(port, "PutItem", TableName="projected", Item={"p": S("1"), "x": S("k"), "a": S("A"), "b": S("B")})
    query = {"TableName": "projected", "IndexName": "inc", "KeyConditionExpression": "x = :x"}
    values = {":x": S("k")}
    got = await _call(port, "Query", ProjectionExpression="a", ExpressionAttributeValues=values, **query)
    assert got["Items"] == [{"a": S("A")}]
    code, message = await _error(port, "Query", ProjectionExpression="b", ExpressionAttributeValues=values, **query)
    assert code == "ValidationException" and "does not project" in message


async def test_conformance_update_checks_its_condition_before_its_operands(port: int) -> None:
    """`SET n = n + :one` under `attribute_exists(p)` on a missing item: DynamoDB answers the condition
    (ConditionalCheckFailed), which code that counts only existing items relies on; the missing operand's
    ValidationException comes only when the condition holds. The same inside a transaction."""
    update: dict[str, Any] = {
        "UpdateExpression": "SET n = n + :one",
        "ExpressionAttributeValues": {":one": N("1")},
        "ConditionExpression": "attribute_exists(p)",
    }
    code, _ = await _error(port, "UpdateItem", TableName=H, Key={"p": S("nobody")}, **update)
    assert code == "ConditionalCheckFailedException"
    transact = [{"Update": {"TableName": H, "Key": {"p": S("nobody")}, **update}}]
    code, message = await _error(port, "TransactWriteItems", TransactItems=transact)
    assert code == "TransactionCanceledException" and "ConditionalCheckFailed" in message
    await _call(port, "PutItem", TableName=H, Item={"p": S("somebody")})
    code, message = await _error(port, "UpdateItem", TableName=H, Key={"p": S("somebody")}, **update)
    assert code == "ValidationException" and "refers to an attribute that does not exist" in message
