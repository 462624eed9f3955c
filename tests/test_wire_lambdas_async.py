"""Lambda Invoke with InvocationType=Event through boto3: stored before its 202, retried on the bus's
schedule, dead-lettered, replayed, and delivered after a restart when the sandbox stopped first."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from sandbox.bus import DeliveryFailedError
from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from tests.wire_app import call, client_factory

APP = "@app\nasync-app\n\n@http\nget /flaky\n\n@events\nnotify\n"
# Each attempt notes its event beside the handler; it fails until a `fixed` file is there.
FLAKY = """
import json, pathlib
HERE = pathlib.Path(__file__).parent

def handler(event, context):
    with open(HERE / "seen.jsonl", "a") as out:
        out.write(json.dumps(event) + "\\n")
    if not (HERE / "fixed").exists():
        raise RuntimeError("not yet")
"""
BLOCKED = "import asyncio\n\nasync def handler(event, context):\n    await asyncio.sleep(600)\n"


def write_app(root: Path, notify: str) -> Path:
    app = root / "app"
    for folder, code in (("http/get-flaky", FLAKY), ("events/notify", notify)):
        (app / "src" / folder).mkdir(parents=True, exist_ok=True)
        (app / "src" / folder / "lambda.py").write_text(code)
    (app / "src" / "events" / "notify" / "config.arc").write_text("@aws\ntimeout 900\n")
    (app / "app.arc").write_text(APP)
    return app


def seen(app: Path, folder: str) -> list[Any]:
    path = app / "src" / folder / "seen.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def stored(database: Path) -> list[tuple[Any, ...]]:
    """Read by another connection, as the next run would."""
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT message_id, name, kind, attempt, payload FROM bus_events").fetchall()


async def invoke_event(sandbox: Sandbox, name: str, payload: bytes) -> str:
    lam = client_factory("lambda", sandbox.ports["events"])()
    answer = await call(lam.invoke, FunctionName=name, InvocationType="Event", Payload=payload)
    assert answer["StatusCode"] == 202
    request_id: str = answer["ResponseMetadata"]["RequestId"]
    return request_id


async def test_a_failing_async_invoke_is_retried_on_schedule_dead_lettered_and_replayed(tmp_path: Path) -> None:
    app = write_app(tmp_path, FLAKY)
    clock = FakeClock()
    async with Sandbox(SandboxConfig.ephemeral(app, watch=False), clock=clock) as sandbox:
        await invoke_event(sandbox, "sandbox-get/flaky", b'{"id": 7}')
        with pytest.raises(DeliveryFailedError, match=r"Invoke get /flaky \(Event\) \(attempt 1\)") as failed:
            await sandbox.bus.drain(raise_on_failure=True)
        assert [(r.pragma, r.name, r.attempt, r.ok) for r in failed.value.failures] == [
            ("lambda", "get /flaky", 1, False)
        ]
        assert sandbox.bus.next_due() == clock.now() + sandbox.bus.retry_delays[0]
        clock.advance(sandbox.bus.retry_delays[0] - 0.1)
        assert await sandbox.bus.drain() == []  # the backoff waits for the clock
        clock.advance(0.1)
        assert [(r.attempt, r.ok) for r in await sandbox.bus.drain()] == [(2, False)]
        clock.advance(sandbox.bus.retry_delays[1])
        assert [(r.attempt, r.ok) for r in await sandbox.bus.drain()] == [(3, False)]
        assert sandbox.bus.pending() == []
        (letter,) = sandbox.bus.dead_letters()
        assert (letter.pragma, letter.name, letter.payload, letter.attempts) == ("lambda", "get /flaky", {"id": 7}, 3)
        assert "RuntimeError: not yet" in (letter.traceback or "")
        assert seen(app, "http/get-flaky") == [{"id": 7}] * 3  # the payload itself, no envelope

        (app / "src" / "http" / "get-flaky" / "fixed").write_text("")
        dashboard = f"http://127.0.0.1:{sandbox.ports['internal']}/_dashboard/api"
        replay = {"ids": [letter.id]}
        async with (
            aiohttp.ClientSession() as session,
            session.post(dashboard + "/dead-letters/replay", json=replay) as replayed,
        ):
            assert replayed.status == 200 and (await replayed.json())["replayed"] == 1
        assert [(r.pragma, r.attempt, r.ok) for r in await sandbox.settle()] == [("lambda", 1, True)]
        assert seen(app, "http/get-flaky") == [{"id": 7}] * 4
        assert sandbox.bus.dead_letters() == []


async def test_an_acknowledged_async_invoke_survives_a_stop_and_runs_after_the_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "arc_sandbox")
    app = write_app(tmp_path, BLOCKED)
    config = SandboxConfig.ephemeral(app, watch=False, memory=False, shutdown_grace=0)
    database = config.database_path
    assert database is not None
    async with Sandbox(config, clock=FakeClock()) as sandbox:
        request_id = await invoke_event(sandbox, "notify", b'{"n": 1}')
        # Stored when the 202 came back (another connection sees it committed), as the function starts.
        assert stored(database) == [(request_id, "notify", "lambda", 1, '{"n": 1}')]
    assert "Invoke notify (Event) attempt 1 was still running at stop" in caplog.text
    assert stored(database) == [(request_id, "notify", "lambda", 1, '{"n": 1}')]

    write_app(tmp_path, FLAKY.replace('if not (HERE / "fixed").exists():\n        raise', "if False:\n        raise"))
    async with Sandbox(config, clock=FakeClock()) as sandbox:
        assert sandbox.restored["invokes"] == 1
        assert [(r.pragma, r.name, r.ok) for r in await sandbox.settle()] == [("lambda", "notify", True)]
    # The function, not the topic of the same name: the payload as given, no SNS envelope.
    assert seen(app, "events/notify") == [{"n": 1}]
    assert stored(database) == []


async def test_bad_async_invokes_store_nothing(tmp_path: Path) -> None:
    app = write_app(tmp_path, FLAKY)
    config = SandboxConfig.ephemeral(app, watch=False, memory=False)
    assert config.database_path is not None
    async with Sandbox(config, clock=FakeClock()) as sandbox:
        lam = client_factory("lambda", sandbox.ports["events"])()
        with pytest.raises(lam.exceptions.InvalidRequestContentException):
            await call(lam.invoke, FunctionName="notify", InvocationType="Event", Payload=b"{not json")
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            await call(lam.invoke, FunctionName="nope", InvocationType="Event", Payload=b"{}")
        with pytest.raises(ClientError) as too_large:  # the code Lambda answers with, not the one boto3 models
            big = json.dumps({"x": "y" * 262_144}).encode()
            await call(lam.invoke, FunctionName="notify", InvocationType="Event", Payload=big)
        assert too_large.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
        assert stored(config.database_path) == [] and sandbox.bus.pending() == []
        assert await sandbox.settle() == []
