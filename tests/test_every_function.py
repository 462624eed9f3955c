"""`Manifest.functions()`: every function of every pragma, and the three things that walk it: hot reload's
classification, the missing-handler warning and Lambda Invoke. Each once left out @ws or @tables-streams
(a saved @ws handler was never reloaded; a stream function could not be invoked over the wire)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from watchfiles import Change

from sandbox.config import SandboxConfig
from sandbox.lambdas.handler_check import missing_handlers
from sandbox.manifest import load_manifest
from sandbox.reload import classify
from sandbox.sandbox import Sandbox
from tests.wire_app import client_factory

APP = """
@app
every-fn

@http
get /

@events
ping

@queues
jobs
  fifo false
inbox
  fifo false

@scheduled
nightly rate(1 day)

@tables
notes
  id *String

@tables-streams
notes

@ws
chat
"""
HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'seen': event}\n"
FOLDERS = ("http/get-index", "events/ping", "queues/jobs", "scheduled/nightly", "tables-streams/notes",
           "ws/connect", "ws/default", "ws/disconnect", "ws/chat")  # fmt: skip


def write_app(root: Path, without: tuple[str, ...] = ()) -> Path:
    app = root / "app"
    for folder in FOLDERS:
        (app / "src" / folder).mkdir(parents=True)
        if folder not in without:
            (app / "src" / folder / "lambda.py").write_text(HANDLER)
    (app / "src" / "queues" / "inbox").mkdir(parents=True)  # no handler: clients read it
    (app / "app.arc").write_text(APP)
    return app


def test_functions_cover_every_pragma(tmp_path: Path) -> None:
    manifest = load_manifest(write_app(tmp_path))
    assert [fn.name for fn in manifest.functions()] == [
        "get /", "ping", "jobs", "inbox", "nightly", "notes", "connect", "default", "disconnect", "chat"
    ]  # fmt: skip


@pytest.mark.parametrize("folder", ["ws/chat", "ws/default", "tables-streams/notes", "http/get-index"])
def test_saving_any_functions_code_reloads_that_function(tmp_path: Path, folder: str) -> None:
    app = write_app(tmp_path)
    plan = classify([(Change.modified, str(app / "src" / folder / "lambda.py"))], load_manifest(app))
    assert plan.functions == {app / "src" / folder}


def test_missing_handlers_are_said_for_ws_and_streams_but_not_for_a_queue_clients_read(tmp_path: Path) -> None:
    app = write_app(tmp_path, without=("ws/chat", "tables-streams/notes"))
    assert [(fn.pragma, fn.name) for fn in missing_handlers(load_manifest(app))] == [
        ("tables-streams", "notes"),
        ("ws", "chat"),
    ]


@pytest.mark.parametrize("name", ["notes", "nightly", "chat"])
async def test_lambda_invoke_reaches_stream_schedule_and_ws_functions(tmp_path: Path, name: str) -> None:
    async with Sandbox(SandboxConfig.ephemeral(write_app(tmp_path), watch=False)) as sandbox:
        lam = client_factory("lambda", sandbox.ports["events"])()
        answer = await asyncio.to_thread(lam.invoke, FunctionName=name, Payload=b'{"Records": []}')
        assert json.loads(answer["Payload"].read()) == {"statusCode": 200, "seen": {"Records": []}}


async def test_the_dashboard_lists_every_function(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig.ephemeral(write_app(tmp_path), watch=False)) as sandbox:
        url = f"http://127.0.0.1:{sandbox.ports['internal']}/_dashboard/api/overview"
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            listed = (await answer.json())["functions"]
        assert listed == sorted(fn.name for fn in sandbox.manifest.functions())
        assert {"notes", "chat", "connect"} <= set(listed)  # @tables-streams and @ws were left out once
