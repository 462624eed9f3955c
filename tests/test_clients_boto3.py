"""Plain boto3 inside handlers, with no endpoint or region arguments, against a started sandbox: the
execution environment's variables (AWS_ENDPOINT_URL_DYNAMODB, AWS_DEFAULT_REGION, credentials) are
all it needs. DynamoDB put/update/get, conditional failures, queries with paging and on an index;
and SNS, SQS and Lambda through their wire APIs."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
import pytest_asyncio

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP = Path(__file__).parent / "fixtures" / "apps" / "boto3"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    app_dir = shutil.copytree(APP, tmp_path_factory.mktemp("boto3") / "app")
    async with Sandbox(SandboxConfig.ephemeral(app_dir)) as sb:
        yield sb


@pytest_asyncio.fixture(loop_scope="module")
async def session(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sandbox.url) as client:
        yield client


async def call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path, json=body) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def note(owner: str, note_id: str, tag: str = "misc", text: str = "a few words here") -> dict[str, str]:
    return {"owner": owner, "noteID": note_id, "tag": tag, "text": text}


async def test_boto3_put_update_and_get_in_a_handler(session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    status, stored = await call(session, "POST", "/notes", note("ada", "n1", text="three small words"))
    assert (status, stored) == (201, {**note("ada", "n1", text="three small words"), "words": 3, "edits": 1})


async def test_boto3_conditional_put_fails_as_dynamodb_does_and_changes_nothing(
    session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    assert (await call(session, "POST", "/notes", note("cy", "n1", text="first")))[0] == 201
    status, body = await call(session, "POST", "/notes", note("cy", "n1", text="second attempt"))
    assert (status, body) == (409, "ConditionalCheckFailedException")
    stored = await sandbox.tables().notes.get({"owner": "cy", "noteID": "n1"})
    assert stored is not None and (stored["text"], stored["edits"]) == ("first", 1)


async def test_boto3_query_pages_through_a_partition_with_a_sort_key_condition(
    session: aiohttp.ClientSession,
) -> None:
    for note_id in ("a1", "b1", "a3", "a2", "b2"):
        assert (await call(session, "POST", "/notes", note("bo", note_id)))[0] == 201
    assert (await call(session, "POST", "/notes", note("other", "a1")))[0] == 201
    assert await call(session, "GET", "/notes/bo?prefix=a") == (200, {"ids": ["a1", "a2", "a3"], "pages": 2})
    assert await call(session, "GET", "/notes/bo") == (200, {"ids": ["a1", "a2", "a3", "b1", "b2"], "pages": 3})


async def test_boto3_query_on_a_global_secondary_index(session: aiohttp.ClientSession) -> None:
    for owner, note_id, tag in (("dee", "x1", "work"), ("dee", "x2", "home"), ("eve", "y1", "work")):
        assert (await call(session, "POST", "/notes", note(owner, note_id, tag=tag)))[0] == 201
    assert await call(session, "GET", "/tags/work") == (200, ["dee/x1", "eve/y1"])


def topic_arn() -> str:
    topics = boto3.client("sns").list_topics()["Topics"]
    return next(topic["TopicArn"] for topic in topics if topic["TopicArn"].endswith("-ping"))


def queue_url() -> str:
    return next(url for url in boto3.client("sqs").list_queues()["QueueUrls"] if url.endswith("-jobs"))


def function_name() -> str:
    boto3.client("lambda").invoke(FunctionName="jobs", InvocationType="DryRun")  # checks it could, runs nothing
    return "jobs"


# What the handler needs from each service to name its topic, queue and function.
PROBES: dict[str, Callable[[], str]] = {"topic_arn": topic_arn, "queue_url": queue_url, "function": function_name}


async def test_boto3_sns_sqs_and_lambda_in_a_handler(
    session: aiohttp.ClientSession, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sandbox.app_environment().client().items():  # this test's process asks too
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a service that is not served fails at once
    request = {name: await asyncio.to_thread(probe) for name, probe in PROBES.items()}
    assert await call(session, "POST", "/send", request) == (200, {"invoked": 200})
    await sandbox.settle()
    received = await sandbox.tables().received.scan_all()
    assert sorted((r["id"], r["via"]) for r in received) == [
        ("via-lambda", "jobs"),
        ("via-sns", "ping"),
        ("via-sqs", "jobs"),
    ]
