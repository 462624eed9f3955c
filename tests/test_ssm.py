"""SSM discovery (`sandbox.ssm`): toLogicalID, the served parameters, and boto3's SSM client against the endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import botocore.exceptions
import pytest
from aiohttp import web

from sandbox.arc._names import to_logical_id
from sandbox.ssm import Discovery, ssm_routes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("my-app-testing", "MyAppTesting", id="dashes"),
        pytest.param("arc-app-testing", "ArcAppTesting", id="default-app"),
        pytest.param("my_app-staging", "MyAppStaging", id="underscore"),
        pytest.param("myApp-testing", "MyAppTesting", id="camel"),
        pytest.param("get", "GetIndex", id="get"),
        pytest.param("x", "X", id="single"),
    ],
)
def test_to_logical_id_matches_architect(text: str, expected: str) -> None:
    assert to_logical_id(text) == expected


def _discovery(tables: dict[str, str] | None = None) -> Discovery:
    return Discovery(
        app_name=lambda: "my-app",
        arc_env="testing",
        tables=lambda: tables if tables is not None else {"notes": "my-app-staging-notes"},
        ports=lambda: {"tables": 5555, "_arc": 2222},
    )


def test_discovery_by_path_filters_by_type_and_stack() -> None:
    d = _discovery()
    assert {p["Name"] for p in d.by_path("/MyAppTesting")} == {
        "/MyAppTesting/tables/notes",
        "/MyAppTesting/ARC_SANDBOX/ports",
    }
    assert [p["Name"] for p in d.by_path("/MyAppTesting/tables")] == ["/MyAppTesting/tables/notes"]
    assert d.by_path("/ArcAppTesting/tables")[0]["Value"] == "my-app-staging-notes"
    assert d.by_path("/Other") == []
    assert d.by_path("/MyAppTesting/tables/notes") == []


@pytest.fixture
async def ssm_url() -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(ssm_routes(_discovery()))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/_arc/ssm"
    finally:
        await runner.cleanup()


def _client(url: str) -> Any:
    return boto3.client(
        "ssm", endpoint_url=url, region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x"
    )


async def test_ssm_boto3_get_parameters_by_path(ssm_url: str) -> None:
    def run() -> dict[str, str]:
        pages = _client(ssm_url).get_paginator("get_parameters_by_path").paginate(Path="/MyAppTesting", Recursive=True)
        return {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}

    params = await asyncio.to_thread(run)
    assert params["/MyAppTesting/tables/notes"] == "my-app-staging-notes"
    assert json.loads(params["/MyAppTesting/ARC_SANDBOX/ports"]) == {"tables": 5555, "_arc": 2222}


async def test_ssm_boto3_get_parameter_and_not_found(ssm_url: str) -> None:
    client = _client(ssm_url)
    found = await asyncio.to_thread(client.get_parameter, Name="/MyAppTesting/tables/notes")
    assert found["Parameter"]["Value"] == "my-app-staging-notes"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await asyncio.to_thread(client.get_parameter, Name="/MyAppTesting/tables/nope")
    assert err.value.response["Error"]["Code"] == "ParameterNotFound"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


async def test_ssm_non_post_is_404_and_bad_json_is_400(ssm_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(ssm_url) as resp:
            assert resp.status == 404
        async with session.post(ssm_url, data=b"{nope", headers={"X-Amz-Target": "AmazonSSM.GetParameter"}) as resp:
            assert resp.status == 400
            assert (await resp.json(content_type=None))["__type"] == "SerializationException"


async def test_ssm_boto3_get_parameters_reports_invalid_names(ssm_url: str) -> None:
    client = _client(ssm_url)
    names = ["/MyAppTesting/tables/notes", "/MyAppTesting/tables/nope"]
    found = await asyncio.to_thread(client.get_parameters, Names=names)
    assert [p["Name"] for p in found["Parameters"]] == names[:1]
    assert found["InvalidParameters"] == names[1:]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        await asyncio.to_thread(client.get_parameters, Names=[f"/MyAppTesting/x{n}" for n in range(11)])
    assert err.value.response["Error"]["Code"] == "ValidationException"


async def test_ssm_discovery_of_a_started_sandbox_leads_boto3_to_its_topic_and_queue(tmp_path: Path) -> None:
    """The lookups a deployed Architect app's boto3 code makes, against the internal port's root."""
    from tests.wire_app import client_factory, seen, started

    async with started(tmp_path) as sandbox:

        def script() -> dict[str, str]:
            ssm = client_factory("ssm", sandbox.ports["_arc"])()
            pages = ssm.get_paginator("get_parameters_by_path").paginate(Path="/WireAppTesting", Recursive=True)
            found = {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}
            client_factory("sns", sandbox.ports["events"])().publish(
                TopicArn=found["/WireAppTesting/events/ping"], Message="via discovery"
            )
            client_factory("sqs", sandbox.ports["events"])().send_message(
                QueueUrl=found["/WireAppTesting/queues/jobs"], MessageBody="via discovery"
            )
            return found

        found = await asyncio.to_thread(script)
        assert found["/WireAppTesting/queues/orders"].endswith("/wire-app-orders.fifo")
        await sandbox.settle()
        root = sandbox.manifest.root
        assert [e["Records"][0]["Sns"]["Message"] for e in seen(root, "events/ping")] == ["via discovery"]
        assert [e["Records"][0]["body"] for e in seen(root, "queues/jobs")] == ["via discovery"]
