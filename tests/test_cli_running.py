"""The CLI against a real running sandbox whose ports come from its prefs.arc (never the defaults):
tables, messages, replay, purge, logs and invoke, found the way `start` finds them."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sandbox.cli import cli
from sandbox.clock import FakeClock
from sandbox.config import DEFAULT_PORTS, SandboxConfig
from sandbox.threaded import ThreadedSandbox, threaded_sandbox
from tests.wire_app import client_factory

MANIFEST = """@app
cli-app

@events
ping

@queues
work
  fifo false

@tables
notes
  owner *String
  at **Number
"""
FLAKY = """def handler(event, context):
    for record in event["Records"]:
        if "fail" in record["body"]:
            raise ValueError("told to fail")
"""


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    http, events, tables, internal = _free_ports(4)
    (tmp_path / "app.arc").write_text(MANIFEST)
    (tmp_path / "prefs.arc").write_text(
        f"@sandbox\nports\n  http {http}\n  events {events}\n  tables {tables}\n  _arc {internal}\n"
    )
    for kind, name, code in (
        ("events", "ping", "def handler(event, context):\n    print('ponging')\n    return 'pong'\n"),
        ("queues", "work", FLAKY),
    ):
        (tmp_path / "src" / kind / name).mkdir(parents=True)
        (tmp_path / "src" / kind / name / "lambda.py").write_text(code)
    return tmp_path


@pytest.fixture
def running(app_dir: Path) -> Iterator[ThreadedSandbox]:
    # Ports left unset: the sandbox, like the CLI, takes them from prefs.arc.
    with threaded_sandbox(SandboxConfig(app_dir, memory=True, quiet=True), clock=FakeClock()) as running:
        yield running


def _run(app_dir: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--app", str(app_dir)], input=input, catch_exceptions=False)


def test_cli_tables_put_get_query_scan_and_delete(app_dir: Path, running: ThreadedSandbox) -> None:
    for at in (1, 2, 3):
        put = _run(app_dir, "tables", "put", "notes", json.dumps({"owner": "ann", "at": at, "text": f"note {at}"}))
        assert put.exit_code == 0, put.output
    listing = _run(app_dir, "tables")
    assert listing.exit_code == 0, listing.output
    assert "notes" in listing.output and "3 items" in listing.output and "keys (owner, at)" in listing.output
    got = _run(app_dir, "tables", "get", "notes", '{"owner": "ann", "at": 2}')
    assert json.loads(got.output) == {"owner": "ann", "at": 2, "text": "note 2"}
    query = _run(app_dir, "tables", "query", "notes", "ann", "--sort", ">=", "2", "--desc")
    assert [json.loads(line)["at"] for line in query.output.splitlines()] == [3, 2]
    first = _run(app_dir, "tables", "scan", "notes", "--limit", "2")
    assert len(first.stdout.splitlines()) == 2 and "more: --start" in first.stderr
    everything = _run(app_dir, "tables", "scan", "notes", "--limit", "2", "--all", "--dynamo")
    assert [json.loads(line)["at"] for line in everything.output.splitlines()] == [{"N": "1"}, {"N": "2"}, {"N": "3"}]
    deleted = _run(app_dir, "tables", "delete", "notes", '{"owner": "ann", "at": 1}')
    assert deleted.output.strip() == "Deleted."
    missing = _run(app_dir, "tables", "get", "notes", '{"owner": "ann", "at": 1}')
    assert missing.exit_code == 1 and "no item with that key" in missing.output


def test_cli_tables_rejects_bad_input_without_writing(app_dir: Path, running: ThreadedSandbox) -> None:
    not_json = _run(app_dir, "tables", "put", "notes", "{nope")
    assert not_json.exit_code == 2 and "not JSON" in not_json.output
    no_key = _run(app_dir, "tables", "put", "notes", '{"text": "no key"}')
    assert no_key.exit_code == 1 and "key" in no_key.output.lower()
    untyped = _run(app_dir, "tables", "put", "notes", '{"owner": "ann", "at": 1}', "--dynamo")
    assert (
        untyped.exit_code == 1 and """'owner' is not DynamoDB JSON: give each value with its type""" in untyped.output
    )
    unknown = _run(app_dir, "tables", "scan", "nope")
    assert unknown.exit_code == 1 and "no @tables table named 'nope'" in unknown.output
    assert "0 items" in _run(app_dir, "tables").output


def test_cli_messages_shows_bodies_and_readable_times_then_replays_and_purges(
    app_dir: Path, running: ThreadedSandbox
) -> None:
    bus = running.sandbox.bus
    running.run(bus.send_message("work", {"job": "later"}, delay_seconds=600))
    running.run(bus.send_message("work", {"job": "fail"}))
    running.run(running.sandbox.bus.drain())  # first receive fails: the message waits out its visibility timeout
    listing = _run(app_dir, "messages")
    assert listing.exit_code == 0, listing.output
    assert '{"job":"later"}' in listing.output and "delayed" in listing.output and "(in 10m)" in listing.output
    assert "retrying" in listing.output and "receives 1" in listing.output
    running.run(running.sandbox.settle(raise_on_failure=False))  # two more receives: dead-lettered
    dead = _run(app_dir, "messages", "--state", "dead")
    assert "told to fail" in dead.output and '{"job":"fail"}' in dead.output and "later" not in dead.output
    as_json = json.loads(_run(app_dir, "messages", "--json").output)
    (letter,) = as_json["queues"][0]["dead_letters"]
    assert _run(app_dir, "replay").exit_code == 2  # nothing named: a usage error, nothing replayed
    replayed = _run(app_dir, "replay", letter["id"])
    assert replayed.output.strip() == "Replayed 1 dead letter(s)."
    running.run(running.sandbox.settle(raise_on_failure=False))
    assert _run(app_dir, "messages", "--state", "dead", "--name", "work").output.count("told to fail") == 1
    purged = _run(app_dir, "purge", "--name", "work", "--yes")
    assert purged.output.strip() == "Purged 1 dead letter(s)."
    assert "No messages." in _run(app_dir, "messages", "--state", "dead").output


def test_cli_invoke_and_logs_find_the_sandbox_through_prefs_arc(app_dir: Path, running: ThreadedSandbox) -> None:
    invoked = _run(app_dir, "invoke", "events", "ping", '{"hello": 1}')
    assert invoked.exit_code == 0, invoked.output
    assert json.loads(invoked.output)["ok"] is True
    logs = _run(app_dir, "logs", "--function", "ping")
    assert logs.exit_code == 0, logs.output
    (line,) = logs.output.splitlines()
    assert "ok" in line and "ping" in line and "@events" in line
    assert "No invocations of work yet." in _run(app_dir, "logs", "--function", "work").stderr
    unknown = _run(app_dir, "logs", "--function", "pong")
    assert unknown.exit_code == 2 and "no function named 'pong'; this app's: ping, work" in unknown.output


def test_cli_logs_follow_prints_one_functions_invocations_with_their_log_lines(
    app_dir: Path, running: ThreadedSandbox
) -> None:
    command = [sys.executable, "-m", "sandbox", "logs", "--app", str(app_dir), "-n", "0", "--follow", "--max", "1"]
    command += ["--function", "ping"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        assert "Following invocations of ping" in proc.stderr.readline()  # subscribed: what happens next is printed
        running.run(running.sandbox.bus.invoke_now("queues", "work", {"job": "quiet"}))  # not ping: left out
        running.run(running.sandbox.bus.invoke_now("events", "ping", {}))
        out = proc.stdout.read()
        assert proc.wait(timeout=20) == 0
    call, log_line = out.splitlines()
    assert "ping" in call and "@events" in call and "ok" in call
    assert log_line.strip() == "│ ponging"  # what the handler printed, under its invocation


def test_cli_logs_follow_prints_each_attempt_of_an_async_invoke_with_its_own_log_lines(
    app_dir: Path, running: ThreadedSandbox
) -> None:
    command = [sys.executable, "-m", "sandbox", "logs", "--app", str(app_dir), "-n", "0", "--follow", "--max", "3"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        assert "Following invocations" in proc.stderr.readline()
        lam = client_factory("lambda", running.sandbox.ports["events"])()
        # No Records in the event: each attempt fails, printing its traceback, all three with the 202's request id.
        answer = lam.invoke(FunctionName="work", InvocationType="Event", Payload=b'{"job": "direct"}')
        running.run(running.sandbox.settle(raise_on_failure=False))  # the clock skips the backoff: one stream batch
        out = proc.stdout.read()
        assert proc.wait(timeout=20) == 0
    calls: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("    "):
            calls[-1].append(line)
        else:
            calls.append([line])
    assert len(calls) == 3 and all("work" in call[0] and "error" in call[0] for call in calls)
    assert all(answer["ResponseMetadata"]["RequestId"] in call[0] for call in calls), out
    logged = [[line for line in call if "│" in line] for call in calls]
    assert logged[0] and logged[0] == logged[1] == logged[2], out  # each attempt's own lines under it


def test_cli_says_which_port_it_tried_when_no_sandbox_answers(app_dir: Path) -> None:
    result = _run(app_dir, "tables")
    assert result.exit_code == 1
    port = (app_dir / "prefs.arc").read_text().split("_arc ")[1].strip()
    assert f"no sandbox answers on port {port}" in result.output


def test_cli_output_has_colour_only_without_no_color(app_dir: Path, running: ThreadedSandbox) -> None:
    args = ["tables", "--app", str(app_dir)]
    coloured = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": ""})
    plain = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": "1"})
    assert "\x1b[" in coloured.output
    assert "\x1b[" not in plain.output and "notes" in plain.output


def test_cli_reaches_the_sandbox_that_moved_past_a_busy_default_port(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`start` moves the events port past a busy 4444 (another app's sandbox, say): the CLI's commands
    must then reach this app's sandbox, which records its ports in its data folder, not the other one."""
    monkeypatch.delenv("ARC_EVENTS_PORT", raising=False)
    prefs = (app_dir / "prefs.arc").read_text()
    (app_dir / "prefs.arc").write_text("\n".join(line for line in prefs.splitlines() if "events" not in line) + "\n")
    squatter = socket.socket()
    with contextlib.suppress(OSError):  # already taken by someone else: as good
        squatter.bind(("127.0.0.1", DEFAULT_PORTS["events"]))
        squatter.listen()
    try:
        with threaded_sandbox(SandboxConfig(app_dir, quiet=True), clock=FakeClock()) as running:
            moved = running.sandbox.ports["events"]
            assert moved != DEFAULT_PORTS["events"]
            invoked = json.loads(_run(app_dir, "invoke", "events", "ping", "{}").output)
            assert invoked["ok"] and invoked["name"] == "ping"
            assert running.sandbox.recorder.recorded == 1  # this sandbox ran it
        assert "no sandbox answers on port" in _run(app_dir, "messages").output  # stopped: the record is gone
    finally:
        squatter.close()


def test_cli_messages_tells_a_dead_lettered_async_invoke_apart_and_replays_it(
    app_dir: Path, running: ThreadedSandbox
) -> None:
    lam = client_factory("lambda", running.sandbox.ports["events"])()
    # The queue's function, invoked directly: no Records in the event, so it fails each attempt.
    assert lam.invoke(FunctionName="work", InvocationType="Event", Payload=b'{"job": "direct"}')["StatusCode"] == 202
    running.run(running.sandbox.settle(raise_on_failure=False))
    dead = _run(app_dir, "messages", "--state", "dead")
    assert dead.exit_code == 0, dead.output
    heading, body, error = dead.output.splitlines()
    assert heading.startswith("Invoke (Event) work ") and "attempts 3" in heading
    assert body.strip() == '{"job":"direct"}' and "KeyError" in error
    as_json = json.loads(_run(app_dir, "messages", "--json").output)
    assert as_json["queues"][0]["dead_letters"] == []
    (letter,) = as_json["invokes"][0]["dead_letters"]
    assert letter["pragma"] == "lambda"
    assert _run(app_dir, "replay", letter["id"]).output.strip() == "Replayed 1 dead letter(s)."
    results = running.run(running.sandbox.settle(raise_on_failure=False))
    assert [(r.pragma, r.name, r.attempt) for r in results] == [("lambda", "work", n) for n in (1, 2, 3)]


def test_cli_replay_by_name_asks_which_when_a_queue_and_a_function_share_it(
    app_dir: Path, running: ThreadedSandbox
) -> None:
    # The queue `work` and its function `work` (invoked directly, asynchronously) each get a dead letter.
    running.run(running.sandbox.bus.send_message("work", {"job": "fail"}))
    lam = client_factory("lambda", running.sandbox.ports["events"])()
    assert lam.invoke(FunctionName="work", InvocationType="Event", Payload=b'{"job": "direct"}')["StatusCode"] == 202
    running.run(running.sandbox.settle(raise_on_failure=False))
    assert {d.pragma for d in running.sandbox.bus.dead_letters()} == {"queues", "lambda"}
    ambiguous = _run(app_dir, "replay", "--name", "work")
    assert ambiguous.exit_code == 1
    assert "belong to Invoke (Event) work and @queues work: say which with pragma lambda or queues" in ambiguous.output
    assert _run(app_dir, "purge", "--name", "work", "--yes").exit_code == 1
    assert len(running.sandbox.bus.dead_letters()) == 2  # neither acted on
    assert _run(app_dir, "replay", "--pragma", "queues").exit_code == 2  # a pragma alone names nothing
    assert _run(app_dir, "purge", "--name", "work", "--pragma", "queues", "--yes").output.strip() == (
        "Purged 1 dead letter(s)."
    )
    (left,) = running.sandbox.bus.dead_letters()
    assert left.pragma == "lambda"
    assert _run(app_dir, "replay", "--name", "work").output.strip() == "Replayed 1 dead letter(s)."  # one kind left
