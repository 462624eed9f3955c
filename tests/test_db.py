"""The database's loop-side statements (`read_now`, `write_one`) and its WAL checkpoints off the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sandbox.db import CHECKPOINT_BYTES, Database

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


async def test_the_wal_is_checkpointed_off_the_loop_and_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    async with Database(path) as db:
        # The loop's connection never checkpoints inside a commit (that can wait on a disk flush).
        assert await db.read_now("PRAGMA wal_autocheckpoint") == [(0,)]
        await db.write_one(SCHEMA)
        value = "x" * 2000
        for i in range(4000):  # ~30 MB of WAL frames if nothing copied them back
            await db.write_one("INSERT INTO kv VALUES (?, ?)", (f"k{i}", value))
            if i % 256 == 0:
                await db.wal_settled()
        await db.wal_settled()
        wal = path.with_name(path.name + "-wal").stat().st_size
        assert wal < 3 * CHECKPOINT_BYTES
        assert await db.read_now("SELECT count(*) FROM kv") == [(4000,)]
