"""The PyPI package architect-functions (`import arc`), unmodified, against a started sandbox:
discovery over the SSM emulation, tables through boto3, events and queues to the subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import SandboxConfig
from sandbox.pytest_plugin import _reset_architect_functions
from sandbox.sandbox import Sandbox

APP = """
@app
af-test

@events
ping

@queues
jobs

@tables
notes
  noteID *String
"""
HANDLER = """
import arc

def handler(event, context):
    for payload in ([arc.events.parse(event)] if "Sns" in event["Records"][0] else [arc.queues.parse(event)]):
        arc.tables.table("notes").put_item(Item={{"noteID": payload["id"], "via": "{kind}"}})
"""


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    monkeypatch.setenv("_TESTING", "1")  # architect-functions caches discovery unless told it is testing
    _reset_architect_functions()  # and caches its tables port: each test's sandbox has new ports
    app = tmp_path / "app"
    for kind, name in (("events", "ping"), ("queues", "jobs")):
        (app / "src" / kind / name).mkdir(parents=True)
        (app / "src" / kind / name / "lambda.py").write_text(HANDLER.format(kind=kind))
    (app / "app.arc").write_text(APP)
    config = SandboxConfig.ephemeral(app)
    async with Sandbox(config) as sb:
        for key, value in sb.app_environment().client().items():  # this test's process is a client too
            monkeypatch.setenv(key, value)
        yield sb


async def test_architect_functions_discovers_services_and_uses_tables(sandbox: Sandbox) -> None:
    import arc

    def script() -> dict[str, Any]:
        services = arc.services()
        table = arc.tables.table("notes")
        table.put_item(Item={"noteID": "n1", "body": "hello", "n": 2})
        return {"services": services, "item": table.get_item(Key={"noteID": "n1"})["Item"]}

    result = await asyncio.to_thread(script)
    assert result["services"]["tables"] == {"notes": "af-test-staging-notes"}
    assert result["item"] == {"noteID": "n1", "body": "hello", "n": 2}


async def test_architect_functions_publish_reaches_subscribers(sandbox: Sandbox) -> None:
    import arc

    def script() -> None:
        assert arc.events.publish("ping", {"id": "e1"}) == "ok"
        assert arc.queues.publish("jobs", {"id": "q1"}) == "ok"

    await asyncio.to_thread(script)
    await sandbox.settle()
    rows = await sandbox.tables().notes.scan_all()
    assert sorted((r["noteID"], r["via"]) for r in rows) == [("e1", "events"), ("q1", "queues")]
