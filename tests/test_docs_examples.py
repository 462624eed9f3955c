"""Every fenced block of the README runs in a test, taken from the README at test time.

Blocks whose first line names files (`# app.arc`, `# src/http/get-index/lambda.py, ...`) are the
files of one example app: the tests build that app from them, start it once for the module, and use
it as a reader would. Every other block is listed in `EXAMPLES` with the test that runs it; a block
that is neither fails `test_every_readme_block_is_run_by_a_test`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from sandbox.clock import FakeClock
from sandbox.config import DEFAULT_PORTS, SandboxConfig
from sandbox.console import banner
from sandbox.lambdas.environment import handler_module
from sandbox.manifest import load_manifest
from sandbox.messaging.results import DeliveryFailedError
from sandbox.sandbox import Sandbox
from tests import test_readme_testing_example
from tests.running import RunningSandbox

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
FILE_NAMES = re.compile(r"^# ((?:app\.arc|src/\S+)(?:, (?:app\.arc|src/\S+))*)(?::.*)?$")


@dataclass(frozen=True)
class Block:
    section: str  # the heading it sits under
    lang: str
    text: str
    line: int

    @property
    def files(self) -> list[str]:
        """The app files this block is, from its first line; none for a block that is not a file."""
        found = FILE_NAMES.match(self.text.split("\n", 1)[0])
        return found.group(1).split(", ") if found else []


def readme_blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text()
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.MULTILINE)
        blocks.append(Block(headings[-1], match.group(1), match.group(2), before.count("\n") + 1))
    return blocks


def example_key(block: Block) -> str:
    """`section / lang #n`: the n-th block of that language in the section that is not an app file."""
    same = [b for b in readme_blocks() if (b.section, b.lang) == (block.section, block.lang) and not b.files]
    return f"{block.section} / {block.lang} #{same.index(block) + 1}"


def example(key: str) -> str:
    [found] = [b.text for b in readme_blocks() if not b.files and example_key(b) == key]
    return found


# Every README block that is not a file of the example app, and the test that runs it.
EXAMPLES = {
    "Two commands / sh #1": "test_make_start_and_make_test_do_what_the_readme_says",
    "Using it on your own app / sh #1": "test_install_init_and_start_as_the_readme_says",
    "Testing your app without AWS / toml #1": "test_readme_testing_example:"
    "test_the_readme_testing_example_passes_as_written_with_no_warnings",
    "Testing your app without AWS / python #1": "test_readme_testing_example:"
    "test_the_readme_testing_example_passes_as_written_with_no_warnings",
    "Embedding the sandbox / python #1": "test_the_embedding_example_starts_the_example_app",
    "The dashboard / sh #1": "test_the_cli_examples_against_the_readme_app_running",
    "Developing arc-sandbox / text #1": "test_the_package_map_names_every_module_and_package",
}
APP_TESTS = ("test_the_readme_app_has_a_handler_for_every_function", "test_the_readme_app_runs_a_task_to_complete")


def test_every_readme_block_is_run_by_a_test() -> None:
    blocks = readme_blocks()
    assert blocks, "no fenced blocks found: the README's format changed"
    unlisted = [f"line {b.line}: {example_key(b)}" for b in blocks if not b.files and example_key(b) not in EXAMPLES]
    assert not unlisted, f"README blocks no test runs (add one to EXAMPLES): {unlisted}"
    stale = set(EXAMPLES) - {example_key(b) for b in blocks if not b.files}
    assert not stale, f"EXAMPLES names blocks the README no longer has: {stale}"
    for test in [*EXAMPLES.values(), *APP_TESTS]:
        module, _, name = test.rpartition(":")
        assert callable(getattr(test_readme_testing_example if module else sys.modules[__name__], name)), test
    assert any(b.files == ["app.arc"] for b in blocks), "the README's example app lost its app.arc"


# --- the example app the README's file blocks make ------------------------------------------------


def write_readme_app(dest: Path) -> Path:
    for block in readme_blocks():
        for name in block.files:
            path = dest / name
            assert not path.exists(), f"two README blocks are {name}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text)
    return dest


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def readme_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    app = write_readme_app(tmp_path_factory.mktemp("readme-app"))
    async with Sandbox(SandboxConfig.ephemeral(app), clock=FakeClock()) as sb:
        yield sb


def test_the_readme_app_has_a_handler_for_every_function(tmp_path: Path) -> None:
    manifest = load_manifest(write_readme_app(tmp_path))
    functions = [r.function for r in manifest.http] + [w.function for w in manifest.ws]
    functions += [s.function for s in manifest.tables_streams]
    functions += [f.function for kind in (manifest.events, manifest.queues, manifest.scheduled) for f in kind]
    assert functions and all(handler_module(fn.src_dir) is not None for fn in functions), functions
    [queue] = manifest.queues
    assert queue.fifo is False
    # Without its config.arc the queue would be FIFO, as the README says, and refuse the delay.
    (tmp_path / "src" / "queues" / queue.name / "config.arc").unlink()
    assert load_manifest(tmp_path).queues[0].fifo is True


@pytest.mark.asyncio(loop_scope="module")
async def test_the_readme_app_runs_a_task_to_complete(readme_app: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "arc_sandbox")  # what functions print
    clock = readme_app.clock
    assert isinstance(clock, FakeClock)
    started = clock.now()
    async with aiohttp.ClientSession(readme_app.url) as client:
        async with client.post("/tasks", json={"name": "report"}) as response:
            assert response.status == 202
            task = await response.json(content_type=None)
        async with client.post("/tasks", data={"name": "from a form"}) as response:
            assert response.status == 202
            form_task = await response.json(content_type=None)
        await readme_app.settle()  # the event, then the queue message ten seconds later
        assert clock.now() - started >= 10
        async with client.get("/") as response:
            assert response.status == 200
            listed = await response.json(content_type=None)
    assert sorted(listed, key=lambda t: t["name"]) == [
        {"taskID": form_task["taskID"], "name": "from a form", "status": "complete"},
        {"taskID": task["taskID"], "name": "report", "status": "complete"},
    ]
    # The table stream's function printed each change, in order.
    changes = re.findall(rf"(INSERT|MODIFY|REMOVE) {task['taskID']}", caplog.text)
    assert changes == ["INSERT", "MODIFY"], caplog.text


@pytest.mark.asyncio(loop_scope="module")
async def test_the_readme_app_echoes_websocket_messages(readme_app: Sandbox) -> None:
    async with aiohttp.ClientSession() as client, client.ws_connect(readme_app.url.replace("http", "ws", 1)) as ws:
        await ws.send_json({"hello": ["there"]})
        assert await ws.receive_json(timeout=20) == {"echo": {"hello": ["there"]}}


# --- the other blocks ------------------------------------------------------------------------------


def commands(block: str) -> list[list[str]]:
    """Each line of a shell block as arguments, without its comment."""
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def make_dry_run(target: str) -> str:
    """What `make TARGET` runs on a fresh machine (-B: as if nothing were installed yet)."""
    # As typed in a shell: under `make test` the inherited MAKELEVEL would add "Entering directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30, env=env,
    ).stdout  # fmt: skip


def test_make_start_and_make_test_do_what_the_readme_says() -> None:
    block = example("Two commands / sh #1")
    assert [c[:2] for c in commands(block)] == [["make", "start"], ["make", "test"]]
    start, test = make_dry_run("start"), make_dry_run("test")
    assert "-m venv .venv" in start and "install --quiet -e .\n" in start and "[dev]" not in start
    assert start.rstrip().endswith("arc-sandbox start example-app")
    assert f"http://localhost:{DEFAULT_PORTS['http']}" in block
    assert "-m venv .venv" in test and "-e '.[dev]'" in test
    for step in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert step in test, step


def cli() -> list[str]:
    """The `arc-sandbox` command as installed beside this Python, else the same CLI as a module."""
    installed = Path(sys.executable).parent / "arc-sandbox"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "sandbox"]


@pytest.mark.timeout(90)
async def test_install_init_and_start_as_the_readme_says(tmp_path: Path) -> None:
    install, init, start = commands(example("Using it on your own app / sh #1"))
    assert install == ["pip", "install", "-e", "."]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(requirement.startswith("aiohttp") for requirement in pyproject["project"]["dependencies"])
    assert "arc-sandbox" in pyproject["project"]["scripts"]
    assert init[0] == "arc-sandbox" and start[0] == "arc-sandbox"
    result = await asyncio.to_thread(
        subprocess.run, [*cli(), *init[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert start[1:] == ["start", "my-app"]
    # As written but on free ports: the suite never binds the defaults a developer's sandbox may hold.
    async with RunningSandbox(tmp_path / "my-app") as running:
        assert f"http://localhost:{running.ports['http']}" in "\n".join(running.lines)  # the banner's real port
        async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{running.ports['http']}/") as r:
            assert r.status == 200 and "Hello from" in await r.text()
    assert f"http://localhost:{DEFAULT_PORTS['http']}" in example("Using it on your own app / sh #1")


async def test_the_embedding_example_starts_the_example_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)  # the example names `example-app` from the checkout's root
    namespace: dict[str, Any] = {}
    exec(compile(example("Embedding the sandbox / python #1"), "README.md", "exec"), namespace)  # noqa: S102
    await namespace["main"]()
    url, ports = capsys.readouterr().out.split(" ", 1)
    printed = json.loads(ports.replace("'", '"'))
    assert url.startswith("http://") and url.endswith(f":{printed['http']}")
    assert set(printed) >= {"http", "events", "tables"} and all(port > 0 for port in printed.values())


@pytest.mark.asyncio(loop_scope="module")
async def test_a_failed_record_of_a_subscribe_handler_is_named_by_settle_and_logged(
    readme_app: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "arc_sandbox")
    message_id = await readme_app.bus.send_message("work", {"taskID": "no-such-task"})  # its condition fails
    with pytest.raises(DeliveryFailedError, match="partial batch failure: 1 of 1 failed") as caught:
        await readme_app.settle()
    assert [f.failed_ids for f in caught.value.failures] == [(message_id,)]
    assert "ConditionalCheckFailedError" in caplog.text and 'File "' in caplog.text, caplog.text
    await readme_app.settle(raise_on_failure=False)  # its retries, then its dead letter


def test_the_banner_prints_every_port_when_one_is_not_the_default(readme_app: Sandbox) -> None:
    text = banner(readme_app, verbose=False)
    ports = readme_app.ports
    assert ports["http"] != DEFAULT_PORTS["http"]
    for service in ("http", "events", "tables", "internal"):
        assert f": {ports[service]}" in text, (service, text)


@pytest.mark.timeout(120)
async def test_the_cli_examples_against_the_readme_app_running(tmp_path: Path) -> None:
    app = write_readme_app(tmp_path / "app")
    async with RunningSandbox(app) as running:
        # Found as a developer's shell finds it: from the app's folder, through the ARC_*_PORT variables.
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "ARC_EVENTS_PORT": str(running.ports["events"]),
            "ARC_INTERNAL_PORT": str(running.ports["internal"]),
        }
        outputs = []
        for command in commands(example("The dashboard / sh #1")):
            assert command[0] == "arc-sandbox", command
            result = await asyncio.to_thread(
                subprocess.run, [*cli(), *command[1:]], cwd=app, env=env, capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            outputs.append(result.stdout)
    invoked, messages, item, logs = outputs
    assert json.loads(invoked)["ok"] is True
    assert "@queues work  delayed" in messages and '{"taskID":"t1"}' in messages, messages
    assert json.loads(item) == {"taskID": "t1", "name": "by hand", "status": "received"}
    assert "task-created" in logs, logs


def test_the_package_map_names_every_module_and_package() -> None:
    """The README's map of `sandbox/` lists exactly what is there: no module left out, none gone."""
    listed: set[str] = set()
    for line in example("Developing arc-sandbox / text #1").splitlines()[1:]:
        names = line.strip().split("   ")[0].split()  # the names, before the description's wide gap
        listed |= {name.rstrip(",") for name in names if name.rstrip(",").endswith((".py", "/"))}
    package = ROOT / "sandbox"
    present = {p.name for p in package.glob("*.py") if not p.name.startswith("_")}
    present |= {f"{p.name}/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    private = {name for name in listed if name.startswith("_")}
    assert all((package / name).exists() for name in private), private
    unlisted = present - listed - {"__init__.py", "__main__.py"}
    gone = {name for name in listed - private if not (package / name).exists()}
    assert not gone, f"the README's map names what is not there: {sorted(gone)}"
    assert not unlisted, f"the README's map leaves out: {sorted(unlisted)}"
