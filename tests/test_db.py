"""The database's shared trips: `read_now` and `write_one` calls of one turn of the loop, run together."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from sandbox.db import Database

SCHEMA = "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"


async def test_write_one_is_committed_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    async with Database(path) as db:
        await db.write_one(SCHEMA)
        await db.write_one("INSERT INTO kv VALUES (?, ?)", ("a", "1"))
        other = sqlite3.connect(path)  # another connection sees only what is committed
        try:
            assert other.execute("SELECT v FROM kv WHERE k = 'a'").fetchall() == [("1",)]
        finally:
            other.close()


async def test_read_now_waits_for_an_open_transaction_and_sees_its_commit() -> None:
    async with Database(None) as db:
        await db.write_one(SCHEMA)
        inside = asyncio.Event()
        release = asyncio.Event()

        async def writer() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO kv VALUES ('b', 'new')")
                inside.set()
                await release.wait()

        task = asyncio.create_task(writer())
        await inside.wait()
        read = asyncio.create_task(db.read_now("SELECT v FROM kv WHERE k = 'b'"))
        await asyncio.sleep(0)  # let the read start: it must not run inside the open transaction
        assert not read.done()
        release.set()
        await task
        assert await read == [("new",)]


async def test_read_now_never_runs_inside_an_open_transaction() -> None:
    """The read shares the transaction's connection, where an uncommitted row would show: a read that
    ran inside it would see the row the transaction then rolls back."""
    async with Database(None) as db:
        await db.write_one(SCHEMA)
        inside = asyncio.Event()
        release = asyncio.Event()

        async def writer() -> None:
            with contextlib.suppress(RuntimeError):
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO kv VALUES ('b', 'rolled back')")
                    inside.set()
                    await release.wait()
                    raise RuntimeError("roll back")

        task = asyncio.create_task(writer())
        await inside.wait()
        read = asyncio.create_task(db.read_now("SELECT v FROM kv WHERE k = 'b'"))
        release.set()
        await task
        assert await read == []


async def test_statements_of_one_turn_run_in_order_and_commit_together(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    async with Database(path) as db:
        await db.write_one(SCHEMA)
        # Started in one turn: the read sees the writes queued before it, not the one after.
        _, _, read, _ = await asyncio.gather(
            db.write_one("INSERT INTO kv VALUES ('a', '1')"),
            db.write_one("INSERT INTO kv VALUES ('b', '2')"),
            db.read_now("SELECT k FROM kv ORDER BY k"),
            db.write_one("INSERT INTO kv VALUES ('c', '3')"),
        )
        assert read == [("a",), ("b",)]
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT count(*) FROM kv").fetchall() == [(3,)]
        finally:
            other.close()


async def test_a_failing_statement_fails_alone() -> None:
    async with Database(None) as db:
        await db.write_one(SCHEMA)
        await db.write_one("INSERT INTO kv VALUES ('a', '1')")
        results = await asyncio.gather(
            db.write_one("INSERT INTO kv VALUES ('a', 'again')"),  # the key is taken
            db.write_one("INSERT INTO kv VALUES ('b', '2')"),
            db.read_now("SELECT v FROM kv ORDER BY k"),
            return_exceptions=True,
        )
        assert isinstance(results[0], sqlite3.IntegrityError)
        assert results[1] is None
        assert results[2] == [("1",), ("2",)]
