"""The one SQLite database of a sandbox (tables and queued messages), shared through one connection.

SQLite allows one writer; a single aiosqlite connection with an asyncio lock around every
transaction keeps the store's and the bus's writes from interleaving inside each other's transactions.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

MEMORY = ":memory:"


class Database:
    """Open with `async with Database(path)`; `path=None` keeps everything in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock: Any = None  # asyncio.Lock, made on open so it binds to the running loop

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
        self._conn = await aiosqlite.connect(str(self.path) if self.path else MEMORY, isolation_level=None)
        self._lock = asyncio.Lock()
        await self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL is durable against a process crash; only an OS crash can lose the last commit.
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")

    async def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        await conn.close()

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

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> None:
        """One statement, atomic on its own (SQLite's autocommit): one trip to the database thread
        where `transaction()` takes three, for a write that needs nothing read first."""
        async with self._lock:
            await self.conn.execute(sql, tuple(params))

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
