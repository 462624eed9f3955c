"""`arc-sandbox start`'s start-up: the template launched first and adopted, the collector off while it
imports and on again after, environments that run as Lambda's do, and nothing imported at start that the
first request does not need (each import below was measured in the first request's path)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from sandbox.cli import cli
from sandbox.lambdas import early
from sandbox.lambdas.invoker import Invoker
from sandbox.lambdas.launchers import ForkServer
from sandbox.model import FunctionSpec


def function(root: Path, name: str, code: str) -> FunctionSpec:
    (root / name).mkdir(parents=True)
    (root / name / "lambda.py").write_text(textwrap.dedent(code))
    return FunctionSpec("events", name, root / name)


def environment(fn: FunctionSpec) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-west-2"}


async def test_the_first_fork_server_adopts_the_early_template_and_the_next_starts_its_own(tmp_path: Path) -> None:
    early.launch_early_template()
    waiting = early._EarlyTemplate.waiting
    assert waiting is not None
    first, second = ForkServer(), ForkServer()
    try:
        await first.start()
        await second.start()
        assert first._process is waiting.process
        # In a session of its own (as each environment is): out of the terminal's Ctrl-C, and with
        # Linux's autogroup scheduling its preloads do not share the server's CPU time at start-up.
        assert os.getsid(waiting.process.pid) == waiting.process.pid != os.getsid(0)
        assert second._process is not None and second._process is not waiting.process
        assert early._EarlyTemplate.waiting is None
    finally:
        await first.stop()
        await second.stop()


async def test_an_early_template_that_died_meanwhile_is_replaced(tmp_path: Path) -> None:
    early.launch_early_template()
    waiting = early._EarlyTemplate.waiting
    assert waiting is not None
    waiting.process.kill()
    await asyncio.to_thread(waiting.process.wait)
    fn = function(tmp_path, "alive", "import os\ndef handler(e, c):\n    return os.getppid()\n")
    launcher = ForkServer()
    async with Invoker(environment=environment, launcher=launcher) as invoker:
        assert launcher._process is not None and launcher._process is not waiting.process
        assert await invoker(fn, {}) == launcher._process.pid


async def test_environments_run_with_the_collector_on_whenever_they_were_forked(tmp_path: Path) -> None:
    """The template imports with the collector off; an environment forked meanwhile turns it back on (a
    handler's reference cycles are collected, as in Lambda), with the template's objects frozen out of reach."""
    code = "import gc\ndef handler(e, c):\n    return [gc.isenabled(), gc.get_freeze_count() > 0]\n"
    fn = function(tmp_path, "collected", code)
    async with Invoker(environment=environment, launcher=ForkServer()) as invoker:
        assert await invoker(fn, {}) == [True, True]  # forked at once: the template is still preloading
        for _ in range(3):
            invoker.invalidate()
            assert await invoker(fn, {}) == [True, True]


COLLECTOR = """
import gc, json, sys
from sandbox.cli import _collect_garbage_again
if sys.argv[1] == "off":
    gc.disable()
before = gc.get_freeze_count()
_collect_garbage_again()
print(json.dumps([gc.isenabled(), gc.get_freeze_count() > before]))
"""


def test_start_turns_the_collector_back_on_and_leaves_an_embedding_process_alone() -> None:
    def run(state: str) -> list[bool]:
        out = subprocess.run([sys.executable, "-c", COLLECTOR, state], capture_output=True, text=True, check=True)
        return list(json.loads(out.stdout))

    assert run("off") == [True, True]  # as `arc-sandbox start` left it: on again, start-up's objects frozen
    assert run("on") == [True, False]  # a test or a script that embeds the sandbox: untouched


STARTUP_IMPORTS = """
import asyncio, json, sys
from pathlib import Path
import aiohttp
import sandbox.cli
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

async def main(app):
    config = SandboxConfig.ephemeral(app, watch=True, memory=False, db_path=app / "data.db")
    async with Sandbox(config) as sb, aiohttp.ClientSession() as session:
        async with session.get(sb.url + "/") as response:
            assert response.status == 200, await response.text()
    names = ("anyio._backends._asyncio", "croniter", "dotenv", "sandbox._cli.commands")
    print(json.dumps([name for name in names if name in sys.modules]))

asyncio.run(main(Path(sys.argv[1])))
"""


def test_start_and_a_first_request_import_only_what_they_need(tmp_path: Path) -> None:
    """A watched app without cron() schedules or .env, and its first request: no anyio backend (file
    watching runs on a thread), no croniter, no python-dotenv, no CLI subcommands of a running sandbox."""
    (tmp_path / "app.arc").write_text("@app\nstartup\n\n@http\nget /\n\n@scheduled\nhourly rate(1 hour)\n")
    function(tmp_path / "src" / "http", "get-index", "def handler(e, c):\n    return 'ok'\n")
    function(tmp_path / "src" / "scheduled", "hourly", "def handler(e, c):\n    return None\n")
    out = subprocess.run(
        [sys.executable, "-c", STARTUP_IMPORTS, str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_the_running_sandbox_subcommands_are_listed_and_run_though_imported_on_use() -> None:
    listing = CliRunner().invoke(cli, ["--help"])
    for name in ("tables", "messages", "replay", "purge", "logs"):
        assert f"  {name} " in listing.output
    result = CliRunner().invoke(cli, ["tables", "--help"])
    assert result.exit_code == 0 and "scan" in result.output
    assert CliRunner().invoke(cli, ["nope"]).exit_code == 2
