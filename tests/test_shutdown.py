"""Stopping and resetting: every port stops accepting at once, in-flight requests share one grace
period and any still running then gets a 503; `reset` refuses while a sandbox holds the data."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from sandbox.cli import cli
from sandbox.config import SandboxConfig
from sandbox.console import banner
from sandbox.errors import StartupError
from sandbox.sandbox import Sandbox

APP = "@app\nstop-test\n\n@http\nget /quick\nget /stuck\n"
HANDLERS = {
    "get-quick": "import asyncio\nasync def handler(event, context):\n    await asyncio.sleep(0.3)\n    return 'done'\n",
    "get-stuck": "import asyncio\nasync def handler(event, context):\n    await asyncio.sleep(600)\n",
}


def make_app(root: Path) -> Path:
    (root / "app.arc").write_text(APP)
    for name, code in HANDLERS.items():
        (root / "src" / "http" / name).mkdir(parents=True)
        (root / "src" / "http" / name / "lambda.py").write_text(code)
        (root / "src" / "http" / name / "config.arc").write_text("@aws\ntimeout 900\n")
    return root


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_shutdown_under_load_stops_every_port_at_once_finishes_what_it_can_and_503s_the_rest(
    tmp_path: Path,
) -> None:
    sb = Sandbox(SandboxConfig.ephemeral(make_app(tmp_path), shutdown_grace=3.0))
    await sb.start()
    ports = dict(sb.ports)
    async with aiohttp.ClientSession(sb.url) as session:
        stuck = asyncio.ensure_future(session.get("/stuck"))
        quick = [asyncio.ensure_future(session.get("/quick")) for _ in range(5)]
        assert sb.listeners is not None
        await sb.listeners.until_in_flight(6)  # every request has reached its handler
        stopping = asyncio.ensure_future(sb.stop())
        answers = await asyncio.gather(*quick)
        assert [(r.status, await r.text()) for r in answers] == [(200, "done")] * 5  # within the grace
        assert [await refused(ports[s]) for s in ("http", "events", "tables", "internal")] == [True] * 4
        assert not stopping.done()  # /stuck holds the grace period
        response = await stuck
        assert response.status == 503  # answered, not dropped
        await stopping


async def test_reset_refuses_while_a_sandbox_runs_on_the_app_and_works_once_it_stopped(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    config = SandboxConfig.ephemeral(app, memory=False)
    async with Sandbox(config):
        result = CliRunner().invoke(cli, ["reset", str(app), "--yes"])
        assert result.exit_code == 1
        assert "a sandbox is running on this app" in result.output and "stop it" in result.output
        assert (app / ".sandbox" / "data.db").exists()
        with pytest.raises(StartupError, match="another arc-sandbox"):
            await Sandbox(config).start()  # a second one on the same data is refused too
    result = CliRunner().invoke(cli, ["reset", str(app), "--yes"])
    assert result.exit_code == 0, result.output
    assert not (app / ".sandbox").exists()


async def test_binding_beyond_loopback_warns_what_becomes_reachable_and_the_banner_says_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="arc_sandbox"):
        async with Sandbox(SandboxConfig.ephemeral(make_app(tmp_path), host="0.0.0.0")) as sb:
            shown = banner(sb, verbose=False)
    (warning,) = [r.getMessage() for r in caplog.records if "other machines" in r.getMessage()]
    assert "every network interface" in warning and "tables" in warning and "events" in warning
    assert "Bound to 0.0.0.0 (every network interface)" in shown
