"""architect-functions (`import arc`), unmodified, inside handlers run by a started sandbox: a table
client made at module scope, `arc.http` body parsing, responses and sessions (JWE and DynamoDB), and a note passed from
an HTTP handler to an @events subscriber to an @queues consumer with `arc.events/queues.publish`."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP = Path(__file__).parent / "fixtures" / "apps" / "architect-functions"


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=["jwe", "sessions"])
async def sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    """Sessions in a JWE cookie (architect-functions' default), and in a DynamoDB table named by `.env`."""
    app_dir = shutil.copytree(APP, tmp_path_factory.mktemp("arcfn") / "app")
    if request.param == "sessions":
        with (app_dir / "app.arc").open("a") as manifest:
            manifest.write("sessions\n  _idx *String\n  _ttl TTL\n")
        (app_dir / ".env").write_text("ARC_SESSION_TABLE_NAME=sessions\n")
    async with Sandbox(SandboxConfig.ephemeral(app_dir), clock=FakeClock()) as sb:
        yield sb


async def test_a_note_goes_from_http_to_events_to_queues_through_architect_functions(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(sandbox.url) as session:
        form = {"id": "n1", "text": "three little words"}
        async with session.post("/notes", data=form, allow_redirects=False) as response:
            assert (response.status, response.headers["location"]) == (302, "/notes")
            assert response.cookies["_idx"]["httponly"]
        await sandbox.settle()
        async with session.post("/notes", json={"id": "n2", "text": "json works too"}, allow_redirects=False) as r:
            assert r.status == 302
        await sandbox.settle()

        async with session.get("/notes") as response:
            assert response.status == 200
            assert response.headers["content-encoding"] == "gzip"  # arc.http.res compresses what the client accepts
            assert response.headers["cache-control"].startswith("no-cache")
            listed = await response.json(content_type=None)
    assert listed == {
        "last": "n2",  # the session cookie the last POST set, read back
        "notes": [
            {"noteID": "n1", "text": "three little words", "steps": ["http", "event", "queue"], "words": 3},
            {"noteID": "n2", "text": "json works too", "steps": ["http", "event", "queue"], "words": 3},
        ],
    }
    if "sessions" in sandbox.store.logical_tables():
        [stored] = await sandbox.tables().sessions.scan_all()
        assert stored["last"] == "n2" and set(stored) == {"_idx", "_secret", "_ttl", "last"}
    assert [(p.pragma, p.name) for p in sandbox.bus.published] == [
        ("events", "note-added"),
        ("queues", "index-note"),
        ("events", "note-added"),
        ("queues", "index-note"),
    ]
