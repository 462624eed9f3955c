"""The click CLI: options become the SandboxConfig, init/reset/invoke, and start-up errors."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox import cli as cli_module
from sandbox.cli import cli
from sandbox.config import SandboxConfig


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SandboxConfig]]:
    configs: list[SandboxConfig] = []
    monkeypatch.setattr(cli_module, "run_sandbox", configs.append)
    yield configs


def test_cli_start_builds_the_config_from_its_options(started: list[SandboxConfig], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["start", str(tmp_path), "--port", "0", "--host", "0.0.0.0", "--memory", "--verbose", "--no-watch"]
    )
    assert result.exit_code == 0, result.output
    (config,) = started
    assert config.app_dir == tmp_path.resolve()
    assert (config.http_port, config.host, config.memory, config.verbose, config.watch) == (
        0,
        "0.0.0.0",
        True,
        True,
        False,
    )


def test_cli_start_defaults_to_loopback_and_watching(started: list[SandboxConfig], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["start", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (config,) = started
    assert (config.host, config.http_port, config.watch, config.memory) == ("127.0.0.1", None, True, False)


def test_cli_start_rejects_a_port_out_of_range(started: list[SandboxConfig]) -> None:
    result = CliRunner().invoke(cli, ["start", "--port", "70000"])
    assert result.exit_code == 2
    assert "70000" in result.output and not started


def test_cli_start_reports_a_busy_port_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text("@app\nbusy-app\n@http\nget /\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The other ports free too: a test never binds the defaults, where a developer's sandbox may run.
        others = ["--events-port", "0", "--tables-port", "0", "--internal-port", "0"]
        result = CliRunner().invoke(
            cli, ["start", str(tmp_path), "--port", str(port), *others, "--memory", "--no-watch"]
        )
    assert result.exit_code == 1
    assert f"http port {port} on 127.0.0.1 is already in use" in result.output
    assert "Traceback" not in result.output


def test_cli_start_reports_a_bad_manifest_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text("@app\nmy-app\n@http\nfetch /x\n")
    result = CliRunner().invoke(cli, ["start", str(tmp_path), "--memory", "--no-watch", "--port", "0"])
    assert result.exit_code == 1
    assert f"{tmp_path / 'app.arc'}:4" in result.output


def test_cli_reset_deletes_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / ".sandbox"
    data.mkdir()
    (data / "data.db").write_bytes(b"x")
    result = CliRunner().invoke(cli, ["reset", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert not data.exists()
    again = CliRunner().invoke(cli, ["reset", str(tmp_path), "--yes"])
    assert "Nothing to reset" in again.output


def test_cli_invoke_rejects_a_payload_that_is_not_json() -> None:
    result = CliRunner().invoke(cli, ["invoke", "events", "x", "{nope"])
    assert result.exit_code == 2
    assert "not JSON" in result.output


def test_cli_invoke_says_when_no_sandbox_answers() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    result = CliRunner().invoke(cli, ["invoke", "events", "x", json.dumps({}), "--events-port", str(free)])
    assert result.exit_code == 1
    assert f"no sandbox answers on port {free}" in result.output


def test_cli_runs_as_python_dash_m() -> None:
    import subprocess
    import sys

    for module in ("sandbox", "sandbox.cli"):
        out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, check=True)
        assert "arc-sandbox" in out.stdout, module


async def test_cli_invoke_fires_a_scheduled_function_in_a_running_sandbox(tmp_path: Path) -> None:
    import asyncio

    from sandbox.sandbox import Sandbox

    (tmp_path / "app.arc").write_text("@app\ninvoke-app\n@scheduled\nnightly rate(1 day)\n")
    (tmp_path / "src" / "scheduled" / "nightly").mkdir(parents=True)
    (tmp_path / "src" / "scheduled" / "nightly" / "lambda.py").write_text(
        "def handler(event, context):\n    assert event['detail-type'] == 'Scheduled Event'\n"
    )
    config = SandboxConfig.ephemeral(tmp_path)
    async with Sandbox(config) as sandbox:
        port = str(sandbox.ports["events"])
        ok = await asyncio.to_thread(CliRunner().invoke, cli, ["invoke", "scheduled", "nightly", "--events-port", port])
        missing = await asyncio.to_thread(CliRunner().invoke, cli, ["invoke", "events", "nope", "--events-port", port])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    assert missing.exit_code == 1 and "no @events function named 'nope'" in missing.output


def test_cli_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    (tmp_path / "app.arc").write_text("@app\nsignal-app\n@http\nget /\n")
    command = [sys.executable, "-m", "sandbox", "start", str(tmp_path), "--port", "0", "--memory", "--no-watch"]
    command += ["--events-port", "0", "--tables-port", "0", "--internal-port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:  # blocks on the child's output, no sleeping
            if "Local environment ready" in line:
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=20) == 0
    assert "Stopping" in rest


async def test_cli_messages_lists_a_running_sandboxs_queues(tmp_path: Path) -> None:
    import asyncio

    from sandbox.sandbox import Sandbox

    (tmp_path / "app.arc").write_text("@app\nmessages-app\n@queues\nlater\n  fifo false\n")
    (tmp_path / "src" / "queues" / "later").mkdir(parents=True)
    (tmp_path / "src" / "queues" / "later" / "lambda.py").write_text("def handler(event, context):\n    pass\n")
    config = SandboxConfig.ephemeral(tmp_path)
    async with Sandbox(config) as sandbox:
        await sandbox.bus.send_message("later", {"n": 1}, delay_seconds=600)
        port = str(sandbox.ports["internal"])
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["messages", "--json", "--internal-port", port])
    assert result.exit_code == 0, result.output
    (queue,) = json.loads(result.output)["queues"]
    assert queue["name"] == "later" and queue["counts"]["delayed"] == 1
    assert [m["body"] for m in queue["messages"]] == [{"n": 1}] and queue["dead_letters"] == []


def test_cli_start_requests_errors_prints_only_the_failed_request_lines(tmp_path: Path) -> None:
    import re
    import signal
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    (tmp_path / "app.arc").write_text("@app\nquiet-app\n@http\nget /\nget /boom\n")
    for name, code in (("get-index", "return {'body': 'hi'}"), ("get-boom", "raise ValueError('boom')")):
        (tmp_path / "src" / "http" / name).mkdir(parents=True)
        (tmp_path / "src" / "http" / name / "lambda.py").write_text(f"def handler(event, context):\n    {code}\n")
    command = [sys.executable, "-m", "sandbox", "start", str(tmp_path), "--port", "0", "--memory", "--no-watch"]
    command += ["--events-port", "0", "--tables-port", "0", "--internal-port", "0", "--requests", "errors"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"}) as proc:
        assert proc.stderr is not None
        url = ""
        for line in proc.stderr:  # blocks on the child's output, no sleeping
            url = next(iter(re.findall(r"^http://localhost:\d+$", line.strip())), url)
            if "Local environment ready" in line:
                break
        for _ in range(3):
            with urllib.request.urlopen(url + "/", timeout=10) as ok:
                assert ok.status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "/boom", timeout=10)
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=20) == 0
    assert "GET /boom 500" in rest
    assert "GET / 200" not in rest  # the 2xx lines are hidden, the failed one is not
