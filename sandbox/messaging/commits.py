"""Group commit: every bus write asked for while one transaction runs goes into the next, together.

A publish is acknowledged only once its event is in SQLite. One transaction per publish would cap
the bus at a few hundred a second; instead the writes that arrive in the same loop iteration, or
while the previous commit is under way, share one transaction. Each `write()` returns when the
transaction holding its statements has committed, in the order they were asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from sandbox.db import Database

Rows = Sequence[tuple[Any, ...]]
Statement = tuple[str, Rows]  # SQL with placeholders, and the rows to run it with (executemany)


class GroupCommit:
    def __init__(self, db: Database, *, logger: logging.Logger) -> None:
        self._db = db
        self._logger = logger
        self._pending: list[Statement] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.commits = 0  # transactions run so far, for tests and benchmarks

    async def write(self, *statements: Statement) -> None:
        """Return once `statements` are committed, atomically with each other; raise if the commit failed."""
        waiter = asyncio.get_running_loop().create_future()
        self._enqueue(statements, waiter)
        # A caller that gives up cancels only its own waiter: its statements are committed anyway.
        await waiter

    def write_soon(self, *statements: Statement) -> None:
        """Commit with the next group, without waiting: for writes nobody acknowledges (a delivery's
        cleanup), where losing the last few in a crash only means a message is delivered again."""
        self._enqueue(statements, None)

    async def flush(self) -> None:
        """Return once everything asked for so far is committed."""
        while self._flushing is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flushing)

    def _enqueue(self, statements: Sequence[Statement], waiter: asyncio.Future[None] | None) -> None:
        self._pending.extend(statements)
        if waiter is not None:
            self._waiters.append(waiter)
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # whatever else this loop iteration acknowledges joins the group
            while self._pending:
                statements, waiters = self._pending, self._waiters
                self._pending, self._waiters = [], []
                try:
                    await self._db.write_many(_merged(statements))
                except Exception as error:  # noqa: BLE001 - every waiter hears of it, whatever it was
                    self._logger.error("bus write failed: %s", error)
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(error)
                    continue
                self.commits += 1
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            self._flushing = None


def _merged(statements: list[Statement]) -> Iterator[Statement]:
    """Neighbouring statements with the same SQL as one executemany, order kept."""
    sql: str | None = None
    rows: list[tuple[Any, ...]] = []
    for next_sql, next_rows in statements:
        if next_sql != sql:
            if sql is not None and rows:
                yield sql, rows
            sql, rows = next_sql, []
        rows.extend(next_rows)
    if sql is not None and rows:
        yield sql, rows
