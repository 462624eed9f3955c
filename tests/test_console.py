"""The console: quiet 2xx request lines, repeats collapsed, NO_COLOR, the restored-work and missing-handler
warnings, and queue retries that say when the next attempt is."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import aiohttp
import click
import pytest

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.console import ConsoleHandler, banner, colour_choice, use_colour
from sandbox.reload import ReloadPlan
from sandbox.sandbox import Sandbox


def _request(method: str, path: str, status: int) -> logging.LogRecord:
    record = logging.LogRecord("arc_sandbox.http", logging.INFO, __file__, 1, "%s %s %d %.1fms %s", None, None)
    record.args = (method, path, status, 1.5, "req-id")
    record.kind, record.status = "request", status
    return record


def _line(text: str) -> logging.LogRecord:
    return logging.LogRecord("arc_sandbox.bus", logging.INFO, __file__, 1, text, None, None)


def _handler(**options: object) -> tuple[ConsoleHandler, io.StringIO]:
    out = io.StringIO()
    handler = ConsoleHandler(out, **options)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler, out


def test_console_requests_errors_hides_2xx_and_304_lines_only() -> None:
    handler, out = _handler(requests="errors")
    for method, path, status in [("GET", "/tasks", 200), ("GET", "/x", 304), ("POST", "/b", 302), ("GET", "/y", 404)]:
        handler.emit(_request(method, path, status))
    handler.emit(_line("@queues work attempt 1 ok"))
    lines = out.getvalue().splitlines()
    assert [line.split(" 1.5ms")[0] for line in lines[:2]] == ["POST /b 302", "GET /y 404"]
    assert lines[2] == "@queues work attempt 1 ok"


def test_console_collapses_identical_request_lines_in_a_row() -> None:
    handler, out = _handler()
    for _ in range(4):
        handler.emit(_request("GET", "/tasks", 200))
    handler.emit(_request("GET", "/tasks", 500))  # same path, another status: its own line
    handler.emit(_line("something else"))
    assert out.getvalue().splitlines() == [
        "GET /tasks 200 1.5ms req-id",
        "  (the line above repeated 3 more time(s))",
        "GET /tasks 500 1.5ms req-id",
        "something else",
    ]


def test_console_on_a_terminal_rewrites_the_repeated_line_with_a_count() -> None:
    handler, out = _handler(rewrite=True)
    for _ in range(3):
        handler.emit(_request("GET", "/tasks", 200))
    text = out.getvalue()
    assert text.count("\x1b[1A") == 2 and "(x3)" in text.splitlines()[-1]


def test_console_colour_follows_no_color_then_force_color_then_the_terminal() -> None:
    assert colour_choice({"NO_COLOR": "1", "FORCE_COLOR": "1"}) is False
    assert colour_choice({"FORCE_COLOR": "1"}) is True
    assert colour_choice({}) is None
    assert use_colour(io.StringIO(), {}) is False  # not a terminal
    assert use_colour(io.StringIO(), {"FORCE_COLOR": "1"}) is True


def _app(tmp_path: Path, manifest: str, handlers: dict[str, str]) -> Path:
    (tmp_path / "app.arc").write_text(manifest)
    for folder, code in handlers.items():
        (tmp_path / "src" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / folder / "lambda.py").write_text(code)
    return tmp_path


async def test_console_warns_of_a_route_without_a_handler_file_at_load_and_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(tmp_path, "@app\nwarn-app\n@http\nget /\n", {"http/get-index": "def handler(e, c):\n    return {}\n"})
    caplog.set_level(logging.WARNING, "arc_sandbox")
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox:
        assert not [r for r in caplog.records if "no handler file" in r.getMessage()]
        (app / "app.arc").write_text("@app\nwarn-app\n@http\nget /\nget /missing\n")
        await sandbox.apply_reload(ReloadPlan(manifest=True))
    (warning,) = [r.getMessage() for r in caplog.records if "no handler file" in r.getMessage()]
    assert "get /missing has no handler file in src/http/get-missing" in warning
    assert "lambda.py, handler.py, index.py" in warning


async def test_console_warns_of_a_route_without_a_handler_file_when_it_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(
        tmp_path,
        "@app\nwarn-app\n@http\nget /\npost /orders\n",
        {"http/get-index": "def handler(e, c):\n    return {}\n"},
    )
    caplog.set_level(logging.WARNING, "arc_sandbox")
    async with Sandbox(SandboxConfig.ephemeral(app)):
        (warning,) = [r.getMessage() for r in caplog.records if "no handler file" in r.getMessage()]
    assert "post /orders has no handler file in src/http/post-orders" in warning


async def test_a_function_written_for_another_runtime_is_named_as_such(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A mixed-language Architect app: a Node.js function says so at start and on every call, rather than
    only that lambda.py is missing."""
    app = _app(
        tmp_path,
        "@app\nmixed-app\n@http\nget /\nget /node\n",
        {"http/get-index": "def handler(e, c):\n    return {}\n"},
    )
    (app / "src" / "http" / "get-node").mkdir(parents=True)
    (app / "src" / "http" / "get-node" / "index.js").write_text("exports.handler = async () => ({})\n")
    caplog.set_level(logging.WARNING, "arc_sandbox")
    async with (
        Sandbox(SandboxConfig.ephemeral(app)) as sandbox,
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.url}/node") as response,
    ):
        assert response.status == 502
        page = await response.text()
    (warning,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("⚠ get /node")]
    assert "has a Node.js (index.js) handler in src/http/get-node: arc-sandbox runs Python handlers only" in warning
    assert "The folder has a Node.js (index.js) handler: arc-sandbox runs Python handlers only." in page
    assert any("the folder has a Node.js (index.js) handler" in r.getMessage() for r in caplog.records)


async def test_console_banner_lists_ws_routes_with_their_url(tmp_path: Path) -> None:
    handlers = {
        f"ws/{name}": "def handler(e, c):\n    return {'statusCode': 200}\n"
        for name in ("connect", "default", "disconnect")
    }
    app = _app(tmp_path, "@app\nws-app\n@ws\n", handlers)
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox:
        text = click.unstyle(banner(sandbox, verbose=False))
    assert f"@ws         connect, default, disconnect on ws://localhost:{sandbox.ports['http']}" in text


async def test_console_reports_work_restored_from_the_last_run(tmp_path: Path) -> None:
    app = _app(
        tmp_path,
        "@app\nrestore-app\n@queues\nlater\n  fifo false\n",
        {"queues/later": "def handler(e, c):\n    pass\n"},
    )
    config = SandboxConfig.ephemeral(app, memory=False, db_path=tmp_path / "data.db")
    async with Sandbox(config) as first:
        await first.bus.send_message("later", {"n": 1}, delay_seconds=600)
        await first.bus.send_message("later", {"n": 2}, delay_seconds=600)
        assert first.restored == {"messages": 0, "retries": 0, "invokes": 0, "dead_letters": 0}
    async with Sandbox(config) as second:
        assert second.restored == {"messages": 2, "retries": 0, "invokes": 0, "dead_letters": 0}
        assert "Restored from the last run: 2 queued message(s)" in banner(second, verbose=False)
        assert f"http://localhost:{second.ports['internal']}/" in banner(second, verbose=False)


async def test_console_queue_failures_say_when_the_next_attempt_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(
        tmp_path,
        "@app\nretry-app\n@queues\nwork\n  fifo false\n",
        {"queues/work": "def handler(e, c):\n    raise ValueError('no')\n"},
    )
    caplog.set_level(logging.INFO, "arc_sandbox")
    async with Sandbox(SandboxConfig.ephemeral(app), clock=FakeClock()) as sandbox:
        await sandbox.bus.send_message("work", {})
        await sandbox.settle(raise_on_failure=False)
    failures = [r.getMessage().split("\n")[0] for r in caplog.records if "@queues work" in r.getMessage()]
    assert "failed, next attempt in 30s at " in failures[0] and failures[0].count("(receive 1 of 3)") == 1
    assert "(receive 2 of 3)" in failures[1]
    assert "failed, dead-lettered after 3 receives" in failures[2]


async def test_console_event_retries_say_when_the_next_attempt_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(
        tmp_path,
        "@app\nretry-app\n@events\nalerts\n",
        {"events/alerts": "def handler(e, c):\n    raise ValueError('no')\n"},
    )
    caplog.set_level(logging.INFO, "arc_sandbox")
    async with Sandbox(SandboxConfig.ephemeral(app), clock=FakeClock()) as sandbox:
        await sandbox.bus.publish("alerts", {})
        await sandbox.settle(raise_on_failure=False)
    failures = [r.getMessage().split("\n")[0] for r in caplog.records if "@events alerts" in r.getMessage()]
    assert "failed, next attempt in 1s at " in failures[0] and "(attempt 2 of 3)" in failures[0]
    assert "failed, next attempt in 2s at " in failures[1] and "(attempt 3 of 3)" in failures[1]
    assert "failed, dead-lettered" in failures[2]


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING], ids=["default", "quiet"])
async def test_console_shows_a_failed_deliverys_traceback_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    """The function's output already shows its traceback (as Lambda's runtime logs it); the bus's failure
    line then gives the error alone. Quiet, the output is hidden, and the failure line carries it."""
    app = _app(
        tmp_path,
        "@app\nretry-app\n@events\nalerts\n",
        {"events/alerts": "def handler(e, c):\n    raise ValueError('no')\n"},
    )
    caplog.set_level(level, "arc_sandbox")
    async with Sandbox(SandboxConfig.ephemeral(app), clock=FakeClock()) as sandbox:
        await sandbox.bus.publish("alerts", {})
        await sandbox.bus.drain()  # the first attempt
    shown = "\n".join(r.getMessage() for r in caplog.records)
    assert shown.count("Traceback (most recent call last)") == 1
    assert shown.count("raise ValueError('no')") == 1
    (failure,) = [r.getMessage() for r in caplog.records if "@events alerts attempt 1 failed" in r.getMessage()]
    assert failure.rstrip().endswith("ValueError: no")


async def test_console_shows_a_failed_routes_traceback_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(
        tmp_path,
        "@app\nroute-app\n@http\nget /boom\n",
        {"http/get-boom": "def handler(e, c):\n    raise ValueError('no')\n"},
    )
    caplog.set_level(logging.INFO, "arc_sandbox")
    async with (
        Sandbox(SandboxConfig.ephemeral(app)) as sandbox,
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.url}/boom") as response,
    ):
        assert response.status == 500
    shown = "\n".join(r.getMessage() for r in caplog.records)
    assert shown.count("Traceback (most recent call last)") == 1
    (failure,) = [r.getMessage() for r in caplog.records if "get /boom failed [" in r.getMessage()]
    assert failure.endswith("\nValueError: no")
