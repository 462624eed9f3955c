"""What a handler sees of `sandbox.arc` when a call fails, and what a publish returns, in every backend.

A failed `publish` (or table call) raises an exception whose traceback starts at the caller's frame and
goes no deeper than the public function it called: none of the bridging underneath (concurrent.futures
and asyncio between a thread and the sandbox's loop, the worker's channel, urllib, boto3) shows. And
`events.publish` / `queues.publish` return the message id everywhere: in the sandbox's process, in an
execution environment, over HTTP from another process, and on AWS (moto).
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
import pytest_asyncio

from sandbox import arc
from sandbox.config import SandboxConfig
from sandbox.errors import ConditionalCheckFailedError, GoneError, HandlerFailedError, NotFoundError, SandboxError
from sandbox.runtime import CURRENT_SERVICES
from sandbox.sandbox import Sandbox
from tests.test_arc_aws import aws  # noqa: F401 - the fixture: Architect's resources in moto

on_module_loop = pytest.mark.asyncio(loop_scope="module")  # the module's one sandbox lives there

ARC = Path(arc.__file__).resolve().parent

APP = """
@app
tracebacks

@http
get /fail
get /ids
get /asyncfail

@events
ping

@queues
jobs
  fifo false

@tables
things
  id *String
"""

# A handler that catches each failure and reports its traceback as (file, function) pairs.
FAIL = """
import json
import traceback

from sandbox import arc


def frames(error):
    return [[f.filename, f.name] for f in traceback.extract_tb(error.__traceback__)]


def handler(event, context):
    seen = {}
    for what, call in (
        ("event", lambda: arc.events.publish("nope", {})),
        ("queue", lambda: arc.queues.publish("nope", {})),
        ("table", lambda: arc.tables().things.put({"id": "a"}, ConditionExpression="attribute_exists(id)")),
    ):
        try:
            call()
        except Exception as error:
            seen[what] = {"type": type(error).__name__, "frames": frames(error), "context": repr(error.__context__)}
    return {"statusCode": 200, "body": json.dumps(seen)}
"""

IDS = """
import json

from sandbox import arc


def handler(event, context):
    ids = {"event": arc.events.publish("ping", {"n": 1}), "queue": arc.queues.publish("jobs", {"n": 1})}
    return {"statusCode": 200, "body": json.dumps(ids)}
"""

ASYNC_FAIL = """from sandbox import arc


async def handler(event, context):
    await arc.events.publish_async("nope", {})
"""

RECORD = """
from sandbox import arc

SEEN = []


def handler(event, context):
    for record in event["Records"]:
        arc.tables().things.put({"id": record.get("Sns", {}).get("MessageId") or record["messageId"]})
"""


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    app = tmp_path_factory.mktemp("tracebacks")
    (app / "app.arc").write_text(APP)
    for folder, code in (
        ("http/get-fail", FAIL),
        ("http/get-ids", IDS),
        ("http/get-asyncfail", ASYNC_FAIL),
        ("events/ping", RECORD),
        ("queues/jobs", RECORD),
    ):
        (app / "src" / folder).mkdir(parents=True)
        (app / "src" / folder / "lambda.py").write_text(code)
    async with Sandbox(SandboxConfig.ephemeral(app)) as sb:
        yield sb


def user_frames(error: BaseException) -> list[tuple[str, str]]:
    """(file, function) of each frame, the sandbox.arc ones by their file name."""
    found = []
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        found.append((path.name if path.parent == ARC else frame.filename, frame.name))
    return found


def failure(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the test looks at whatever was raised
        return error
    raise AssertionError("the call did not fail")


def caller_frames(error: BaseException, public: tuple[str, str]) -> None:
    """The traceback is this file's frames, then the public function (a table's method and its `_call`),
    and no context behind it."""
    frames = user_frames(error)
    if frames[-1] == ("_tables.py", "_call"):
        frames.pop()
    assert frames[-1] == public, frames
    assert all(file == __file__ for file, _ in frames[:-1]), frames
    assert error.__context__ is None or error.__suppress_context__, repr(error.__context__)
    assert "During handling" not in "".join(traceback.format_exception(error))


@on_module_loop
async def test_sync_calls_from_a_thread_of_the_sandboxs_process_fail_at_the_callers_frame(sandbox: Sandbox) -> None:
    services = sandbox._services()
    assert services is not None

    def script() -> list[BaseException]:
        token = CURRENT_SERVICES.set(services)
        try:
            return [
                failure(lambda: arc.events.publish("nope", {})),
                failure(lambda: arc.queues.publish("nope", {})),
                failure(lambda: arc.tables().things.put({"id": "a"}, ConditionExpression="attribute_exists(id)")),
            ]
        finally:
            CURRENT_SERVICES.reset(token)

    event, queue, table = await asyncio.to_thread(script)
    assert isinstance(event, NotFoundError) and isinstance(queue, NotFoundError)
    assert isinstance(table, ConditionalCheckFailedError)
    caller_frames(event, ("events.py", "publish"))
    caller_frames(queue, ("queues.py", "publish"))
    caller_frames(table, ("_tables.py", "put"))


@on_module_loop
async def test_async_calls_fail_at_the_callers_frame(sandbox: Sandbox) -> None:
    services = sandbox._services()
    assert services is not None

    async def fails(coroutine: Any) -> BaseException:
        try:
            await coroutine
        except Exception as error:  # noqa: BLE001 - the test looks at whatever was raised
            return error
        raise AssertionError("the call did not fail")

    async def on_another_loop() -> list[BaseException]:
        token = CURRENT_SERVICES.set(services)
        try:
            tables = await arc.tables_async()
            return [
                await fails(arc.events.publish_async("nope", {})),
                await fails(arc.queues.publish_async("nope", {})),
                await fails(tables.things.put({"id": "a"}, ConditionExpression="attribute_exists(id)")),
            ]
        finally:
            CURRENT_SERVICES.reset(token)

    # Another thread's loop: the call crosses to the sandbox's loop through a concurrent future.
    event, queue, table = await asyncio.to_thread(asyncio.run, on_another_loop())
    for error, public in ((event, "publish_async"), (queue, "publish_async"), (table, "put")):
        frames = [frame for frame in user_frames(error) if frame != ("_tables.py", "_call")]
        assert frames[-1][1] == public and all(file == __file__ for file, _ in frames[:-1]), frames
        text = "".join(traceback.format_exception(error))
        assert "concurrent" not in text and "_backends" not in text, text


@on_module_loop
async def test_sync_calls_over_http_fail_at_the_callers_frame(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sandbox.app_environment().client().items():  # a script in another process
        monkeypatch.setenv(key, value)
    event, queue = await asyncio.to_thread(
        lambda: (failure(lambda: arc.events.publish("nope", {})), failure(lambda: arc.queues.publish("nope", {})))
    )
    caller_frames(event, ("events.py", "publish"))
    caller_frames(queue, ("queues.py", "publish"))


@on_module_loop
async def test_a_sandbox_that_is_gone_is_a_sandbox_error_at_the_callers_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARC_SANDBOX", json.dumps({"ports": {"events": 9, "tables": 9, "_arc": 9}}))
    error = await asyncio.to_thread(failure, lambda: arc.events.publish("ping", {}))
    assert isinstance(error, SandboxError) and "does not answer" in str(error), repr(error)
    caller_frames(error, ("events.py", "publish"))


@on_module_loop
async def test_in_an_execution_environment_the_traceback_starts_at_the_handler(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(sandbox.url) as client, client.get("/fail") as response:
        assert response.status == 200
        seen = await response.json(content_type=None)
    handler = str(sandbox.manifest.root / "src" / "http" / "get-fail" / "lambda.py")
    expected = {"event": "publish", "queue": "publish", "table": "put"}
    for what, public in expected.items():
        frames = [(Path(f).name if Path(f).parent == ARC else f, name) for f, name in seen[what]["frames"]]
        frames = [frame for frame in frames if frame != ("_tables.py", "_call")]
        assert frames == [
            (handler, "handler"),
            (handler, "<lambda>"),
            ({"table": "_tables.py"}.get(what, f"{what}s.py"), public),
        ], frames
        assert seen[what]["context"] == "None"
    assert seen["event"]["type"] == seen["queue"]["type"] == "NotFoundError"
    assert seen["table"]["type"] == "ConditionalCheckFailedError"


@on_module_loop
async def test_publish_returns_the_message_id_in_process_in_a_worker_and_over_http(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = sandbox._services()
    assert services is not None

    def in_process() -> list[str]:
        token = CURRENT_SERVICES.set(services)
        try:
            return [arc.events.publish("ping", {"n": 2}), arc.queues.publish("jobs", {"n": 2})]
        finally:
            CURRENT_SERVICES.reset(token)

    ids = await asyncio.to_thread(in_process)
    async with aiohttp.ClientSession(sandbox.url) as client, client.get("/ids") as response:
        from_worker = await response.json(content_type=None)
    ids += [from_worker["event"], from_worker["queue"]]
    for key, value in sandbox.app_environment().client().items():
        monkeypatch.setenv(key, value)
    ids += await asyncio.to_thread(lambda: [arc.events.publish("ping", {"n": 3}), arc.queues.publish("jobs", {"n": 3})])
    await sandbox.settle()
    # Each subscriber stored the id its record carried: the SNS MessageId, the SQS messageId.
    stored = {row["id"] for row in await sandbox.tables().things.scan_all()}
    assert len(set(ids)) == 6 and set(ids) <= stored, (ids, stored)


def test_on_aws_publish_returns_the_ids_sns_and_sqs_gave(aws: dict[str, Any]) -> None:  # noqa: F811
    sqs, sns = aws["sqs"], boto3.client("sns")
    # A subscription without raw delivery: SQS gets SNS's envelope, with the MessageId SNS gave.
    [topic] = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    envelope = sqs.create_queue(QueueName="envelope")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=envelope, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    message_id = arc.events.publish("ping", {"hello": "topic"})
    [delivered] = sqs.receive_message(QueueUrl=envelope)["Messages"]
    assert json.loads(delivered["Body"])["MessageId"] == message_id
    queued_id = arc.queues.publish("jobs", {"n": 1})
    [queued] = sqs.receive_message(QueueUrl=aws["queue"])["Messages"]
    assert queued["MessageId"] == queued_id
    caller_frames(failure(lambda: arc.events.publish("nope", {})), ("events.py", "publish"))
    caller_frames(failure(lambda: arc.queues.publish("nope", {})), ("queues.py", "publish"))


@on_module_loop
async def test_ws_calls_fail_at_the_callers_frame(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in sandbox.app_environment().client().items():
        monkeypatch.setenv(key, value)
    gone = await asyncio.to_thread(failure, lambda: arc.ws.send("no-such-connection", {}))
    assert isinstance(gone, GoneError)
    caller_frames(gone, ("ws.py", "send"))
    try:
        await arc.ws.info_async("no-such-connection")
    except GoneError as error:
        frames = user_frames(error)
        assert frames[-1] == ("ws.py", "info_async") and all(f == __file__ for f, _ in frames[:-1]), frames
    else:
        raise AssertionError("info_async did not fail")


@on_module_loop
async def test_an_async_handlers_failed_publish_is_reported_from_the_handlers_frame(sandbox: Sandbox) -> None:
    """The traceback settle() raises with: the handler's frames only, not asyncio's loop that ran it."""
    handler = sandbox.manifest.root / "src" / "http" / "get-asyncfail" / "lambda.py"
    route = next(r for r in sandbox.manifest.http if r.path == "/asyncfail")
    with pytest.raises(HandlerFailedError) as caught:
        await sandbox.invoker.invoke(route.function, {})
    lines = caught.value.traceback.splitlines()
    assert lines[1].startswith(f'  File "{handler}", line 5, in handler'), caught.value.traceback
    assert [line for line in lines if line.startswith("  File")] == [lines[1]], caught.value.traceback
    assert lines[-1].startswith("sandbox.errors.NotFoundError: no @events topic named 'nope'"), lines
