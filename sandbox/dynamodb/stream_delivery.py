"""@tables-streams: each stream function is fed its table's stream records as Lambda's event source
mapping feeds it, in order, in batches, with retries.

One reader per function follows the table's current stream from the sequence number it last
handed over (kept in SQLite, so a restart neither repeats nor skips records). A batch is retried
until the function succeeds or `max_attempts` is reached; then it is logged as dropped and the
reader moves on to the next batch, as a mapping with MaximumRetryAttempts does. Functions are
called only through the `model.Invoke` protocol. A write to the tables wakes the readers at once
(`notify`); they also look every `poll_interval` seconds of the injected clock (for TTL deletions).
Tests call `drain()` (through `Sandbox.settle()`) instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import Clock
from sandbox.dynamodb import stream_log
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.stream_records import lambda_record, sequence_number
from sandbox.errors import HandlerFailedError, InvocationError
from sandbox.messaging.results import DeliveryFailedError, DeliveryResult
from sandbox.model import Invoke, TableStreamSpec

BATCH_SIZE = 100  # Lambda's default for a DynamoDB event source
MAX_ATTEMPTS = 3
RETRY_DELAYS = (1.0, 2.0)
POLL_INTERVAL = 1.0
SCHEMA = "CREATE TABLE IF NOT EXISTS dynamo_stream_readers (function TEXT PRIMARY KEY, position INTEGER NOT NULL)"


@dataclass
class _Reader:
    spec: TableStreamSpec
    position: int = 0  # the last sequence number handed over; 0 reads from the trim horizon
    attempt: int = 1
    retry_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StreamDelivery:
    """Feeds every @tables-streams function.

    Args:
        ctx: the TableStore's context (database, catalog, clock, region).
        physical_name: logical table name -> the table the stream belongs to.
        invoke: how functions are called (the invoker, in-process or in a worker).
    """

    def __init__(
        self,
        ctx: Context,
        physical_name: Callable[[str], str],
        invoke: Invoke,
        *,
        clock: Clock,
        specs: Sequence[TableStreamSpec] = (),
        batch_size: int = BATCH_SIZE,
        max_attempts: int = MAX_ATTEMPTS,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        poll_interval: float = POLL_INTERVAL,
        logger: logging.Logger | None = None,
    ) -> None:
        self._ctx = ctx
        self._physical_name = physical_name
        self._invoke = invoke
        self._clock = clock
        self.batch_size = batch_size  # records per invocation at most (tests may lower it)
        self._max_attempts = max_attempts
        self._retry_delays = retry_delays
        self._poll_interval = poll_interval
        self._logger = logger or logging.getLogger("arc_sandbox.streams")
        self._readers: dict[str, _Reader] = {}
        self._results: list[DeliveryResult] = []
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.update(specs)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._pump is not None:
            return
        async with self._ctx.db.transaction() as conn:
            await conn.execute(SCHEMA)
        await self._load_positions()
        self._pump = asyncio.get_running_loop().create_task(self._run_pump(), name="tables-streams")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop reading; a batch being delivered may finish within `grace` seconds (its position is then
        saved; otherwise it is handed over again on the next start). Safe to call twice."""
        pump, self._pump = self._pump, None
        if pump is None:
            return
        held = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                for reader in self._readers.values():
                    await reader.lock.acquire()  # waits for a delivery in progress
                    held.append(reader)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        for reader in held:
            reader.lock.release()

    def update(self, specs: Sequence[TableStreamSpec]) -> None:
        """Hot reload: readers follow the new list; a kept function keeps its position."""
        self._readers = {s.name: self._readers.get(s.name) or _Reader(s) for s in specs}
        for spec in specs:
            self._readers[spec.name].spec = spec
        self._wake.set()

    def notify(self) -> None:
        """Something was written to the tables: look for new records now."""
        self._wake.set()

    async def _load_positions(self) -> None:
        rows = await self._ctx.db.fetchall("SELECT function, position FROM dynamo_stream_readers")
        for name, position in rows:
            if name in self._readers:
                self._readers[name].position = position

    # --- for tests and the sandbox's settle() --------------------------------------------------

    async def drain(self, *, raise_on_failure: bool = False) -> list[DeliveryResult]:
        """Deliver every record due now (retries waiting for their backoff excepted); the results since last time."""
        progressed = True
        while progressed:
            progressed = False
            for reader in list(self._readers.values()):
                while await self._step(reader):
                    progressed = True
        results, self._results = self._results, []
        failures = [r for r in results if not r.ok]
        if raise_on_failure and failures:
            raise DeliveryFailedError(failures)
        return results

    def next_due(self) -> float | None:
        """When the earliest batch waiting for a retry is due again."""
        due = [r.retry_at for r in self._readers.values() if r.retry_at is not None]
        return min(due) if due else None

    # --- delivering --------------------------------------------------------------------------

    async def _run_pump(self) -> None:
        while True:
            self._wake.clear()
            for reader in list(self._readers.values()):
                try:
                    while await self._step(reader):
                        pass
                except Exception:  # a failure to read must not end deliveries for good
                    self._logger.exception("@tables-streams %s: reading the stream failed", reader.spec.name)
            due = self.next_due()
            wait = self._poll_interval if due is None else min(self._poll_interval, max(0.0, due - self._clock.now()))
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(self._clock.sleep(wait))]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def _step(self, reader: _Reader) -> bool:
        """Hand the reader's next batch to its function; False when there was nothing to do now."""
        async with reader.lock:
            spec = reader.spec
            table = self._ctx.catalog.find(self._physical_name(spec.table))
            now = self._clock.now()
            if table is None or table.stream is None or (reader.retry_at is not None and reader.retry_at > now):
                return False
            stream = table.stream
            async with self._ctx.db.reading() as conn:
                changes = await stream_log.read(conn, stream.id, reader.position, limit=self.batch_size, now=now)
            if not changes:
                return False
            arn = self._ctx.stream_arn(table.name, stream.label)
            records = [
                lambda_record(
                    c, stream_id=stream.id, view_type=stream.view_type, region=self._ctx.region, stream_arn=arn
                )
                for c in changes
            ]
            ids = tuple(sequence_number(c.seq) for c in changes)
            result = await self._call(spec, {"Records": records}, reader.attempt, ids)
            self._results.append(result)
            if result.ok or reader.attempt >= self._max_attempts:
                self._log(
                    result,
                    "ok" if result.ok else f"failed, {len(ids)} record(s) dropped after {reader.attempt} attempts",
                )
                reader.position, reader.attempt, reader.retry_at = changes[-1].seq, 1, None
                await self._ctx.db.write_one(
                    "INSERT OR REPLACE INTO dynamo_stream_readers (function, position) VALUES (?, ?)",
                    (spec.name, reader.position),
                )
            else:
                delay = (
                    self._retry_delays[min(reader.attempt, len(self._retry_delays)) - 1] if self._retry_delays else 0.0
                )
                self._log(result, f"failed, retrying in {delay:g}s")
                reader.attempt += 1
                reader.retry_at = now + delay
            return True

    async def _call(
        self, spec: TableStreamSpec, event: dict[str, Any], attempt: int, ids: tuple[str, ...]
    ) -> DeliveryResult:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        error = trace = None
        try:
            await self._invoke(spec.function, event, request_id=request_id)
        except InvocationError as failure:
            error = failure.message
            trace = failure.traceback if isinstance(failure, HandlerFailedError) else None
        ms = (time.perf_counter() - started) * 1000
        return DeliveryResult("tables-streams", spec.name, ids, attempt, error is None, request_id, ms, error, trace)

    def _log(self, result: DeliveryResult, outcome: str) -> None:
        line = "@tables-streams %s attempt %d (%d records) %s %.1fms [%s]"
        args = (result.name, result.attempt, len(result.message_ids), outcome, result.duration_ms, result.request_id)
        if result.ok:
            self._logger.info(line, *args)
        else:
            self._logger.error(line + "\n%s", *args, result.log_detail(self._logger))
