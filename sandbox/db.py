"""The one SQLite database of a sandbox (tables and queued messages), shared through one connection.

SQLite allows one writer; a single aiosqlite connection with an asyncio lock around every
transaction keeps the store's and the bus's writes from interleaving inside each other's transactions.

A point read or a one-statement write (`read_now`, `write_one`) runs on the event loop itself, on the
same connection, while it holds that lock: such a statement takes tens of microseconds, where the
hand-off to aiosqlite's thread and back costs two thread wake-ups. Holding the lock means no aiosqlite
call is in flight on the connection, so its use from two threads never overlaps. The loop must never
wait on a disk flush, so the connection does not checkpoint the WAL as it commits (SQLite's automatic
checkpoint runs inside a commit); a second connection does it off the loop once the WAL grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

MEMORY = ":memory:"
CHECKPOINT_BYTES = 4 * 1024 * 1024  # WAL size past which it is copied back into the database (SQLite's default)
CHECK_EVERY = 64  # commits between two looks at the WAL's size


class Database:
    """Open with `async with Database(path)`; `path=None` keeps everything in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock: Any = None  # asyncio.Lock, made on open so it binds to the running loop
        self._checkpoints = _Checkpoints(path)

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        import asyncio

        if self._conn is not None:
            return
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: `read_now` and `write_one` use it from the loop's thread, under the lock.
        self._conn = await aiosqlite.connect(
            str(self.path) if self.path else MEMORY, isolation_level=None, check_same_thread=False
        )
        self._lock = asyncio.Lock()
        await self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL is durable against a process crash; only an OS crash can lose the last commit.
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        if self.path is not None:
            await self._conn.execute("PRAGMA wal_autocheckpoint=0")  # _Checkpoints does it, off the loop

    async def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        await self._checkpoints.close()
        await conn.close()

    async def wal_settled(self) -> None:
        """Wait for a WAL checkpoint under way (on its own thread and connection) to finish."""
        await self._checkpoints.idle()

    @property
    def _raw(self) -> sqlite3.Connection:
        raw: sqlite3.Connection = self.conn._conn  # aiosqlite's sqlite3 connection
        return raw

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Everything written inside commits together or not at all. Every write goes through here,
        or through `write_one` when it is a single statement."""
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            self._checkpoints.committed()

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> None:
        """One small statement, atomic on its own (SQLite's autocommit), for a write that needs nothing
        read first: run on the loop, committed when this returns."""
        async with self._lock:
            self._raw.execute(sql, tuple(params))
        self._checkpoints.committed()

    async def read_now(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """The rows of a small read (a lookup by key), run on the loop: it sees every committed write
        and nothing of a transaction still open (it waits for that to end)."""
        async with self._lock:
            return self._raw.execute(sql, tuple(params)).fetchall()

    async def write_many(self, statements: Iterable[tuple[str, Iterable[tuple[Any, ...]]]]) -> None:
        """Several statements (each run with `executemany`) in one transaction, in one trip to the
        database thread where `transaction()` takes two more: what the bus's group commit uses."""
        conn = self.conn
        statements = list(statements)

        def run() -> None:
            raw = conn._conn  # aiosqlite's sqlite3 connection, used only on its own thread, here
            raw.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    raw.executemany(sql, rows)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")

        async with self._lock:
            # aiosqlite's own way of running a function on its thread; it has no public name for it.
            await conn._execute(run)  # type: ignore[no-untyped-call]
        self._checkpoints.committed()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Consistent reads: never in the middle of another task's open transaction."""
        async with self._lock:
            yield self.conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self.reading() as conn, conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self.reading() as conn, conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()


class _Checkpoints:
    """Copies the WAL back into the database from a connection of its own, on a worker thread, once
    the WAL passes CHECKPOINT_BYTES: a PASSIVE checkpoint, which neither waits for nor blocks the
    main connection's readers and writer."""

    def __init__(self, path: Path | None) -> None:
        self._wal = None if path is None else path.with_name(path.name + "-wal")
        self._path = path
        self._commits = 0
        self._conn: sqlite3.Connection | None = None
        self._running: asyncio.Task[None] | None = None

    def committed(self) -> None:
        if self._wal is None:
            return
        self._commits += 1
        if self._commits % CHECK_EVERY or (self._running is not None and not self._running.done()):
            return
        try:
            size = os.stat(self._wal).st_size
        except OSError:
            return
        if size >= CHECKPOINT_BYTES:
            self._running = asyncio.get_running_loop().create_task(asyncio.to_thread(self._checkpoint))

    async def idle(self) -> None:
        """Wait for a checkpoint under way to finish."""
        if self._running is not None:
            await self._running

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # a failed checkpoint loses nothing: the WAL keeps every commit
            await self.idle()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
