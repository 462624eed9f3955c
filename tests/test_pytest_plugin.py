"""The pytest plugin as a user meets it: in a project of their own, run by pytest in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

APP = """
@app
plugin-test

@http
get /crash
get /ok
"""

TEST_FILE = """
import pytest


@pytest.mark.asyncio
async def test_a_crashing_handler_fails_its_call_not_pytest(arc_client):
    async with arc_client.get("/crash") as response:
        assert response.status == 500
        assert "Runtime exited with error: signal: segmentation fault" in await response.text()
    async with arc_client.get("/ok") as response:
        assert response.status == 200
        assert await response.text() == "still here"
"""


def project(root: Path) -> Path:
    (root / "src" / "http" / "get-crash").mkdir(parents=True)
    (root / "src" / "http" / "get-crash" / "lambda.py").write_text(
        "import ctypes\ndef handler(event, context):\n    ctypes.string_at(0)\n"
    )
    (root / "src" / "http" / "get-ok").mkdir(parents=True)
    (root / "src" / "http" / "get-ok" / "lambda.py").write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'still here'}\n"
    )
    (root / "app.arc").write_text(APP)
    (root / "test_app.py").write_text(textwrap.dedent(TEST_FILE))
    (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return root


def run_pytest(folder: Path, *args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(180)
def test_a_segfaulting_handler_fails_that_call_and_pytest_carries_on(tmp_path: Path) -> None:
    result = run_pytest(project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "warning" not in result.stdout.lower()


@pytest.mark.timeout(180)
def test_pytest_still_runs_where_pytest_asyncio_is_missing(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "pytest_asyncio.py").write_text("raise ImportError('pytest-asyncio is not installed here')\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "test_plain.py").write_text("def test_nothing_async():\n    assert True\n")
    result = run_pytest(plain, "-p", "no:asyncio", "-p", "no:aiohttp", extra_path=blocker)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout

    (plain / "test_fixture.py").write_text("def test_wants_the_sandbox(arc_sandbox):\n    pass\n")
    (plain / "app.arc").write_text("@app\nplain\n")
    result = run_pytest(plain, "-p", "no:asyncio", "-p", "no:aiohttp", extra_path=blocker)
    assert result.returncode != 0
    assert "the arc_sandbox fixtures need pytest-asyncio" in result.stdout + result.stderr
