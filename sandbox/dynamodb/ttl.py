"""Time to live: the background sweep that deletes items whose TTL attribute has passed.

Reads hide expired items at once (storage.LIVE); the sweep only reclaims them, in bounded batches so
a big expiry never holds the shared write lock for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sandbox.dynamodb import storage, stream_log
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.item_json import loads

BATCH = 500
INTERVAL = 1.0


async def sweep_expired(ctx: Context) -> int:
    """Delete every item that has expired by `clock.now()`; returns how many."""
    tables = {t.id: t for t in (ctx.catalog.get(n) for n in ctx.catalog.names())}
    deleted = 0
    while True:
        async with ctx.db.transaction() as conn:
            now = ctx.clock.now()
            sql = "SELECT table_id, pk, sk, item FROM dynamo_items WHERE expires IS NOT NULL AND expires <= ? LIMIT ?"
            async with conn.execute(sql, (now, BATCH)) as cur:
                rows = list(await cur.fetchall())
            for table_id, pk, sk, text in rows:
                table = tables.get(table_id)
                if table is not None:
                    await storage.remove(conn, table, (pk, sk), loads(text), now=now, expired=True)
                else:  # an orphan (its table is gone): drop it so the loop always progresses
                    await conn.execute(
                        "DELETE FROM dynamo_items WHERE table_id = ? AND pk = ? AND sk = ?", (table_id, pk, sk)
                    )
            if len(rows) < BATCH:  # the last pass also forgets stream records past their 24 hours
                await stream_log.purge(conn, now=now)
        deleted += len(rows)
        if len(rows) < BATCH:
            return deleted


class Sweeper:
    """Runs `sweep_expired` every `interval` seconds of the injected clock until stopped."""

    def __init__(self, ctx: Context, *, interval: float = INTERVAL, logger: logging.Logger | None = None) -> None:
        self._ctx = ctx
        self._interval = interval
        self._logger = logger or logging.getLogger("arc_sandbox.tables")
        self._task: asyncio.Task[None] | None = None
        self._cycle: asyncio.Condition | None = None

    def start(self) -> None:
        if self._task is None:
            self._cycle = asyncio.Condition()
            self._task = asyncio.create_task(self._run(), name="dynamo-ttl-sweep")

    async def next_sweep(self) -> None:
        """Return once the background sweep has finished its next pass (tests await this instead of sleeping)."""
        if self._cycle is None:
            raise RuntimeError("the sweep is not running")
        async with self._cycle:
            await self._cycle.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self._ctx.clock.sleep(self._interval)
            try:
                await sweep_expired(self._ctx)
            except Exception:  # a failed sweep must not end the loop; expired items stay hidden anyway
                self._logger.exception("TTL sweep failed")
            if self._cycle is not None:
                async with self._cycle:
                    self._cycle.notify_all()
