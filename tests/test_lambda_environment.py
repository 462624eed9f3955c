"""What a function sees in its execution environment, end to end through a started sandbox:
Lambda's and Architect's variables, isolation from other functions and from the sandbox's own process,
boto3 with no endpoint arguments, and a GIL-holding handler that delays nobody else."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

APP = """
@app
env-test

@http
get /env
get /mutate
get /noenv
get /boto
get /hold
get /ping
get /sockets

@tables
things
  id *String

@aws
region eu-west-1
"""

REPORT_ENV = """
import os, sys
def handler(event, context):
    return {"env": dict(os.environ), "cwd": os.getcwd(), "path0": sys.path[0], "module": __name__}
"""

HANDLERS = {
    "get-env": REPORT_ENV,
    "get-noenv": REPORT_ENV,
    "get-mutate": (
        "import os\n"
        "def handler(event, context):\n"
        "    os.environ['LEAKED'] = 'yes'\n"
        "    os.chdir('/')\n"
        "    return 'mutated'\n"
    ),
    "get-boto": (
        "import boto3\n"
        "def handler(event, context):\n"
        "    client = boto3.client('dynamodb')\n"
        "    return client.list_tables()['TableNames']\n"
    ),
    # ctypes.PyDLL calls C without releasing the GIL: this process's GIL is held for the whole call.
    "get-hold": "import ctypes\ndef handler(event, context):\n    ctypes.PyDLL(None).sleep(4)\n    return 'held'\n",
    "get-ping": "def handler(event, context):\n    return 'pong'\n",
    "get-sockets": (
        "import os, socket\n"
        "def handler(event, context):\n"
        "    listening = []\n"
        "    for fd in os.listdir('/proc/self/fd'):\n"
        "        try:\n"
        "            s = socket.socket(fileno=os.dup(int(fd)))\n"
        "        except OSError:\n"
        "            continue\n"
        "        try:\n"
        "            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):\n"
        "                listening.append(s.getsockname())\n"
        "        except OSError:\n"
        "            pass\n"
        "        finally:\n"
        "            s.close()\n"
        "    return listening\n"
    ),
}


def make_app(root: Path, name: str = "env-test") -> Path:
    app = root / name
    for folder, code in HANDLERS.items():
        (app / "src" / "http" / folder).mkdir(parents=True)
        (app / "src" / "http" / folder / "lambda.py").write_text(code)
    (app / "src" / "http" / "get-noenv" / "config.arc").write_text("@arc\nenv false\n")
    (app / "app.arc").write_text(APP.replace("env-test", name))
    (app / ".env").write_text("GREETING=hello\nARC_APP_NAME=cannot-override\n")
    return app


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral(make_app(tmp_path))) as sb:
        yield sb


async def get(sb: Sandbox, path: str) -> Any:
    async with aiohttp.ClientSession() as client, client.get(sb.url + path) as response:
        text = await response.text()
        assert response.status == 200, text
    try:
        return json.loads(text)
    except ValueError:
        return text  # API Gateway passes a string result through as the body


async def test_a_function_sees_lambdas_and_architects_variables(sandbox: Sandbox) -> None:
    got = await get(sandbox, "/env")
    env = got["env"]
    src = sandbox.manifest.root / "src" / "http" / "get-env"
    assert (got["cwd"], got["path0"], got["module"]) == (str(src), str(src), "lambda")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "sandbox-get/env"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1152"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/sandbox-get/env"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].count("[$LATEST]") == 1
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3")
    assert env["LAMBDA_TASK_ROOT"] == str(src)
    assert env["_HANDLER"] == "lambda.handler"
    assert env["TZ"] == ":UTC"
    assert env["ARC_ENV"] == "testing" and env["ARC_APP_NAME"] == "env-test" and env["ARC_ROLE"] == "SandboxRole"
    assert env["ARC_SESSION_TABLE_NAME"] == "jwe"
    assert env["GREETING"] == "hello"
    assert json.loads(env["ARC_SANDBOX"])["ports"] == {
        "http": sandbox.ports["http"],
        "events": sandbox.ports["events"],
        "tables": sandbox.ports["tables"],
        "_arc": sandbox.ports["internal"],
    }
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://127.0.0.1:{sandbox.ports['tables']}"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]


async def test_arc_env_false_leaves_the_users_variables_out(sandbox: Sandbox) -> None:
    env = (await get(sandbox, "/noenv"))["env"]
    assert "GREETING" not in env
    assert env["ARC_DISABLE_ENV_VARS"] == "true"
    assert env["ARC_ENV"] == "testing"


async def test_what_a_handler_changes_stays_in_its_own_environment(sandbox: Sandbox) -> None:
    assert await get(sandbox, "/mutate") == "mutated"
    got = await get(sandbox, "/env")
    assert "LEAKED" not in got["env"]
    assert got["cwd"] == str(sandbox.manifest.root / "src" / "http" / "get-env")
    assert "LEAKED" not in os.environ and "ARC_SANDBOX" not in os.environ  # nor in the sandbox's process


async def test_boto3_with_no_endpoint_arguments_reaches_the_sandbox(sandbox: Sandbox) -> None:
    assert await get(sandbox, "/boto") == ["env-test-production-things", "env-test-staging-things"]


async def test_two_sandboxes_in_one_process_keep_their_own_environments(tmp_path: Path) -> None:
    async with (
        Sandbox(SandboxConfig.ephemeral(make_app(tmp_path, "first"))) as first,
        Sandbox(SandboxConfig.ephemeral(make_app(tmp_path, "second"))) as second,
    ):
        assert (await get(first, "/env"))["env"]["ARC_APP_NAME"] == "first"
        assert (await get(second, "/env"))["env"]["ARC_APP_NAME"] == "second"
        await first.stop()
        env = (await get(second, "/env"))["env"]
        assert json.loads(env["ARC_SANDBOX"])["ports"]["http"] == second.ports["http"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists descriptors through /proc")
async def test_no_environment_holds_the_sandboxs_listening_sockets(sandbox: Sandbox) -> None:
    assert await get(sandbox, "/sockets") == []


async def test_a_handler_holding_its_gil_delays_no_other_function(sandbox: Sandbox) -> None:
    await get(sandbox, "/ping")  # warm
    holder = asyncio.ensure_future(get(sandbox, "/hold"))
    answers = [await get(sandbox, "/ping") for _ in range(20)]
    assert answers == ["pong"] * 20
    assert not holder.done()  # every ping was answered while the GIL holder still ran
    assert await holder == "held"
