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


SYNC_APP = """
@app
sync-test

@http
post /jobs

@queues
jobs
  fifo false
"""
SYNC_TEST_FILE = """
import json
import urllib.request

import boto3


def test_a_synchronous_test_drives_the_app_with_blocking_clients(arc_sandbox_sync):
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(arc_sandbox_sync.url + "/jobs", data=b'{"n": 7}', headers=headers, method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    arc_sandbox_sync.settle()
    table = boto3.resource("dynamodb").Table(arc_sandbox_sync.sandbox.store.physical_name("done"))
    assert table.get_item(Key={"n": 7})["Item"] == {"n": 7, "by": "jobs"}
    sqs = boto3.client("sqs")  # no endpoint, region or keys: the fixture points the test's clients at the sandbox
    assert sqs.get_queue_url(QueueName="jobs")["QueueUrl"].endswith("/sync-test-jobs")
"""


@pytest.mark.timeout(180)
def test_the_sync_fixture_serves_a_test_written_without_async(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text(SYNC_APP + "\n@tables\ndone\n  n *Number\n")
    post = tmp_path / "src" / "http" / "post-jobs"
    post.mkdir(parents=True)
    (post / "lambda.py").write_text(
        "import json\nimport boto3\n\ndef handler(event, context):\n"
        "    sqs = boto3.client('sqs')\n"
        "    url = sqs.get_queue_url(QueueName='jobs')['QueueUrl']\n"
        "    sqs.send_message(QueueUrl=url, MessageBody=event['body'])\n"
        "    return {'statusCode': 200}\n"
    )
    jobs = tmp_path / "src" / "queues" / "jobs"
    jobs.mkdir(parents=True)
    (jobs / "lambda.py").write_text(
        "import json\nfrom sandbox import arc\n\ndef handler(event, context):\n"
        "    for record in event['Records']:\n"
        "        arc.tables().done.put({'n': json.loads(record['body'])['n'], 'by': 'jobs'})\n"
    )
    (tmp_path / "test_sync.py").write_text(textwrap.dedent(SYNC_TEST_FILE))
    result = run_pytest(tmp_path, "-p", "no:asyncio", "-p", "no:aiohttp")  # a synchronous test needs no pytest-asyncio
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


BLOCKING_TEST_FILE = """
import urllib.error
import urllib.request

import pytest


@pytest.mark.asyncio
async def test_a_blocking_call_in_an_async_test(arc_sandbox):
    with pytest.raises((urllib.error.URLError, TimeoutError)):  # nobody answers: the loop that would is waiting
        urllib.request.urlopen(arc_sandbox.url + "/ok", timeout=6)
"""


@pytest.mark.timeout(180)
def test_a_synchronous_call_blocking_an_async_tests_loop_is_explained(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "test_app.py").write_text(textwrap.dedent(BLOCKING_TEST_FILE))
    result = run_pytest(root, "-s")
    assert result.returncode == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert said.count("has been blocked for") == 1, said
    assert "asyncio.to_thread" in said and "arc_sandbox_sync" in said
    assert "in test_a_blocking_call_in_an_async_test\n    urllib.request.urlopen(arc_sandbox.url" in said
