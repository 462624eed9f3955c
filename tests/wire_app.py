"""An app for the wire-API tests: a topic, queues read by functions and by clients, functions that fail.

Handlers append what they receive to `seen.jsonl` beside them, which works wherever they run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

APP = """
@app
wire-app

@http
get /ok
get /boom
get /plain

@events
ping

@queues
jobs
  fifo false
inbox
  fifo false
orders
"""
RECORDER = """
import json, pathlib

def handler(event, context):
    with open(pathlib.Path(__file__).parent / "seen.jsonl", "a") as out:
        out.write(json.dumps(event) + "\\n")
"""
PLAIN_BOTO3 = """
import json, os
import boto3  # no endpoint, region or credentials given: the sandbox's environment supplies them

def handler(event, context):
    ssm = boto3.client("ssm")
    stack = "WireApp" + os.environ["ARC_ENV"].capitalize()
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path="/" + stack, Recursive=True)
    found = {p["Name"].split("/", 2)[2]: p["Value"] for page in pages for p in page["Parameters"]}
    boto3.client("sns").publish(TopicArn=found["events/ping"], Message="from plain boto3")
    boto3.client("sqs").send_message(QueueUrl=found["queues/inbox"], MessageBody="from plain boto3")
    answer = boto3.client("lambda").invoke(FunctionName="get /ok", Payload=json.dumps({"from": "plain"}))
    return {"invoked": json.loads(answer["Payload"].read())["event"]}
"""
HANDLERS = {
    "http/get-plain": PLAIN_BOTO3,
    "http/get-ok": "def handler(event, context):\n    return {'event': event, 'name': context.function_name}\n",
    "http/get-boom": "def inner():\n    raise ValueError('boom')\n\ndef handler(event, context):\n    inner()\n",
    "events/ping": RECORDER,
    "queues/jobs": RECORDER,
}  # inbox and orders have no handler: clients read them


def write_app(root: Path) -> Path:
    app = root / "app"
    for folder, source in HANDLERS.items():
        (app / "src" / folder).mkdir(parents=True)
        (app / "src" / folder / "lambda.py").write_text(source)
    (app / "app.arc").write_text(APP)
    return app


def seen(app: Path, folder: str) -> list[Any]:
    path = app / "src" / folder / "seen.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@asynccontextmanager
async def started(root: Path, clock: FakeClock | None = None) -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral(write_app(root), watch=False), clock=clock or FakeClock()) as sb:
        yield sb


def client_factory(service: str, port: int) -> Callable[[], Any]:
    def make() -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-west-2",
            aws_access_key_id="arcDummyAccessKey", aws_secret_access_key="arcDummySecretKey",
        )  # fmt: skip

    return make


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Sandbox]:
    """The wire app started on `clock`; a test module takes both with `clock, sandbox = wire_app.clock, wire_app.sandbox`."""
    async with started(tmp_path, clock) as sb:
        yield sb


async def call(method: Any, **params: Any) -> Any:
    """A blocking boto3 call, off the event loop the sandbox serves on."""
    return await asyncio.to_thread(method, **params)
