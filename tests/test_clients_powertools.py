"""aws-lambda-powertools, unmodified, in handlers run by a started sandbox: APIGatewayHttpResolver
routes, the SNS and SQS event data classes, BatchProcessor's partial batch failures (only failed
records come back, and one that keeps failing is dead-lettered), and idempotency with
DynamoDBPersistenceLayer on the sandbox's tables, holding across a restart and a reload; and the
parser's pydantic models of API Gateway, SNS, SQS, EventBridge and DynamoDB Streams events accept what
the sandbox sends."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.reload import ReloadPlan
from sandbox.sandbox import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP = Path(__file__).parent / "fixtures" / "apps" / "powertools"
PIXEL = bytes(range(256))


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(APP, tmp_path_factory.mktemp("powertools") / "app"))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(app_dir: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral(app_dir), clock=FakeClock()) as sb:
        yield sb


@pytest_asyncio.fixture(loop_scope="module")
async def session(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sandbox.url) as client:
        yield client


async def fetch(session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
    async with session.request(method, path, allow_redirects=False, **kwargs) as response:
        body = await response.read()
        if response.content_type == "application/json":
            return response.status, response.headers, json.loads(body)
        return response.status, response.headers, body


async def seen(sandbox: Sandbox, prefix: str) -> dict[str, dict[str, Any]]:
    rows = await sandbox.tables().seen.scan_all()
    return {row["id"]: row for row in rows if row["id"].startswith(prefix)}


async def runs(sandbox: Sandbox, name: str) -> int:
    row = await sandbox.tables().runs.get({"name": name})
    return int(row["runs"]) if row else 0


# --- APIGatewayHttpResolver -------------------------------------------------------------------


async def test_http_resolver_routes_path_and_query_parameters(session: aiohttp.ClientSession) -> None:
    status, _, body = await fetch(session, "GET", "/api/todos?limit=1&tag=a&tag=b")
    assert (status, body) == (200, {"todos": [{"id": "1", "title": "write tests"}], "tags": ["a", "b"]})
    status, _, body = await fetch(session, "GET", "/api/todos/1")
    assert (status, body) == (200, {"id": "1", "title": "write tests"})


async def test_http_resolver_answers_its_own_errors(session: aiohttp.ClientSession) -> None:
    status, _, body = await fetch(session, "GET", "/api/todos/404")
    assert (status, body) == (404, {"statusCode": 404, "message": "no todo 404"})
    status, _, body = await fetch(session, "GET", "/api/nothing-here")
    assert (status, body) == (404, {"statusCode": 404, "message": "Not found"})
    status, _, body = await fetch(session, "POST", "/api/todos", json={"no": "title"})
    assert (status, body) == (400, {"statusCode": 400, "message": "a todo needs a title"})


async def test_http_resolver_json_body_and_cookies_both_ways(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(sandbox.url) as session:  # a fresh cookie jar
        status, headers, body = await fetch(session, "POST", "/api/todos", json={"title": "ship it"})
        assert (status, body) == (201, {"id": "2", "title": "ship it"})
        assert headers.getall("set-cookie") == ["last=2"]
        status, _, body = await fetch(session, "GET", "/api/whoami", headers={"x-agent": "tests"})
    assert (status, body) == (200, {"cookies": ["last=2"], "agent": "tests"})


async def test_http_resolver_binary_body_and_cors(session: aiohttp.ClientSession) -> None:
    status, headers, body = await fetch(session, "GET", "/api/pixel", headers={"origin": "https://example.com"})
    assert (status, headers["content-type"], body) == (200, "image/png", PIXEL)
    assert headers["access-control-allow-origin"] == "https://example.com"
    preflight = {"origin": "https://example.com", "access-control-request-method": "POST"}
    status, headers, _ = await fetch(session, "OPTIONS", "/api/todos", headers=preflight)
    assert (status, headers["access-control-max-age"]) == (204, "300")
    assert "POST" in headers["access-control-allow-methods"]


TRACE_HEADER = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0")


async def test_tracer_gets_a_trace_header_per_invocation_as_on_lambda(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="arc_sandbox.invoke.output")
    traces = [(await fetch(session, "GET", "/api/trace"))[2]["trace"] for _ in range(2)]
    assert all(TRACE_HEADER.fullmatch(trace) for trace in traces) and traces[0] != traces[1]
    # Without the header the X-Ray SDK under Tracer warns on every call ("Subsegment ... discarded ...").
    assert [r.getMessage() for r in caplog.records if "discarded" in r.getMessage()] == []


# --- SNS and SQS data classes, BatchProcessor --------------------------------------------------


async def test_sns_event_data_class_reads_what_was_published(sandbox: Sandbox) -> None:
    message_id = await sandbox.bus.publish(
        "order-placed", {"order": "o-1"}, subject="new order", attributes={"channel": "web"}
    )
    await sandbox.settle()
    got = (await seen(sandbox, "sns:"))[f"sns:{message_id}"]
    assert json.loads(got.pop("message")) == {"order": "o-1"}
    assert got == {
        "id": f"sns:{message_id}",
        "subject": "new order",
        "topic": "arn:aws:sns:us-west-2:123456789012:powertools-app-order-placed",
        "attributes": {"channel": "web"},
        "source": "aws:sns",
        "type": "Notification",
    }


async def test_batch_processor_partial_failures_retry_only_the_failed_records(sandbox: Sandbox) -> None:
    jobs: list[dict[str, Any]] = [
        {"id": "ok-1"},
        {"id": "flaky", "fail_times": 1},
        {"id": "ok-2"},
        {"id": "doomed", "fail_times": 99},
    ]
    for job in jobs:
        await sandbox.bus.send_message("work", job)
    results = await sandbox.settle(raise_on_failure=False)

    assert {job["id"]: await runs(sandbox, f"work:{job['id']}") for job in jobs} == {
        "ok-1": 1,
        "flaky": 2,
        "ok-2": 1,
        "doomed": sandbox.bus.max_receive_count,
    }
    # The first batch held all four (the batch window gathered them); each retry only what failed.
    assert sorted(int(b["size"]) for b in (await seen(sandbox, "batch:")).values()) == [1, 2, 4]
    assert [(r.ok, len(r.message_ids), len(r.failed_ids)) for r in results] == [
        (False, 4, 2),
        (False, 2, 1),
        (False, 1, 0),
    ]
    assert [r.error for r in results[:2]] == [
        "partial batch failure: 2 of 4 failed",
        "partial batch failure: 1 of 2 failed",
    ]
    # Every record of the last batch failed: BatchProcessor raises, and the whole invocation fails.
    assert str(results[2].error).startswith("work raised BatchProcessingError: All records failed processing.")
    records = await seen(sandbox, "work:")
    assert [records[f"work:doomed:{n}"]["receive_count"] for n in (1, 2, 3)] == ["1", "2", "3"]
    assert records["work:ok-1:1"]["source"] == "aws:sqs"
    assert records["work:ok-1:1"]["queue_url"] == "https://sqs.us-west-2.amazonaws.com/123456789012/powertools-app-work"
    [letter] = sandbox.bus.dead_letters()
    assert (letter.name, letter.payload, letter.attempts) == ("work", jobs[3], sandbox.bus.max_receive_count)
    assert sandbox.bus.pending() == [] and sandbox.bus.in_flight() == []


# --- idempotency -------------------------------------------------------------------------------


async def post_order(sb: Sandbox, order: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession(sb.url) as session:
        status, _, body = await fetch(session, "POST", "/orders", json={"id": order})
    return status, body


async def test_idempotency_holds_across_a_restart_and_a_reload(app_dir: Path, tmp_path: Path) -> None:
    config = SandboxConfig.ephemeral(app_dir, memory=False, db_path=tmp_path / "tables.db")
    async with Sandbox(config) as first:
        status, stored = await post_order(first, "o-1")
        assert (status, stored["runs"]) == (201, 1)
        assert await post_order(first, "o-1") == (201, stored)

    async with Sandbox(config) as second:
        assert await post_order(second, "o-1") == (201, stored)
        handler_dir = second.manifest.root / "src" / "http" / "post-orders"
        await second.apply_reload(ReloadPlan(functions=frozenset({handler_dir})))
        assert await post_order(second, "o-1") == (201, stored)
        status, other = await post_order(second, "o-2")
        assert (status, other["runs"]) == (201, 1) and other["request_id"] != stored["request_id"]
        assert await runs(second, "order:o-1") == 1
        # The key names the function and the handler's module as Lambda imports it (`lambda`), nothing per start.
        keys = sorted(row["id"].split("#")[0] for row in await second.tables().idempotency.scan_all())
        assert keys == ["sandbox-post/orders.lambda.handler"] * 2


# --- the parser's pydantic models of AWS events --------------------------------------------------

PARSER_APP = Path(__file__).parent / "fixtures" / "apps" / "powertools-parser"


@pytest.mark.parametrize("api_type", ["http", "rest"])
async def test_powertools_parser_models_accept_every_event_the_sandbox_sends(tmp_path: Path, api_type: str) -> None:
    app_dir = Path(shutil.copytree(PARSER_APP, tmp_path / "app"))
    with (app_dir / "app.arc").open("a") as manifest:
        manifest.write(f"\n@aws\napigateway {api_type}\n")
    clock = FakeClock()
    async with Sandbox(SandboxConfig.ephemeral(app_dir), clock=clock) as sb:
        async with aiohttp.ClientSession(sb.url) as session:
            headers = {"cookie": "a=1; b=2", "x-many": "1"}
            status, _, body = await fetch(session, "POST", "/items/7?tag=a&tag=b", json={"n": 1}, headers=headers)
            assert (status, body) == (200, b"none")
        await sb.bus.publish("ping", {"n": 1}, subject="hello", attributes={"channel": "web"})
        await sb.bus.send_message("jobs", {"n": 2}, attributes={"kind": "plain"})
        await sb.bus.send_message("ordered", {"n": 3}, group_id="g1", deduplication_id="d1")
        things = sb.tables().things
        await things.put({"id": "t1", "n": 1})
        await things.update(Key={"id": "t1"}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 2})
        await things.delete({"id": "t1"})
        clock.advance(60)  # the schedule's first tick
        await sb.settle()
        checked = await sb.tables().checked.scan_all()
    assert {row["problems"] for row in checked} == {"none"}
    kinds = ["events", "http" if api_type == "http" else "rest", "queues", "queues", "scheduled"]
    # The stream's three changes come in one to three batches, depending on when the function is free.
    assert sorted(row["kind"] for row in checked if row["kind"] != "tables-streams") == sorted(kinds)
    streamed = [json.loads(row["event"])["Records"] for row in checked if row["kind"] == "tables-streams"]
    assert sorted(record["eventName"] for records in streamed for record in records) == ["INSERT", "MODIFY", "REMOVE"]
