"""The one SQLite database of a sandbox (tables and queued messages), shared through one connection.

SQLite allows one writer; a single aiosqlite connection with an asyncio lock around every
transaction keeps the store's and the bus's writes from interleaving inside each other's transactions.

Point reads and one-statement writes (`read_now`, `write_one`) that arrive in the same turn of the
event loop share one trip to the database thread: the trip (a wake-up of that thread and one of the
loop) costs more than the statements. A shared trip's writes commit together before any of its
callers is answered, so a write is durable when its call returns, as alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
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
        self._pending: list[_Statement] = []  # read_now / write_one calls waiting for this turn's trip
        self._trips: set[asyncio.Task[None]] = set()

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
        """One small statement that needs nothing read first, committed when this returns; it shares
        its trip to the database thread (and its commit) with the others of this turn of the loop."""
        await self._queue(sql, tuple(params), write=True)

    async def read_now(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """The rows of a small read (a lookup by key), in a trip shared with this turn's others: it
        sees every write acknowledged before it, and nothing of a transaction still open."""
        return await self._queue(sql, tuple(params), write=False)

    def _queue(self, sql: str, params: tuple[Any, ...], *, write: bool) -> asyncio.Future[list[Any]]:
        loop = asyncio.get_running_loop()
        statement = _Statement(sql, params, write, loop.create_future())
        if not self._pending:
            trip = loop.create_task(self._run_pending())
            self._trips.add(trip)
            trip.add_done_callback(self._trips.discard)
        self._pending.append(statement)
        return statement.answer

    async def _run_pending(self) -> None:
        async with self._lock:  # a task runs this once the turn that queued the statements is over
            batch, self._pending = self._pending, []
            try:
                # aiosqlite's own way of running a function on its thread; it has no public name for it.
                await self.conn._execute(_run_batch, self.conn._conn, batch)  # type: ignore[no-untyped-call]
            except BaseException as error:  # the batch did not commit: nobody is told it did
                for statement in batch:
                    if not statement.answer.done():
                        statement.answer.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                return
        for statement in batch:
            if statement.answer.done():  # its caller was cancelled
                continue
            if isinstance(statement.rows, BaseException):
                statement.answer.set_exception(statement.rows)
            else:
                statement.answer.set_result(statement.rows)

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


class _Statement:
    __slots__ = ("answer", "params", "rows", "sql", "write")

    def __init__(self, sql: str, params: tuple[Any, ...], write: bool, answer: asyncio.Future[list[Any]]) -> None:
        self.sql = sql
        self.params = params
        self.write = write
        self.answer = answer
        self.rows: list[Any] | BaseException = []


def _run_batch(conn: sqlite3.Connection, batch: list[_Statement]) -> None:
    """On the database thread: the batch in order, in one transaction when it writes. A statement
    that fails keeps its error for its caller and the others run on (each write is one statement,
    so nothing of it is left half done); the loop answers them all once COMMIT succeeded."""
    # One statement alone is atomic on its own (SQLite's autocommit): no BEGIN and COMMIT around it.
    writes = len(batch) > 1 and any(statement.write for statement in batch)
    if writes:
        conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in batch:
            try:
                statement.rows = conn.execute(statement.sql, statement.params).fetchall()
            except sqlite3.Error as error:
                statement.rows = error
        if writes:
            conn.execute("COMMIT")
    except BaseException:
        if writes and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
