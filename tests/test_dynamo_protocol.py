"""The DynamoDB JSON 1.0 endpoint with real clients: boto3's client and resource `Table`, raw HTTP for the
wire details (crc32, error shapes), and `architect-functions` finding a table through SSM discovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import zlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import boto3
import botocore.exceptions
import pytest
from aiohttp import web
from boto3.dynamodb.conditions import Attr, Key

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.model import KeyAttr, TableSpec
from sandbox.ssm import Discovery, ssm_routes
from sandbox.store import TableStore
from tests.tables_port import tables_port

SPEC = TableSpec(name="things", partition_key=KeyAttr("pk", "S"), sort_key=KeyAttr("sk", "N"))
TABLE = "app-staging-things"
KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "dummy", "aws_secret_access_key": "dummy"}


async def _listen(routes: list[web.RouteDef], stack: list[web.AppRunner]) -> int:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stack.append(runner)
    port: int = runner.addresses[0][1]
    return port


@pytest.fixture
async def ports() -> AsyncIterator[dict[str, int]]:
    runners: list[web.AppRunner] = []
    async with (
        Database(None) as db,
        TableStore(db, clock=FakeClock(), app_name="app", tables=[SPEC]) as store,
        contextlib.AsyncExitStack() as stack,
    ):
        found: dict[str, int] = {}
        found["tables"] = await stack.enter_async_context(tables_port(store))
        discovery = Discovery(
            app_name=lambda: "app", arc_env="testing", tables=store.logical_tables, ports=lambda: found
        )
        found["_arc"] = await _listen(ssm_routes(discovery), runners)
        try:
            yield found
        finally:
            for runner in reversed(runners):
                await runner.cleanup()


def _client(port: int) -> Any:
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **KEYS)


async def test_protocol_boto3_client_round_trip(ports: dict[str, int]) -> None:
    def run() -> tuple[Any, Any]:
        c = _client(ports["tables"])
        c.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"SS": ["x", "y"]}})
        got = c.get_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
        q = c.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
        return got, q

    got, q = await asyncio.to_thread(run)
    assert got["Item"]["v"] == {"SS": ["x", "y"]}
    assert q["Count"] == 1 and q["Items"][0]["sk"] == {"N": "1"}


async def test_protocol_errors_reach_boto3_with_codes_and_extras(ports: dict[str, int]) -> None:
    c = _client(ports["tables"])
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    await asyncio.to_thread(c.put_item, TableName=TABLE, Item=item)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await asyncio.to_thread(
            c.put_item,
            TableName=TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert err.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert dict(err.value.response)["Item"] == item
    with pytest.raises(botocore.exceptions.ClientError) as err:
        check = {"TableName": TABLE, "Key": item, "ConditionExpression": "attribute_not_exists(pk)"}
        await asyncio.to_thread(c.transact_write_items, TransactItems=[{"ConditionCheck": check}])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert err.value.response["CancellationReasons"] == [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    ]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await asyncio.to_thread(c.get_item, TableName="missing", Key=item)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await asyncio.to_thread(c.put_item, TableName=TABLE, Item={"pk": {"N": "1"}, "sk": {"N": "1"}})
    assert err.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
    }


async def test_protocol_wire_details(ports: dict[str, int]) -> None:
    url = f"http://127.0.0.1:{ports['tables']}/"
    async with aiohttp.ClientSession() as http:
        headers = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
        async with http.post(url, data=b"{}", headers=headers) as resp:
            body = await resp.read()
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/x-amz-json-1.0"
            assert resp.headers["x-amz-crc32"] == str(zlib.crc32(body))
            first_id = resp.headers["x-amzn-RequestId"]
            assert json.loads(body)["TableNames"] == ["app-production-things", TABLE]
        async with http.post(url, data=b"{oops", headers=headers) as resp:
            assert resp.status == 400
            second_id = resp.headers["x-amzn-RequestId"]  # errors have one too, and each answer its own
            assert first_id != second_id
            assert re.fullmatch("[A-Z2-7]{32}[0-9]{20}", first_id) and re.fullmatch("[A-Z2-7]{32}[0-9]{20}", second_id)
            assert (await resp.json(content_type=None))["__type"] == (
                "com.amazonaws.dynamodb.v20120810#SerializationException"
            )
        unknown = {**headers, "X-Amz-Target": "DynamoDB_20120810.Nope"}
        async with http.post(url, data=b"{}", headers=unknown) as resp:
            assert resp.status == 400
            assert (await resp.json(content_type=None))["__type"].endswith("#UnknownOperationException")


async def test_protocol_boto3_resource_table(ports: dict[str, int]) -> None:
    def run() -> tuple[Any, Any, Any]:
        table = boto3.resource("dynamodb", endpoint_url=f"http://127.0.0.1:{ports['tables']}", **KEYS).Table(TABLE)
        with table.batch_writer() as writer:
            for i in range(30):
                writer.put_item(Item={"pk": "r", "sk": i, "price": Decimal("1.10") * i, "odd": i % 2 == 1})
        got = table.get_item(Key={"pk": "r", "sk": 3})["Item"]
        q = table.query(
            KeyConditionExpression=Key("pk").eq("r") & Key("sk").between(10, 14), FilterExpression=Attr("odd").eq(True)
        )
        table.update_item(
            Key={"pk": "r", "sk": 3},
            UpdateExpression="SET price = price + :d",
            ExpressionAttributeValues={":d": Decimal("0.01")},
        )
        return got, q, table.get_item(Key={"pk": "r", "sk": 3})["Item"]

    got, q, updated = await asyncio.to_thread(run)
    assert got == {"pk": "r", "sk": Decimal(3), "price": Decimal("3.30"), "odd": True}
    assert [i["sk"] for i in q["Items"]] == [11, 13]
    assert (q["Count"], q["ScannedCount"]) == (2, 5)
    assert updated["price"] == Decimal("3.31")


async def test_protocol_architect_functions_finds_table_through_ssm(
    ports: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    # `arc.services` is shadowed by a function of the same name in the package; fetch the modules themselves.
    services = importlib.import_module("arc.services")
    tables = importlib.import_module("arc.tables")

    monkeypatch.setenv("ARC_ENV", "testing")
    monkeypatch.setenv("ARC_APP_NAME", "app")
    monkeypatch.setenv("ARC_SANDBOX", json.dumps({"ports": ports, "version": "5.0.0"}))
    monkeypatch.setenv("_TESTING", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "dummy")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    # architect-functions caches clients in module globals; start from a clean slate and leave one behind.
    for module, name, value in (
        (services, "_ssm_client_cache", None),
        (services, "_service_map_cache", {}),
        (tables, "_port", None),
        (tables, "_tables_cache", {}),
        (tables, "_dynamo_client_cache", None),
        (tables, "_dynamo_clients_cache", {}),
    ):
        monkeypatch.setattr(module, name, value)

    def run() -> tuple[str, Any]:
        table = tables.table("things")
        table.put_item(Item={"pk": "arc", "sk": 1, "msg": "hi"})
        return tables.name("things"), table.get_item(Key={"pk": "arc", "sk": 1})["Item"]

    name, item = await asyncio.to_thread(run)
    assert name == TABLE
    assert item == {"pk": "arc", "sk": Decimal(1), "msg": "hi"}
