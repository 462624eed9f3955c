"""What the bus promises about storage and memory: an event is in SQLite once `publish` returns,
writes share transactions (group commit), and what it keeps for tests stays bounded."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from sandbox.bus import EventBus
from sandbox.clock import FakeClock
from sandbox.dashboard import bus_state
from sandbox.db import Database
from sandbox.lambdas.invoker import Invoker
from sandbox.messaging.commits import GroupCommit
from sandbox.model import EventSpec, FunctionSpec, Manifest, QueueSpec

QUICK = "def handler(event, context):\n    return None\n"


def function(root: Path, pragma: str, name: str, code: str) -> FunctionSpec:
    folder = root / pragma / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lambda.py").write_text(code)
    return FunctionSpec(pragma, name, folder, timeout=900)  # type: ignore[arg-type]


def stored_events(path: Path) -> list[str]:
    """Read by another connection, as the next run after a crash would."""
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT message_id FROM bus_events")]


async def test_a_published_event_is_in_sqlite_when_publish_returns_and_gone_once_delivered(tmp_path: Path) -> None:
    quick = function(tmp_path, "events", "quick", QUICK)
    manifest = Manifest(app="durable", root=tmp_path, source=None, events=(EventSpec("quick", quick),))
    path = tmp_path / "bus.db"
    async with Invoker() as invoker, Database(path) as db:
        bus = EventBus(manifest, invoker, db=db, clock=FakeClock())
        await bus.start()
        try:
            message_id = await bus.publish("quick", {"n": 1})
            # read at once, without giving the loop a turn: the delivery cannot have finished yet
            assert stored_events(path) == [message_id]
            await bus.drain(raise_on_failure=True)
            assert stored_events(path) == []  # delivered: forgotten
        finally:
            await bus.stop()


async def test_writes_asked_for_together_share_one_transaction(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        await db.write_many([("CREATE TABLE t (n INTEGER)", [()])])
        commits = GroupCommit(db, logger=logging.getLogger("test"))
        await asyncio.gather(*(commits.write(("INSERT INTO t VALUES (?)", [(n,)])) for n in range(200)))
        assert commits.commits == 1
        assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 200


async def test_a_failed_group_commit_fails_every_write_in_it_and_the_next_group_still_commits(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        await db.write_many([("CREATE TABLE t (n INTEGER PRIMARY KEY)", [()])])
        commits = GroupCommit(db, logger=logging.getLogger("test"))
        first = asyncio.ensure_future(commits.write(("INSERT INTO t VALUES (?)", [(1,)])))
        clash = asyncio.ensure_future(commits.write(("INSERT INTO t VALUES (?)", [(1,)])))
        outcomes = await asyncio.gather(first, clash, return_exceptions=True)
        assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes)  # one transaction: all or nothing
        await commits.write(("INSERT INTO t VALUES (?)", [(2,)]))
        assert await db.fetchall("SELECT n FROM t") == [(2,)]


async def test_memory_stays_flat_over_many_events_and_queue_messages(tmp_path: Path) -> None:
    events = function(tmp_path, "events", "quick", QUICK)
    queue = function(tmp_path, "queues", "work", QUICK)
    manifest = Manifest(
        app="flat", root=tmp_path, source=None, events=(EventSpec("quick", events),),
        queues=(QueueSpec("work", queue, fifo=False),),
    )  # fmt: skip
    async with Invoker() as invoker, Database(None) as db:
        bus = EventBus(manifest, invoker, db=db, clock=FakeClock(), keep_published=100)
        await bus.start()

        async def traffic(count: int) -> None:
            for first in range(0, count, 100):
                await asyncio.gather(*(bus.publish("quick", {"n": n}) for n in range(first, first + 100)))
                await asyncio.gather(*(bus.send_message("work", {"n": n}) for n in range(first, first + 100)))
                await bus.drain(raise_on_failure=True)

        try:
            await traffic(500)  # warm: handlers imported, the rings full
            tracemalloc.start()
            try:
                await traffic(100)
                before = tracemalloc.get_traced_memory()[0]
                await traffic(2_000)
                grown = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
        finally:
            await bus.stop()
    assert len(bus.published) == 100
    assert grown < 300_000, f"{grown:,} bytes kept after 4,000 messages"


async def test_snapshot_lists_what_the_dashboard_shows_and_dead_letters_can_be_purged(tmp_path: Path) -> None:
    fails = function(tmp_path, "events", "fails", "def handler(event, context):\n    raise ValueError('no')\n")
    queue = function(tmp_path, "queues", "work", QUICK)
    manifest = Manifest(
        app="look", root=tmp_path, source=None, events=(EventSpec("fails", fails),),
        queues=(QueueSpec("work", queue, fifo=False),),
    )  # fmt: skip
    path = tmp_path / "bus.db"
    async with Invoker() as invoker, Database(path) as db:
        bus = EventBus(manifest, invoker, db=db, clock=FakeClock(), retry_delays=(60.0,))
        await bus.start()
        try:
            await bus.publish("fails", {"n": 1})
            await bus.send_message("work", {"later": True}, delay_seconds=30)
            await bus.drain()
            snapshot = bus.snapshot()
            assert [(e["name"], e["state"], e["attempt"]) for e in snapshot["events"]] == [("fails", "retrying", 2)]
            (message,) = snapshot["queues"]
            assert (message.queue, message.state, message.body, message.receive_count) == (
                "work", "delayed", '{"later": true}', 0,
            )  # fmt: skip
            bus.clock.advance(60)  # type: ignore[attr-defined]
            await bus.drain()
            assert [d.name for d in bus.snapshot()["dead_letters"]] == ["fails"]
            assert await bus.purge_dead_letters() == 1
        finally:
            await bus.stop()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM bus_dead_letters").fetchone() == (0,)


def old_database(tmp_path: Path, table: str) -> tuple[Manifest, Path]:
    """An app with one @events topic, and a database an earlier version left: one event retry, stored in
    `table` with the columns events had before the `kind` column."""
    quick = function(tmp_path, "events", "quick", QUICK)
    manifest = Manifest(app="old", root=tmp_path, source=None, events=(EventSpec("quick", quick),))
    path = tmp_path / "bus.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"CREATE TABLE {table} (message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, "
            "payload TEXT NOT NULL, subject TEXT, attributes TEXT, attempt INTEGER NOT NULL, due REAL NOT NULL)"
        )
        conn.execute(f"INSERT INTO {table} VALUES ('m1', 1, 'quick', '{{\"n\": 1}}', NULL, NULL, 2, 0)")
    return manifest, path


async def test_event_retries_stored_by_the_previous_version_are_kept(tmp_path: Path) -> None:
    manifest, path = old_database(tmp_path, "bus_event_retries")
    async with Invoker() as invoker, Database(path) as db:
        bus = EventBus(manifest, invoker, db=db, clock=FakeClock())
        await bus.start()
        try:
            assert [(r.ok, r.attempt, r.message_ids) for r in await bus.drain()] == [(True, 2, ("m1",))]
        finally:
            await bus.stop()


async def test_events_stored_before_async_invokes_had_a_kind_are_kept_as_topic_events(tmp_path: Path) -> None:
    """A database from before Lambda async invokes were stored: `bus_events` without its `kind` column."""
    manifest, path = old_database(tmp_path, "bus_events")
    async with Invoker() as invoker, Database(path) as db:
        bus = EventBus(manifest, invoker, db=db, clock=FakeClock())
        await bus.start()
        try:
            assert [(p["pragma"], p["name"]) for p in bus.pending()] == [("events", "quick")]
            with sqlite3.connect(path) as conn:
                assert conn.execute("SELECT message_id, kind FROM bus_events").fetchall() == [("m1", "events")]
            async_id = await bus.invoke_async("quick", {"n": 2})  # the migrated table takes the new kind
            assert sorted(stored_events(path)) == sorted(["m1", async_id])
            results = await bus.drain(raise_on_failure=True)
            assert sorted((r.pragma, r.message_ids) for r in results) == [
                ("events", ("m1",)), ("lambda", (async_id,)),
            ]  # fmt: skip
            assert stored_events(path) == []
        finally:
            await bus.stop()


async def test_async_invokes_for_a_function_gone_from_the_manifest_stay_stored_until_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "arc_sandbox")
    slow = function(
        tmp_path, "events", "later", "import asyncio\nasync def handler(e, c):\n    await asyncio.sleep(600)\n"
    )
    with_it = Manifest(app="gone", root=tmp_path, source=None, events=(EventSpec("later", slow),))
    without = Manifest(app="gone", root=tmp_path, source=None)
    path = tmp_path / "bus.db"
    async with Invoker() as invoker:
        async with Database(path) as db:
            bus = EventBus(with_it, invoker, db=db, clock=FakeClock())
            await bus.start()
            ids = [await bus.invoke_async("later", {"n": n}) for n in (1, 2)]
            await bus.stop(grace=0)  # both acknowledged, neither finished
        async with Database(path) as db:  # the next run, with the function taken out of the manifest
            bus = EventBus(without, invoker, db=db, clock=FakeClock())
            await bus.start()
            try:
                assert await bus.drain() == []
                assert sorted(stored_events(path)) == sorted(ids)
                assert [(p["pragma"], p["name"]) for p in bus.pending()] == [("lambda", "later")] * 2
                (waiting,) = bus_state.overview(bus)["invokes"]  # the dashboard shows them, under the function
                assert (waiting["name"], waiting["counts"]) == ("later", {"retrying": 2, "dead_letters": 0})
                said = [r.getMessage() for r in caplog.records if "no longer in the manifest" in r.getMessage()]
                assert len(said) == 1  # once for the function, not once per invoke
                assert said[0].startswith("Invoke later (Event): the function is no longer in the manifest")
                function(tmp_path, "events", "later", QUICK)
                invoker.invalidate()
                bus.update_manifest(with_it)  # a reload brings it back
                results = await bus.drain(raise_on_failure=True)
                assert sorted(r.message_ids[0] for r in results) == sorted(ids)
                assert stored_events(path) == [] and bus.pending() == []
            finally:
                await bus.stop()


async def test_jobs_and_dead_letters_stored_before_request_ids_were_kept_get_one_used_by_every_next_attempt(
    tmp_path: Path,
) -> None:
    """A database from before request ids were stored: an @events delivery and an async invoke, each waiting
    for its next attempt, and a dead letter, none with a request id."""
    fails = function(tmp_path, "events", "fails", "def handler(event, context):\n    raise ValueError('no')\n")
    manifest = Manifest(app="old", root=tmp_path, source=None, events=(EventSpec("fails", fails),))
    path = tmp_path / "bus.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE bus_events (message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, "
            "payload TEXT NOT NULL, subject TEXT, attributes TEXT, attempt INTEGER NOT NULL, due REAL NOT NULL, "
            "kind TEXT NOT NULL DEFAULT 'events')"
        )
        conn.execute("INSERT INTO bus_events VALUES ('sns-1', 1, 'fails', '{}', NULL, NULL, 2, 0, 'events')")
        conn.execute("INSERT INTO bus_events VALUES ('req-202', 2, 'fails', '{}', NULL, NULL, 2, 0, 'lambda')")
        conn.execute(
            "CREATE TABLE bus_dead_letters (id TEXT PRIMARY KEY, pragma TEXT NOT NULL, name TEXT NOT NULL, "
            "payload TEXT NOT NULL, attempts INTEGER NOT NULL, error TEXT, traceback TEXT, failed_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO bus_dead_letters VALUES ('d1', 'events', 'fails', '{}', 3, 'no', NULL, 0)")
    async with Invoker() as invoker, Database(path) as db:
        bus = EventBus(manifest, invoker, db=db, clock=FakeClock(), retry_delays=(0.0, 0.0))
        await bus.start()
        try:
            with sqlite3.connect(path) as conn:
                given = dict(conn.execute("SELECT message_id, request_id FROM bus_events").fetchall())
            # The async invoke's is the id its 202 answered with (its message id); the event's is new.
            assert given["req-202"] == "req-202" and given["sns-1"] not in (None, "sns-1")
            assert [d.request_id for d in bus.dead_letters()] == [None]  # read as before
            results = await bus.drain()
            by_job = {(r.message_ids[0], r.attempt): r.request_id for r in results}
            assert by_job == {("sns-1", 2): given["sns-1"], ("sns-1", 3): given["sns-1"],
                              ("req-202", 2): "req-202", ("req-202", 3): "req-202"}  # fmt: skip
            old, *new = bus.dead_letters()  # by when they failed
            assert old.id == "d1" and sorted(d.request_id or "" for d in new) == sorted([given["sns-1"], "req-202"])
        finally:
            await bus.stop()
