"""EventBus: @events (SNS push), @queues (SQS to Lambda) and @scheduled (EventBridge), in-process.

Deliveries are asyncio tasks started the moment they are due: a publish starts its subscriber at
once, a retry or a delayed message waits in a heap keyed by due time, read from the injected
clock. Only the background pump sleeps; tests call `drain()` and advance a FakeClock instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
import uuid
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

from sandbox._bus import messages, notes, records
from sandbox._bus.listener import bus_routes
from sandbox._bus.queues import MAX_DELAY, QueuedMessage, QueueState
from sandbox._bus.reading import QueueReader, client_read_queues
from sandbox._bus.results import DeadLetter, DeliveryFailedError, DeliveryResult, EventJob, Pragma, Published
from sandbox._bus.schedules import Schedule
from sandbox._bus.storage import BusStorage
from sandbox.clock import Clock
from sandbox.db import Database
from sandbox.errors import HandlerFailedError, InvocationError, NotFoundError, ValidationError
from sandbox.model import EventSpec, FunctionSpec, Invoke, Json, Manifest, QueueSpec, ScheduleSpec

__all__ = ["DeadLetter", "DeliveryFailedError", "DeliveryResult", "EventBus", "Published", "bus_routes"]

EVENT_RETRY_DELAYS = (1.0, 2.0)  # Lambda async invokes retry twice; AWS waits ~1 and ~2 minutes
MAX_RECEIVE_COUNT = 3  # receives before a queue message is redriven to the dead-letter queue
MAX_BATCHES_PER_QUEUE = 10


class EventBus:
    def __init__(
        self,
        manifest: Manifest,
        invoke: Invoke,
        *,
        db: Database,
        clock: Clock,
        logger: logging.Logger | None = None,
        run_schedules: bool = True,
        account_id: str = "123456789012",
        max_concurrency: int = 64,
        retry_delays: tuple[float, ...] = EVENT_RETRY_DELAYS,
        max_receive_count: int = MAX_RECEIVE_COUNT,
    ) -> None:
        self._invoke = invoke
        self._storage = BusStorage(db)
        self.clock = clock
        self._logger = logger or logging.getLogger("arc_sandbox.bus")
        self._run_schedules = run_schedules
        self.account_id = account_id
        self._limit = asyncio.Semaphore(max_concurrency)
        self.retry_delays = retry_delays
        self.max_receive_count = max_receive_count
        self.published: list[Published] = []
        self._events: dict[str, EventSpec] = {}
        self._queues: dict[str, QueueState] = {}
        self._schedules: dict[str, tuple[ScheduleSpec, float | None]] = {}
        self._retries: list[EventJob] = []
        self._event_jobs: dict[asyncio.Task[None], EventJob] = {}  # deliveries running now
        self._seq = 0
        self._running: set[asyncio.Task[None]] = set()
        self._results: list[DeliveryResult] = []
        self._dead: dict[str, DeadLetter] = {}
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._started = False
        self._client_read: frozenset[str] = frozenset()
        self.update_manifest(manifest)
        self.reader = QueueReader(self._queues, self._storage, clock, wake=self._wake.set)  # clients' SQS reads

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        await self._storage.create()
        now = self.clock.now()
        for message in await self._storage.recover(now):
            self._seq = max(self._seq, message.seq)
            state = self._queues.get(message.queue) or self._orphan_queue(message.queue)
            state.add(message, now)
        for job in await self._storage.retries():  # events that were waiting for a retry when the last run ended
            self._seq = max(self._seq, job.seq)
            heapq.heappush(self._retries, job)
        for letter in await self._storage.dead_letters():
            payload = json.loads(letter.pop("payload"))
            self._dead[letter["id"]] = DeadLetter(payload=payload, **letter)
        self._started = True
        self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def stop(self, grace: float = 10.0) -> None:
        """Take no new deliveries; let running ones finish for up to `grace` s. Safe to call twice."""
        if not self._started:
            return
        self._started = False
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            interrupted = [self._event_jobs[task] for task in late if task in self._event_jobs]
            for task in late:
                task.cancel()  # its queue messages stay stored and become visible on the next start
            await asyncio.gather(*late, return_exceptions=True)
            for job in interrupted:  # and its event is stored, to run that attempt again on the next start
                job.due = self.clock.now()
                await self._storage.save_retry(job)
                self._logger.warning(
                    "@events %s attempt %d was still running at stop; it runs again on the next start",
                    job.name,
                    job.attempt,
                )

    def update_manifest(self, manifest: Manifest) -> None:
        """Hot reload: new topics, queues and schedules appear; removed queues keep their messages."""
        self.app = manifest.app
        self.region = manifest.aws.region
        self._events = {e.name: e for e in manifest.events}
        for spec in manifest.queues:
            state = self._queues.get(spec.name)
            if state is None:
                self._queues[spec.name] = QueueState(spec)
            else:
                state.spec = spec
        self._active_queues = {q.name for q in manifest.queues}
        self._client_read = client_read_queues(manifest.queues)
        now = self.clock.now()
        self._schedules = {
            s.name: (s, self._schedules[s.name][1] if s.name in self._schedules else Schedule(s).next_after(now))
            for s in manifest.scheduled
        }
        self._wake.set()

    def _orphan_queue(self, name: str) -> QueueState:
        """A queue gone from the manifest whose messages are still stored: kept, not delivered."""
        spec = QueueSpec(name=name, function=FunctionSpec("queues", name, Path("/removed-from-manifest") / name))
        self._queues[name] = QueueState(spec)
        return self._queues[name]

    # --- publishing --------------------------------------------------------------------------

    async def publish(
        self, topic: str, payload: Json, *, subject: str | None = None, attributes: Mapping[str, str] | None = None
    ) -> str:
        """SNS Publish: every subscriber starts now; returns the MessageId."""
        if topic not in self._events:
            raise NotFoundError(f"no @events topic named {topic!r} (topics: {', '.join(self._events) or 'none'})")
        messages.check_size(records.encode_payload(messages.checked_json(payload)))
        message_id = str(uuid.uuid4())
        self._record("events", topic, payload, message_id)
        self._start_event(EventJob(self.clock.now(), self._next_seq(), topic, payload, message_id, subject, attributes))
        return message_id

    async def send_message(
        self,
        queue: str,
        payload: Json,
        *,
        delay_seconds: float = 0,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """SQS SendMessage: stored in SQLite before it returns; returns the MessageId."""
        state = self._queues.get(queue)
        if state is None or queue not in self._active_queues:
            raise NotFoundError(
                f"no @queues queue named {queue!r} (queues: {', '.join(self._active_queues) or 'none'})"
            )
        body = records.encode_payload(messages.checked_json(payload))
        messages.check_size(body)
        if not 0 <= delay_seconds <= MAX_DELAY:
            raise ValidationError(f"DelaySeconds must be between 0 and {MAX_DELAY:g}, got {delay_seconds}")
        if state.spec.fifo and delay_seconds:
            raise ValidationError(
                f"queue {queue!r} is FIFO: SQS FIFO queues take no per-message DelaySeconds (set `fifo false` for delays)"
            )
        now = self.clock.now()
        dedup = state.dedup_key(body, deduplication_id) if state.spec.fifo else None
        if dedup is not None and (duplicate := state.duplicate_of(dedup, now)) is not None:
            return duplicate  # SQS accepts a duplicate within five minutes and delivers it once
        message = QueuedMessage(
            id=str(uuid.uuid4()), queue=queue, body=body, seq=self._next_seq(), sent_at=now,
            visible_at=now + delay_seconds, group_id=(group_id or queue) if state.spec.fifo else group_id,
            dedup_id=dedup, attributes=dict(attributes or {}),
        )  # fmt: skip
        await self._storage.save([message])
        state.add(message, now)
        self._record("queues", queue, payload, message.id)
        self._dispatch_queue(state, now)
        self._wake.set()
        return message.id

    def _record(self, pragma: Pragma, name: str, payload: Json, message_id: str) -> None:
        self.published.append(Published(pragma, name, payload, message_id, self.clock.now()))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- scheduling --------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            self._logger.error("bus delivery crashed", exc_info=task.exception())

    def _dispatch_due(self) -> None:
        now = self.clock.now()
        while self._retries and self._retries[0].due <= now:
            self._start_event(heapq.heappop(self._retries))
        for name in self._active_queues:
            self._dispatch_queue(self._queues[name], now)
        if self._run_schedules:
            for name, (spec, due) in list(self._schedules.items()):
                if due is not None and due <= now:
                    self._schedules[name] = (spec, Schedule(spec).next_after(now))
                    self._spawn(self._deliver_scheduled(spec, due))

    def _dispatch_queue(self, state: QueueState, now: float) -> None:
        if state.spec.name not in self._active_queues or state.spec.name in self._client_read:
            return
        while state.running_batches < MAX_BATCHES_PER_QUEUE:
            batch = state.next_batch(now)
            if not batch or state.window_open(batch, now):
                return
            for message in batch:
                message.inflight = True
                message.receive_count += 1
                message.first_receive = message.first_receive or now
                message.receipt = str(uuid.uuid4())
                message.visible_at = now + state.visibility_timeout
            state.running_batches += 1
            self._spawn(self._deliver_batch(state, batch))

    def next_due(self, *, include_schedules: bool = False) -> float | None:
        """When something next becomes due: a retry, a delayed or invisible message, a batch window."""
        now = self.clock.now()
        due = [self._retries[0].due] if self._retries else []
        polled = self._active_queues - self._client_read
        due += [d for q in polled if (d := self._queues[q].next_due(now)) is not None]
        if include_schedules and self._run_schedules:
            due += [d for _, d in self._schedules.values() if d is not None]
        return min(due) if due else None

    async def _run_pump(self) -> None:
        while True:
            self._wake.clear()
            self._dispatch_due()
            due = self.next_due(include_schedules=True)
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
            if due is not None and due > self.clock.now():
                waits.append(asyncio.ensure_future(self.clock.sleep(due - self.clock.now())))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def drain(self, *, raise_on_failure: bool = False) -> list[DeliveryResult]:
        """Return once nothing due now is queued or running; the results since the last drain."""
        while True:
            self._dispatch_due()
            if not self._running:
                break
            await asyncio.wait(set(self._running))
        results, self._results = self._results, []
        failures = [r for r in results if not r.ok]
        if raise_on_failure and failures:
            raise DeliveryFailedError(failures)
        return results

    # --- delivering --------------------------------------------------------------------------

    def _start_event(self, job: EventJob) -> None:
        task = self._spawn(self._deliver_event(job))
        self._event_jobs[task] = job
        task.add_done_callback(self._event_jobs.pop)

    async def _call(
        self, pragma: Pragma, name: str, fn: Any, event: Json, attempt: int, ids: tuple[str, ...]
    ) -> tuple[DeliveryResult, Json]:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        async with self._limit:
            try:
                result = await self._invoke(fn, event, request_id=request_id)
                error = trace = None
            except InvocationError as failure:
                result, error = None, failure.message
                trace = failure.traceback if isinstance(failure, HandlerFailedError) else None
        ms = (time.perf_counter() - started) * 1000
        delivery = DeliveryResult(pragma, name, ids, attempt, error is None, request_id, ms, error, trace)
        return delivery, result

    def _log(self, result: DeliveryResult, outcome: str) -> None:
        line = "@%s %s attempt %d %s %.1fms [%s]"
        args = (result.pragma, result.name, result.attempt, outcome, result.duration_ms, result.request_id)
        if result.ok:
            self._logger.info(line, *args)
        else:
            self._logger.error(line + "\n%s", *args, result.traceback or result.error)

    async def _deliver_event(self, job: EventJob) -> None:
        spec = self._events.get(job.name)
        if spec is None:
            return  # the topic went away in a reload
        arn = records.topic_arn(self.region, self.account_id, self.app, job.name)
        event = records.sns_event(
            arn=arn, message_id=job.message_id, message=records.encode_payload(job.payload),
            timestamp=self.clock.now(), subject=job.subject, attributes=job.attributes,
        )  # fmt: skip
        result, _ = await self._call("events", job.name, spec.function, event, job.attempt, (job.message_id,))
        self._results.append(result)
        stored = job.attempt > 1  # a retry: its job is in the database until it succeeds or dead-letters
        if result.ok:
            self._log(result, "ok")
            if stored:
                await self._storage.forget_retry(job.message_id)
        elif job.attempt <= len(self.retry_delays):
            self._log(result, f"failed, retrying in {self.retry_delays[job.attempt - 1]:g}s")
            job.due = self.clock.now() + self.retry_delays[job.attempt - 1]
            job.attempt += 1
            await self._storage.save_retry(job)
            heapq.heappush(self._retries, job)
            self._wake.set()
        else:
            self._log(result, "failed, dead-lettered")
            retry_id = job.message_id if stored else ""
            await self._dead_letter("events", job.name, job.payload, job.attempt, result, retry_id=retry_id)

    async def _deliver_batch(self, state: QueueState, batch: list[QueuedMessage]) -> None:
        try:
            await self._storage.save(batch)
            spec = state.spec
            arn = records.queue_arn(self.region, self.account_id, self.app, spec.name, fifo=spec.fifo)
            event = records.sqs_event([messages.sqs_record(arn, m) for m in batch])
            ids = tuple(m.id for m in batch)
            attempt = max(m.receive_count for m in batch)
            result, answer = await self._call("queues", spec.name, spec.function, event, attempt, ids)
            failed = messages.batch_failures(answer, ids) if result.ok else set(ids)
            if result.ok and failed:
                result = messages.partial(result, failed)
            self._results.append(result)
            now = self.clock.now()
            self._log(result, "ok" if result.ok else notes.retry_note(batch, failed, self.max_receive_count, now))
            await self._settle_batch(state, batch, failed, result)
        finally:
            state.running_batches -= 1

    async def _settle_batch(
        self, state: QueueState, batch: list[QueuedMessage], failed: set[str], result: DeliveryResult
    ) -> None:
        done = [m for m in batch if m.id not in failed]
        if done:
            await self._storage.delete(m.id for m in done)
            for message in done:
                state.messages.pop(message.id, None)
        for message in (m for m in batch if m.id in failed):
            message.inflight = False
            if message.receive_count >= self.max_receive_count:
                state.messages.pop(message.id, None)
                payload = messages.loads(message.body)
                await self._dead_letter("queues", state.spec.name, payload, message.receive_count, result, message.id)
            else:
                state.schedule_wakeup(message)  # visible again when its visibility timeout ends
        self._wake.set()

    async def _deliver_scheduled(self, spec: ScheduleSpec, due: float) -> None:
        arn = records.rule_arn(self.region, self.account_id, self.app, spec.name)
        event = records.scheduled_event(arn=arn, account=self.account_id, region=self.region, at=due)
        result, _ = await self._call("scheduled", spec.name, spec.function, event, 1, (str(event["id"]),))
        self._results.append(result)
        self._log(result, "ok" if result.ok else "failed")

    async def _dead_letter(
        self,
        pragma: Pragma,
        name: str,
        payload: Json,
        attempts: int,
        result: DeliveryResult,
        message_id: str = "",
        *,
        retry_id: str = "",
    ) -> None:
        letter = DeadLetter(
            str(uuid.uuid4()), pragma, name, payload, attempts, result.error, result.traceback, self.clock.now()
        )
        stored = {**letter.__dict__, "payload": json.dumps(payload)}
        removed = [message_id] if message_id else []
        await self._storage.dead_letter(stored, remove_messages=removed, remove_retry=retry_id)
        self._dead[letter.id] = letter

    # --- by hand, and for looking ----------------------------------------------------------

    async def invoke_now(self, pragma: Pragma, name: str, payload: Json = None) -> DeliveryResult:
        """Fire one function by hand with a record built as the real service would (no retries)."""
        now = self.clock.now()
        body = records.encode_payload(messages.checked_json(payload if payload is not None else {}))
        if pragma == "events" and name in self._events:
            arn = records.topic_arn(self.region, self.account_id, self.app, name)
            event = records.sns_event(arn=arn, message_id=str(uuid.uuid4()), message=body, timestamp=now)
            fn = self._events[name].function
        elif pragma == "queues" and name in self._active_queues:
            spec = self._queues[name].spec
            arn = records.queue_arn(self.region, self.account_id, self.app, name, fifo=spec.fifo)
            message = QueuedMessage(str(uuid.uuid4()), name, body, 0, now, now, receive_count=1, first_receive=now)
            event = records.sqs_event([messages.sqs_record(arn, message)])
            fn = spec.function
        elif pragma == "scheduled" and name in self._schedules:
            spec_s = self._schedules[name][0]
            arn = records.rule_arn(self.region, self.account_id, self.app, name)
            event = records.scheduled_event(arn=arn, account=self.account_id, region=self.region, at=now)
            fn = spec_s.function
        else:
            raise NotFoundError(f"no @{pragma} function named {name!r}")
        result, _ = await self._call(pragma, name, fn, event, 1, ())
        self._log(result, "ok (by hand)" if result.ok else "failed (by hand)")
        return result

    def pending(self) -> list[dict[str, Json]]:
        return [messages.info(m) for q in self._queues.values() for m in q.messages.values() if not m.inflight] + [
            {"pragma": "events", "name": j.name, "message_id": j.message_id, "attempt": j.attempt, "due": j.due}
            for j in sorted(self._retries)
        ]

    def in_flight(self) -> list[dict[str, Json]]:
        return [messages.info(m) for q in self._queues.values() for m in q.messages.values() if m.inflight]

    def dead_letters(self) -> list[DeadLetter]:
        return sorted(self._dead.values(), key=lambda d: d.failed_at)

    async def replay_dead_letter(self, dead_letter_id: str) -> str:
        """Publish or send the dead letter's payload again; returns the new message id."""
        letter = self._dead.get(dead_letter_id)
        if letter is None:
            raise NotFoundError(f"no dead letter {dead_letter_id!r}")
        if letter.pragma == "events":
            message_id = await self.publish(letter.name, letter.payload)
        else:
            message_id = await self.send_message(letter.name, letter.payload)
        await self._storage.forget_dead_letter(letter.id)
        del self._dead[letter.id]
        return message_id
