"""sandbox.arc, the native handler API: helpers, subscribe wrappers, and the local-HTTP backend
against a started sandbox (the in-process backend is exercised by the example app's tests)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox import arc
from sandbox.config import SandboxConfig
from sandbox.errors import ConditionalCheckFailedError, NotFoundError
from sandbox.sandbox import Sandbox

APP = """
@app
native-test

@events
ping

@queues
jobs
  fifo false

@tables
things
  id *String
"""
RECORD = "import json\nfrom sandbox import arc\nSEEN = {seen!r}\n"


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    app = tmp_path / "app"
    for kind, name in (("events", "ping"), ("queues", "jobs")):
        folder = app / "src" / kind / name
        folder.mkdir(parents=True)
        (folder / "lambda.py").write_text(
            "from sandbox import arc\n"
            "def save(payload):\n"
            f"    arc.tables().things.put({{'id': payload['id'], 'via': '{kind}'}})\n"
            f"handler = arc.{kind}.subscribe(save)\n"
        )
    (app / "app.arc").write_text(APP)
    config = SandboxConfig.ephemeral(app)
    async with Sandbox(config) as sb:
        for key, value in sb.app_environment().client().items():  # the test plays a script's part
            monkeypatch.setenv(key, value)
        yield sb


def test_native_http_parse_body_reads_json_forms_text_and_binary() -> None:
    assert arc.http.parse_body({"headers": {"content-type": "application/json"}, "body": '{"a": 1}'}) == {"a": 1}
    form = base64.b64encode(b"background=x&tag=1&tag=2").decode()
    event = {"headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": form, "isBase64Encoded": True}
    assert arc.http.parse_body(event) == {"background": "x", "tag": ["1", "2"]}
    assert arc.http.parse_body({"headers": {"content-type": "text/plain"}, "body": "hi"}) == "hi"
    raw = base64.b64encode(b"\x00\x01").decode()
    binary = {"headers": {"content-type": "application/octet-stream"}, "body": raw, "isBase64Encoded": True}
    assert arc.http.parse_body(binary) == {"base64": raw}
    assert arc.http.parse_body({"headers": {}}) == {}


def test_native_http_response_shortcuts() -> None:
    page = arc.http.response(html="<p>x</p>")
    assert (page["statusCode"], page["headers"]["content-type"], page["body"]) == (
        200,
        "text/html; charset=utf8",
        "<p>x</p>",
    )
    data = arc.http.response(json={"a": [1]}, status=201)
    assert (data["statusCode"], json.loads(data["body"])) == (201, {"a": [1]})
    assert arc.http.response(text="no", status=400)["headers"]["content-type"].startswith("text/plain")
    assert arc.http.redirect("/")["headers"]["location"] == "/"
    assert arc.http.response(location="/x")["statusCode"] == 302


def test_native_events_subscribe_and_parse() -> None:
    seen: list[Any] = []
    handler = arc.events.subscribe(seen.append)
    event = {"Records": [{"Sns": {"Message": '{"n": 1}'}}, {"Sns": {"Message": '{"n": 2}'}}]}
    handler(event, None)
    assert seen == [{"n": 1}, {"n": 2}]
    assert arc.events.parse(event) == [{"n": 1}, {"n": 2}]
    assert arc.events.parse({"Records": [{"Sns": {"Message": '"solo"'}}]}) == "solo"


async def test_native_async_subscribe() -> None:
    seen: list[Any] = []

    async def collect(payload: Any) -> None:
        seen.append(payload)

    handler = arc.events.subscribe(collect)
    await handler({"Records": [{"Sns": {"Message": "[1]"}}]}, None)
    assert seen == [[1]]


def test_native_queues_subscribe_reports_failed_records_only() -> None:
    def work(payload: dict[str, Any]) -> None:
        if payload.get("bad"):
            raise ValueError("bad record")

    handler = arc.queues.subscribe(work)
    event = {"Records": [{"messageId": "m1", "body": "{}"}, {"messageId": "m2", "body": '{"bad": true}'}]}
    assert handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert arc.queues.parse(event) == [{}, {"bad": True}]


async def test_native_local_http_backend_publishes_and_reads_tables(sandbox: Sandbox) -> None:
    """A script in another process: ARC_SANDBOX is set (as `Sandbox.app_environment().client()` gives it)."""

    def script() -> dict[str, Any]:
        event_id = arc.events.publish("ping", {"id": "from-event"})
        message_id = arc.queues.publish("jobs", {"id": "from-queue"}, delay_seconds=0)
        assert event_id != "ok" and len(event_id) == 36  # the message id, as in every backend
        assert message_id != "ok" and len(message_id) == 36
        tables = arc.tables()
        tables.things.put({"id": "direct", "count": 3, "ratio": Decimal("0.5"), "tags": {"a", "b"}})
        with pytest.raises(NotFoundError):
            arc.events.publish("nope", {})
        with pytest.raises(ConditionalCheckFailedError):
            tables.things.put({"id": "direct"}, ConditionExpression="attribute_not_exists(id)")
        return {"got": tables.things.get({"id": "direct"}), "names": tables.reflect()}

    result = await asyncio.to_thread(script)
    assert result["got"] == {"id": "direct", "count": 3, "ratio": Decimal("0.5"), "tags": {"a", "b"}}
    assert result["names"] == {"things": "native-test-staging-things"}
    await sandbox.settle()
    rows = await sandbox.tables().things.scan_all()
    assert sorted((r["id"], r.get("via")) for r in rows) == [
        ("direct", None),
        ("from-event", "events"),
        ("from-queue", "queues"),
    ]


async def test_native_async_forms_in_process(sandbox: Sandbox) -> None:
    from sandbox.runtime import CURRENT_SERVICES

    token = CURRENT_SERVICES.set(sandbox._services())
    try:
        await arc.events.publish_async("ping", {"id": "async"})
        client = await arc.tables_async()
        await sandbox.settle()
        assert (await client.things.get({"id": "async"})) == {"id": "async", "via": "events"}
        with pytest.raises(RuntimeError, match="deadlock"):
            arc.events.publish("ping", {"id": "sync-on-core-loop"})
    finally:
        CURRENT_SERVICES.reset(token)
