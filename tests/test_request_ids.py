"""One request id per asynchronous invocation, as on Lambda: a Lambda Event invoke's attempts all have the
id its 202 answered with, an @events delivery's attempts all have one of their own, across a restart too;
each receive of a queue batch is a new invocation with a new id; and the dashboard keeps each attempt apart.

Handlers note `context.aws_request_id` on every attempt in `seen.jsonl` beside them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from tests.wire_app import call, client_factory

APP = "@app\nreqid-app\n\n@http\nget /flaky\npost /publish\n\n@events\nnotify\n\n@queues\nwork\n  fifo false\n"
# Fails on its first `fails` attempts, then answers; says which attempt it is, as whom.
FLAKY = """
import json, pathlib
SEEN = pathlib.Path(__file__).parent / "seen.jsonl"

def handler(event, context):
    with open(SEEN, "a") as out:
        out.write(json.dumps({{"request_id": context.aws_request_id, "event": event}}) + "\\n")
    attempt = len(SEEN.read_text().splitlines())
    print(f"attempt {{attempt}} as {{context.aws_request_id}}")
    if attempt <= {fails}:
        raise RuntimeError(f"failing attempt {{attempt}}")
    return {{"attempt": attempt}}
"""
PUBLISHER = """
from sandbox import arc

def handler(event, context):
    arc.events.publish("notify", {"from": "a function"})
    return {"statusCode": 202}
"""
API = "/_dashboard/api"


def write_app(root: Path, *, fails: int = 2) -> Path:
    app = root / "app"
    handlers = {
        "http/get-flaky": FLAKY.format(fails=fails),
        "events/notify": FLAKY.format(fails=fails),
        "queues/work": FLAKY.format(fails=1),
        "http/post-publish": PUBLISHER,
    }
    for folder, code in handlers.items():
        (app / "src" / folder).mkdir(parents=True, exist_ok=True)
        (app / "src" / folder / "lambda.py").write_text(code)
    (app / "app.arc").write_text(APP)
    return app


def seen_ids(app: Path, folder: str) -> list[str]:
    path = app / "src" / folder / "seen.jsonl"
    return [json.loads(line)["request_id"] for line in path.read_text().splitlines()] if path.exists() else []


def stored_request_ids(database: Path) -> dict[str, str]:
    """Each stored job's request id by its name, read by another connection, as the next run would."""
    with sqlite3.connect(database) as conn:
        return dict(conn.execute("SELECT name, request_id FROM bus_events").fetchall())


async def invoke_event(sandbox: Sandbox, name: str, payload: bytes) -> str:
    lam = client_factory("lambda", sandbox.ports["events"])()
    answer = await call(lam.invoke, FunctionName=name, InvocationType="Event", Payload=payload)
    assert answer["StatusCode"] == 202
    request_id: str = answer["ResponseMetadata"]["RequestId"]
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_id
    return request_id


def lambda_lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    """The START, END or REPORT lines the invoker wrote, as CloudWatch shows them."""
    return [m for m in caplog.messages if f" {word} RequestId: " in m]


async def test_an_event_invokes_attempts_all_have_the_request_id_its_202_answered_with(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "arc_sandbox")
    app = write_app(tmp_path)
    clock = FakeClock()
    async with Sandbox(SandboxConfig.ephemeral(app, watch=False), clock=clock) as sandbox:
        request_id = await invoke_event(sandbox, "sandbox-get/flaky", b'{"n": 1}')
        results = await sandbox.bus.drain()
        for delay in sandbox.bus.retry_delays:  # 1 s, then 2 s: Lambda's two retries
            clock.advance(delay)
            results += await sandbox.bus.drain()
        assert [(r.pragma, r.attempt, r.ok, r.request_id) for r in results] == [
            ("lambda", 1, False, request_id), ("lambda", 2, False, request_id), ("lambda", 3, True, request_id),
        ]  # fmt: skip
    assert seen_ids(app, "http/get-flaky") == [request_id] * 3  # what the handler's context said, each time
    for word in ("START", "END", "REPORT"):
        lines = lambda_lines(caplog, word)
        assert len(lines) == 3 and all(f"RequestId: {request_id}" in line for line in lines), lines


async def test_an_events_delivery_published_by_a_function_keeps_one_request_id_through_its_retries(
    tmp_path: Path,
) -> None:
    app = write_app(tmp_path)
    clock = FakeClock()
    async with Sandbox(SandboxConfig.ephemeral(app, watch=False), clock=clock) as sandbox:
        async with aiohttp.ClientSession() as session, session.post(sandbox.url + "/publish") as published:
            assert published.status == 202  # the handler published with sandbox.arc.events
        (first,) = await sandbox.bus.drain()
        (message_id,) = first.message_ids
        clock.advance(sandbox.bus.retry_delays[0])
        (second,) = await sandbox.bus.drain()
        clock.advance(sandbox.bus.retry_delays[1])
        (third,) = await sandbox.bus.drain()
    request_id = first.request_id
    assert [(r.attempt, r.ok, r.request_id) for r in (first, second, third)] == [
        (1, False, request_id), (2, False, request_id), (3, True, request_id),
    ]  # fmt: skip
    assert seen_ids(app, "events/notify") == [request_id] * 3
    assert request_id != message_id  # SNS's message id is the message's; the request id is Lambda's invocation's


async def test_a_queue_message_received_again_is_a_new_invocation_with_a_new_request_id(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    async with Sandbox(SandboxConfig.ephemeral(app, watch=False), clock=FakeClock()) as sandbox:
        await sandbox.bus.send_message("work", {"job": 1})
        results = await sandbox.settle(raise_on_failure=False)  # the clock moves on past the visibility timeout
    assert [(r.pragma, r.attempt, r.ok) for r in results] == [("queues", 1, False), ("queues", 2, True)]
    first, second = seen_ids(app, "queues/work")
    assert first != second and [r.request_id for r in results] == [first, second]


async def test_a_job_retried_after_a_restart_keeps_its_request_id(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    config = SandboxConfig.ephemeral(app, watch=False, memory=False)
    assert config.database_path is not None
    async with Sandbox(config, clock=FakeClock()) as sandbox:
        invoked = await invoke_event(sandbox, "sandbox-get/flaky", b"{}")
        published = await sandbox.bus.publish("notify", {"n": 1})
        first = {r.name: r for r in await sandbox.bus.drain()}  # both fail; their retries wait a second
        assert {name: r.attempt for name, r in first.items()} == {"get /flaky": 1, "notify": 1}
        assert first["get /flaky"].request_id == invoked and first["notify"].message_ids == (published,)
        event_request_id = first["notify"].request_id
    # Stored with the jobs, as the next run reads them.
    assert stored_request_ids(config.database_path) == {"get /flaky": invoked, "notify": event_request_id}

    async with Sandbox(config, clock=FakeClock()) as sandbox:
        assert sandbox.restored["invokes"] == 1
        results = await sandbox.settle(raise_on_failure=False)
    assert sorted((r.name, r.attempt, r.request_id) for r in results) == [
        ("get /flaky", 2, invoked), ("get /flaky", 3, invoked),
        ("notify", 2, event_request_id), ("notify", 3, event_request_id),
    ]  # fmt: skip
    assert seen_ids(app, "http/get-flaky") == [invoked] * 3
    assert seen_ids(app, "events/notify") == [event_request_id] * 3
    assert stored_request_ids(config.database_path) == {}


async def test_a_dead_letter_keeps_the_request_id_and_its_replay_is_a_new_invocation(tmp_path: Path) -> None:
    app = write_app(tmp_path, fails=3)
    config = SandboxConfig.ephemeral(app, watch=False, memory=False)
    async with Sandbox(config, clock=FakeClock()) as sandbox:
        request_id = await invoke_event(sandbox, "sandbox-get/flaky", b"{}")
        assert [r.ok for r in await sandbox.settle(raise_on_failure=False)] == [False] * 3
        (letter,) = sandbox.bus.dead_letters()
        assert letter.request_id == request_id
    async with Sandbox(config, clock=FakeClock()) as sandbox:
        (letter,) = sandbox.bus.dead_letters()
        assert letter.request_id == request_id  # stored with it
        replayed = await sandbox.bus.replay_dead_letter(letter.id)
        (result,) = await sandbox.settle()
    assert replayed != request_id and result.request_id == replayed
    assert seen_ids(app, "http/get-flaky") == [request_id] * 3 + [replayed]


async def test_the_dashboard_keeps_each_attempt_with_its_own_outcome_and_log_lines(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    async with (
        Sandbox(SandboxConfig.ephemeral(app, watch=False), clock=FakeClock()) as sandbox,
        aiohttp.ClientSession(f"http://127.0.0.1:{sandbox.ports['internal']}") as client,
    ):
        stream = await client.get(API + "/stream")
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")  # subscribed from here on
        request_id = await invoke_event(sandbox, "sandbox-get/flaky", b'{"n": 1}')
        await sandbox.settle(raise_on_failure=False)
        async with client.get(API + "/invocations", params={"function": "get /flaky"}) as listing:
            rows = (await listing.json())["invocations"]
        assert [(r["request_id"], r["attempt"], r["status"]) for r in rows] == [
            (request_id, 3, "ok"), (request_id, 2, "error"), (request_id, 1, "error"),
        ]  # fmt: skip
        details = []
        for row in reversed(rows):
            async with client.get(API + f"/invocations/{row['seq']}") as detail:
                details.append(await detail.json())
        for n, detail in enumerate(details, start=1):
            assert f"attempt {n} as {request_id}" in detail["logs"]  # its own lines, no other attempt's
            assert not any(f"attempt {other} as" in line for line in detail["logs"] for other in {1, 2, 3} - {n})
            assert [(a["attempt"], a["status"]) for a in detail["attempts"]] == [(1, "error"), (2, "error"), (3, "ok")]
        assert [d["error_message"] for d in details] == ["failing attempt 1", "failing attempt 2", None]
        assert details[2]["result"] == {"attempt": 3}
        async with client.get(API + f"/invocations/{request_id}") as newest:
            assert (await newest.json())["seq"] == rows[0]["seq"]  # by request id: the latest attempt

        # The live stream tells each attempt's end, and routes each log line to its attempt.
        finished: dict[int, str] = {}
        logged: dict[int, list[str]] = {}
        while len(finished) < 3:
            head, _, data = (await stream.content.readuntil(b"\n\n")).decode().partition("\ndata: ")
            told = json.loads(data)
            if head == "event: finished":
                finished[told["seq"]] = told["status"]
            elif head == "event: log":
                logged.setdefault(told["seq"], []).append(told["line"])
        stream.close()
    by_attempt = {r["seq"]: r["attempt"] for r in rows}
    assert {by_attempt[seq]: status for seq, status in finished.items()} == {1: "error", 2: "error", 3: "ok"}
    assert set(logged) == set(by_attempt)
    for seq, lines in logged.items():
        assert [line for line in lines if line.startswith("attempt ")] == [f"attempt {by_attempt[seq]} as {request_id}"]
