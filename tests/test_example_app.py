"""The example app, booted on real sockets through the pytest plugin: the Background Tasks path."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from sandbox.clock import FakeClock
from sandbox.sandbox import Sandbox

EXAMPLE_APP = Path(__file__).resolve().parent.parent / "example-app"


@pytest.fixture
def arc_app_dir() -> Path:
    return EXAMPLE_APP


async def statuses(sandbox: Sandbox) -> list[tuple[str, str]]:
    tasks = await sandbox.tables().tasks.scan_all()
    return sorted((t["name"], t["status"]) for t in tasks)


async def test_example_app_index_lists_tasks(arc_client: aiohttp.ClientSession) -> None:
    async with arc_client.get("/") as r:
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "<form" in await r.text()


async def test_example_app_background_task_moves_through_its_statuses(
    arc_sandbox: Sandbox, arc_client: aiohttp.ClientSession, arc_clock: FakeClock
) -> None:
    async with arc_client.post("/background", data={"background": "report"}, allow_redirects=False) as r:
        assert r.status == 302
        assert r.headers["location"] == "/"
    await arc_sandbox.bus.drain(raise_on_failure=True)
    assert await statuses(arc_sandbox) == [("report", "received")]
    arc_clock.advance(10)  # received -> processing takes 3-10 s
    await arc_sandbox.bus.drain(raise_on_failure=True)
    assert await statuses(arc_sandbox) == [("report", "processing")]
    arc_clock.advance(20)  # processing -> complete takes another 10-20 s
    await arc_sandbox.bus.drain(raise_on_failure=True)
    assert await statuses(arc_sandbox) == [("report", "complete")]


async def test_example_app_settle_drives_every_task_to_complete(
    arc_sandbox: Sandbox, arc_client: aiohttp.ClientSession
) -> None:
    for name in ("a", "b", "c"):
        async with arc_client.post("/background", data={"background": name}, allow_redirects=False) as r:
            assert r.status == 302
    await arc_sandbox.settle()
    assert await statuses(arc_sandbox) == [("a", "complete"), ("b", "complete"), ("c", "complete")]
    async with arc_client.get("/tasks") as r:
        tasks = await r.json()
    assert {t["name"] for t in tasks} == {"a", "b", "c"}
    # `created` is in milliseconds, as Date.now() gives: the page's script reads it as a Number, exactly.
    assert all(isinstance(t["created"], int) and 1.5e12 < t["created"] < 2**53 for t in tasks)


async def test_example_app_rejects_an_empty_task(arc_sandbox: Sandbox, arc_client: aiohttp.ClientSession) -> None:
    async with arc_client.post("/background", data={"background": "  "}, allow_redirects=False) as r:
        assert r.status == 400
    await arc_sandbox.settle()
    assert await statuses(arc_sandbox) == []


async def test_example_app_tells_open_pages_of_each_step_over_ws(
    arc_sandbox: Sandbox, arc_client: aiohttp.ClientSession
) -> None:
    async with arc_client.get("/") as r:
        assert f"ws://localhost:{arc_sandbox.ports['http']}" in await r.text()  # where the page connects
    async with arc_client.ws_connect("/") as page:
        await arc_sandbox.settle()  # connect has stored the page
        async with arc_client.post("/background", data={"background": "live"}, allow_redirects=False) as r:
            assert r.status == 302
        await arc_sandbox.settle()
        told = [json.loads((await page.receive(timeout=10)).data)["status"] for _ in range(3)]
    assert told == ["received", "processing", "complete"]
    await arc_sandbox.settle()
    assert await arc_sandbox.tables().connections.scan_all() == []  # disconnect forgot the page
