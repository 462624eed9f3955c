"""Hot reload: the change filter, classification, and every reload case through a running sandbox,
driven by a scripted change source (no sleeps), plus one real watchfiles run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from watchfiles import Change

from sandbox.config import SandboxConfig
from sandbox.file_watch import FileChange
from sandbox.manifest import load_manifest
from sandbox.reload import Reloader, ReloadPlan, classify, should_reload
from sandbox.sandbox import Sandbox

APP = "@app\nreload-test\n\n@http\nget /a\nget /b\n\n@tables\nthings\n  id *String\n"
HANDLER = "import util\nfrom shared.names import NAME\ndef handler(event, context):\n    return f'{util.V} {NAME}'\n"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/app/src/http/get-a/lambda.py", True, id="handler"),
        pytest.param("/app/app.arc", True, id="manifest"),
        pytest.param("/app/.sandbox/data.db", False, id="data"),
        pytest.param("/app/src/http/get-a/__pycache__/x.pyc", False, id="pycache"),
        pytest.param("/app/.git/index", False, id="git"),
        pytest.param("/app/src/http/get-a/lambda.py~", False, id="backup"),
        pytest.param("/app/src/http/get-a/.lambda.py.swp", False, id="vim-swap"),
        pytest.param("/app/src/http/get-a/4913", False, id="vim-probe"),
        pytest.param("/app/node_modules/x/index.js", False, id="node_modules"),
    ],
)
def test_reload_should_reload_filters_noise(path: str, expected: bool) -> None:
    assert should_reload(Change.modified, path) is expected


def make_app(root: Path) -> Path:
    app = root / "app"
    for name, value in (("get-a", "a1"), ("get-b", "b1")):
        folder = app / "src" / "http" / name
        folder.mkdir(parents=True)
        (folder / "lambda.py").write_text(HANDLER)
        (folder / "util.py").write_text(f"V = {value!r}\n")
    (app / "src" / "shared").mkdir(parents=True)
    (app / "src" / "shared" / "names.py").write_text("NAME = 'shared1'\n")
    (app / "public").mkdir()
    (app / "app.arc").write_text(APP)
    return app


def test_reload_classify_sorts_changes_by_what_they_affect(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    manifest = load_manifest(app)

    def plan(*paths: str) -> ReloadPlan:
        return classify([(Change.modified, str(app / p)) for p in paths], manifest)

    assert plan("src/http/get-a/util.py").functions == {app / "src" / "http" / "get-a"}
    assert plan("src/shared/names.py") == ReloadPlan(shared=True)
    assert plan("app.arc").manifest and plan("src/http/get-b/config.arc").manifest and plan(".env").manifest
    assert plan("public/style.css") == ReloadPlan(static=True)
    assert plan("README.md").empty


class ScriptedChanges:
    """A change source the test feeds by hand: what watchfiles would report."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[set[FileChange]] = asyncio.Queue()

    def __aiter__(self) -> ScriptedChanges:
        return self

    async def __anext__(self) -> set[FileChange]:
        return await self.queue.get()

    def touch(self, *paths: Path) -> None:
        self.queue.put_nowait({(Change.modified, str(p)) for p in paths})


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Sandbox, ScriptedChanges, aiohttp.ClientSession, Reloader]]:
    app = make_app(tmp_path)
    config = SandboxConfig.ephemeral(app, memory=False, db_path=tmp_path / "data.db")
    changes = ScriptedChanges()
    async with Sandbox(config) as sandbox, aiohttp.ClientSession(sandbox.url) as client:
        reloader = Reloader(app, manifest=lambda: sandbox.manifest, on_change=sandbox.apply_reload, changes=changes)
        await reloader.start()
        try:
            yield sandbox, changes, client, reloader
        finally:
            await reloader.stop()


async def get(client: aiohttp.ClientSession, path: str) -> tuple[int, str]:
    async with client.get(path) as r:
        return r.status, await r.text()


async def test_reload_sibling_module_and_handler_changes_are_served_next(running) -> None:
    sandbox, changes, client, reloader = running
    app = sandbox.config.app_dir
    assert await get(client, "/a") == (200, "a1 shared1")
    (app / "src" / "http" / "get-a" / "util.py").write_text("V = 'a2'\n")
    changes.touch(app / "src" / "http" / "get-a" / "util.py")
    await asyncio.wait_for(reloader.wait_for_reload(1), 5)
    assert await get(client, "/a") == (200, "a2 shared1")
    assert await get(client, "/b") == (200, "b1 shared1")


async def test_reload_shared_code_reaches_every_function(running) -> None:
    sandbox, changes, client, reloader = running
    app = sandbox.config.app_dir
    await get(client, "/a")
    (app / "src" / "shared" / "names.py").write_text("NAME = 'shared2'\n")
    changes.touch(app / "src" / "shared" / "names.py")
    await asyncio.wait_for(reloader.wait_for_reload(1), 5)
    assert await get(client, "/a") == (200, "a1 shared2")
    assert await get(client, "/b") == (200, "b1 shared2")


async def test_reload_manifest_adds_and_removes_routes_keeping_data(running) -> None:
    sandbox, changes, client, reloader = running
    app = sandbox.config.app_dir
    await sandbox.tables().things.put({"id": "kept"})
    folder = app / "src" / "http" / "get-c"
    folder.mkdir()
    (folder / "lambda.py").write_text("def handler(e, c):\n    return 'c'\n")
    (app / "app.arc").write_text(APP.replace("get /b\n", "get /c\n") + "other\n  id *String\n")
    changes.touch(app / "app.arc")
    await asyncio.wait_for(reloader.wait_for_reload(1), 5)
    assert await get(client, "/c") == (200, "c")
    assert (await get(client, "/b"))[0] == 404  # no route now: public/ answers, as Architect's ASAP does
    assert await sandbox.tables().things.get({"id": "kept"}) == {"id": "kept"}
    await sandbox.tables().other.put({"id": "new table"})


async def test_reload_broken_manifest_keeps_the_last_good_one(running, caplog) -> None:
    sandbox, changes, client, reloader = running
    app = sandbox.config.app_dir
    (app / "app.arc").write_text(APP + "\n@http\nget /dup\n")
    changes.touch(app / "app.arc")
    await asyncio.wait_for(reloader.wait_for_reload(1), 5)
    assert await get(client, "/a") == (200, "a1 shared1")
    assert any("app.arc:" in r.getMessage() and "keeping the last good one" in r.getMessage() for r in caplog.records)


async def test_reload_with_real_file_writes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    config = SandboxConfig.ephemeral(app, watch=True)
    async with Sandbox(config) as sandbox, aiohttp.ClientSession(sandbox.url) as client:
        assert sandbox.reloader is not None
        assert await get(client, "/a") == (200, "a1 shared1")
        (app / "src" / "http" / "get-a" / "util.py").write_text("V = 'written'\n")
        await asyncio.wait_for(sandbox.reloader.wait_for_reload(1), 10)  # a hang guard, not a wait
        assert await get(client, "/a") == (200, "written shared1")
