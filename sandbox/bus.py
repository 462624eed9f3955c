"""EventBus: @events (SNS push), @queues (SQS to Lambda), @scheduled (EventBridge) and Lambda's
asynchronous invokes (InvocationType=Event), in-process.

Deliveries are asyncio tasks started the moment they are due: a publish starts its subscriber at
once, a retry or a delayed message waits in a heap keyed by due time, read from the injected
clock. Only the background pump sleeps; tests call `drain()` and advance a FakeClock instead.

Durable at acknowledgement: a published event and a sent message are in SQLite before `publish` and
`send_message` return (group commit, `_bus/commits.py`), and stay there until delivered or
dead-lettered; so is a Lambda async invoke before its 202 (Lambda queues it, then retries it as it
retries SNS's deliveries: both are `EventJob`s here). A crash at any moment loses none of them; one
that was being delivered, or whose delivery had finished but whose removal had not been committed
yet, is delivered again on the next start (at least once, as SNS and SQS promise).

Like Lambda's asynchronous invocations, a job has one request id, stored with it: what its handler's
`context.aws_request_id` reads on every attempt, after a restart too. Each receive of a queue batch is a
new (synchronous) invocation with a new id, as SQS's event source mapping makes one.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Coroutine, Mapping
from typing import Any

from sandbox.clock import Clock
from sandbox.db import Database
from sandbox.errors import HandlerFailedError, InvocationError, NotFoundError
from sandbox.lambdas.invocations import new_request_id
from sandbox.messaging import messages, notes, records
from sandbox.messaging.queues import MAX_BATCHES_PER_QUEUE, MessageView, Queue, QueuedMessage, Queues
from sandbox.messaging.reading import QueueReader
from sandbox.messaging.results import (
    DeadLetter,
    DeliveryFailedError,
    DeliveryResult,
    EventJob,
    Pragma,
    Published,
    target,
)
from sandbox.messaging.schedules import Schedule
from sandbox.messaging.storage import BusStorage
from sandbox.model import EventSpec, FunctionSpec, Invoke, Json, Manifest, ScheduleSpec

__all__ = [
    "MAX_BATCHES_PER_QUEUE",
    "DeadLetter",
    "DeliveryFailedError",
    "DeliveryResult",
    "EventBus",
    "MessageView",
    "Published",
]

EVENT_RETRY_DELAYS = (1.0, 2.0)  # Lambda async invokes retry twice; AWS waits ~1 and ~2 minutes
MAX_RECEIVE_COUNT = 3  # receives before a queue message is redriven to the dead-letter queue
KEEP_PUBLISHED = 1_000  # the last messages published, for tests (`published`)
KEEP_RESULTS = 10_000  # delivery results not yet collected by `drain()`; the oldest are dropped past this


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
        keep_published: int = KEEP_PUBLISHED,
        keep_results: int = KEEP_RESULTS,
    ) -> None:
        self._invoke = invoke
        self.clock = clock
        self._logger = logger or logging.getLogger("arc_sandbox.bus")
        self._storage = BusStorage(db, logger=self._logger)
        self._run_schedules = run_schedules
        self.account_id = account_id
        self._limit = asyncio.Semaphore(max_concurrency)
        self.retry_delays = retry_delays
        self.max_receive_count = max_receive_count
        # Plain tuples, made into `Published` only when a test reads them: one per publish adds up.
        self._published: deque[tuple[Pragma, str, Json, str, float]] = deque(maxlen=keep_published)
        self._events: dict[str, EventSpec] = {}
        self._functions: dict[str, FunctionSpec] = {}  # by inventory name: what Lambda async invokes name
        self._parked: list[EventJob] = []  # stored jobs whose topic or function left the manifest
        self._prepared = False  # the tables exist
        self._topics: dict[str, records.SnsTopic] = {}  # by ARN: what its records share, worked out once
        self.queues = Queues()
        self._schedules: dict[str, tuple[ScheduleSpec, float | None]] = {}
        self._waiting_events: list[EventJob] = []  # heap by due time: retries, and events recovered at start
        self._event_jobs: dict[asyncio.Task[None], EventJob] = {}  # deliveries running now
        self._seq = 0
        self._running: set[asyncio.Task[None]] = set()
        self._results: deque[DeliveryResult] = deque(maxlen=keep_results)
        self._dead: dict[str, DeadLetter] = {}
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._started = False
        self.reader = QueueReader(self.queues, self._storage, clock, wake=self._wake.set)  # clients' SQS reads
        self.update_manifest(manifest)

    @property
    def published(self) -> list[Published]:
        """The last messages published or sent (at most `keep_published`), oldest first: for tests."""
        return [Published(*entry) for entry in self._published]

    # --- lifecycle ---------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Make the bus's tables, so that work accepted before `start` (the sandbox's ports open first:
        deliveries need them listening) is stored as at any other time."""
        if not self._prepared:
            await self._storage.create()
            self._prepared = True

    async def start(self) -> None:
        if self._started:
            return
        await self.prepare()
        now = self.clock.now()
        accepted = {m.id for q in self.queues for m in q.messages.values()}  # since `prepare`, already here
        for message in await self._storage.recover(now):
            if message.id not in accepted:
                self.queues.recover(message, now)
        waiting = {job.message_id for job in self._waiting_events}
        for job in await self._storage.events():  # published, not yet delivered when the last run ended
            self._seq = max(self._seq, job.seq)
            if job.message_id not in waiting:
                heapq.heappush(self._waiting_events, job)
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
                task.cancel()  # its event or queue messages stay stored, and run again on the next start
            await asyncio.gather(*late, return_exceptions=True)
            for job in interrupted:
                self._logger.warning(
                    "%s attempt %d was still running at stop; it runs again on the next start",
                    target(job.kind, job.name),
                    job.attempt,
                )
        await self._storage.flush()

    def update_manifest(self, manifest: Manifest) -> None:
        """Hot reload: new topics, queues and schedules appear; removed queues keep their messages."""
        self.app = manifest.app
        self.region = manifest.aws.region
        self._events = {e.name: e for e in manifest.events}
        self._functions = {}
        for fn in manifest.functions():  # the first of a name, as Invoke's wire API finds it
            self._functions.setdefault(fn.name, fn)
        parked, self._parked = self._parked, []
        for job in parked:  # their topic or function is back: delivered now
            if self._target_exists(job):
                heapq.heappush(self._waiting_events, job)
            else:
                self._parked.append(job)
        self.queues.update(manifest.queues)
        self.reader.mark_client_read()
        now = self.clock.now()
        self._schedules = {
            s.name: (s, self._schedules[s.name][1] if s.name in self._schedules else Schedule(s).next_after(now))
            for s in manifest.scheduled
        }
        self._wake.set()

    def _target_exists(self, job: EventJob) -> bool:
        return job.name in (self._functions if job.kind == "lambda" else self._events)

    def _park(self, job: EventJob) -> None:
        """Keep a job whose target went away in a reload stored, for when it comes back; said once per target."""
        if not any(p.kind == job.kind and p.name == job.name for p in self._parked):
            what = "function" if job.kind == "lambda" else "@events topic"
            self._logger.warning(
                "%s: the %s is no longer in the manifest; what is waiting for it stays stored until it is back",
                target(job.kind, job.name),
                what,
            )
        self._parked.append(job)

    # --- publishing --------------------------------------------------------------------------

    async def publish(
        self, topic: str, payload: Json, *, subject: str | None = None, attributes: Mapping[str, str] | None = None
    ) -> str:
        """SNS Publish: stored in SQLite, then every subscriber starts; returns the MessageId."""
        if topic not in self._events:
            raise NotFoundError(f"no @events topic named {topic!r} (topics: {', '.join(self._events) or 'none'})")
        body = messages.encoded(payload)
        messages.check_size(body)
        message_id = records.message_id()
        now = self.clock.now()
        job = EventJob(now, self._next_seq(), topic, payload, message_id, subject, attributes, body=body)
        await self._storage.save_event(job)
        self._record("events", topic, payload, message_id)
        if self._started:
            self._start_event(job)
        else:  # published while stopping (a request in its grace period): stored, delivered on the next start
            heapq.heappush(self._waiting_events, job)
        return message_id

    async def invoke_async(self, function: str, payload: Json) -> str:
        """Lambda Invoke with InvocationType=Event: stored in SQLite, then the function starts with the payload
        as its event; retried and dead-lettered as an @events delivery is. Returns the invocation's request id."""
        if function not in self._functions:
            raise NotFoundError(f"no function named {function!r}")
        body = messages.encoded(payload)
        request_id = new_request_id()  # the job's message id is its request id: the 202's, and every attempt's
        job = EventJob(
            self.clock.now(), self._next_seq(), function, payload, request_id, body=body, kind="lambda",
            request_id=request_id,
        )  # fmt: skip
        await self._storage.save_event(job)
        if self._started:
            self._start_event(job)
        else:  # invoked while stopping: stored, delivered on the next start
            heapq.heappush(self._waiting_events, job)
        return request_id

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
        body = messages.encoded(payload)
        messages.check_size(body)
        now = self.clock.now()
        prepared = self.queues.prepare(
            queue, body, now=now, delay_seconds=delay_seconds, group_id=group_id,
            deduplication_id=deduplication_id, attributes=dict(attributes or {}),
        )  # fmt: skip
        if isinstance(prepared, str):
            return prepared  # a FIFO duplicate: SQS answers with the first message's id
        try:
            await self._storage.save([prepared])
        except BaseException:
            self.queues.abandon(prepared)
            raise
        now = self.clock.now()
        self.queues.add(prepared, now)
        self.reader.notify()
        self._record("queues", queue, payload, prepared.id)
        if self._started:
            self._dispatch_queue(self.queues.find(queue), now)
            self._wake.set()
        return prepared.id

    def _record(self, pragma: Pragma, name: str, payload: Json, message_id: str) -> None:
        self._published.append((pragma, name, payload, message_id, self.clock.now()))

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
        # An event delivery's end frees nothing the pump waits for (a retry wakes it when scheduled),
        # so only a queue batch's or a schedule's end wakes it: one pass of the pump less per event.
        if self._event_jobs.pop(task, None) is None:
            self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            self._logger.error("bus delivery crashed", exc_info=task.exception())

    def _dispatch_due(self) -> None:
        now = self.clock.now()
        while self._waiting_events and self._waiting_events[0].due <= now:
            self._start_event(heapq.heappop(self._waiting_events))
        for queue in self.queues.active():
            self._dispatch_queue(queue, now)
        if self._run_schedules:
            for name, (spec, due) in list(self._schedules.items()):
                if due is not None and due <= now:
                    self._schedules[name] = (spec, Schedule(spec).next_after(now))
                    self._spawn(self._deliver_scheduled(spec, due))

    def _dispatch_queue(self, queue: Queue | None, now: float) -> None:
        while queue is not None and (batch := queue.receive(now)):
            self._spawn(self._deliver_batch(queue, batch))

    def next_due(self, *, include_schedules: bool = False) -> float | None:
        """When something next becomes due: a retry, a delayed or invisible message, a batch window."""
        now = self.clock.now()
        due = [self._waiting_events[0].due] if self._waiting_events else []
        queued = self.queues.next_due(now)
        if queued is not None:
            due.append(queued)
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
        """Return once nothing due now is queued or running; the results since the last drain (at most
        `keep_results`, the latest)."""
        while True:
            self._dispatch_due()
            if not self._running:
                break
            await asyncio.wait(set(self._running))
        await self._storage.flush()
        results = list(self._results)
        self._results.clear()
        failures = [r for r in results if not r.ok]
        if raise_on_failure and failures:
            raise DeliveryFailedError(failures)
        return results

    # --- delivering --------------------------------------------------------------------------

    def _start_event(self, job: EventJob) -> None:
        task = self._spawn(self._deliver_event(job))
        self._event_jobs[task] = job  # `_finished` drops it

    async def _call(
        self,
        pragma: Pragma,
        name: str,
        fn: Any,
        event: Json,
        attempt: int,
        ids: tuple[str, ...],
        request_id: str | None = None,
    ) -> tuple[DeliveryResult, Json]:
        """One invocation: with the async job's `request_id` (the same on each of its attempts), or a new one (each
        receive of a queue batch is a new synchronous invocation, as each schedule's firing is)."""
        request_id = request_id or new_request_id()
        started = time.perf_counter()
        await self._limit.acquire()  # not `async with`: one coroutine less per delivery
        try:
            result = await self._invoke(fn, event, request_id=request_id)
            error = trace = None
        except InvocationError as failure:
            result, error = None, failure.message
            trace = failure.traceback if isinstance(failure, HandlerFailedError) else None
        finally:
            self._limit.release()
        ms = (time.perf_counter() - started) * 1000
        delivery = DeliveryResult(pragma, name, ids, attempt, error is None, request_id, ms, error, trace)
        return delivery, result

    def _log(self, result: DeliveryResult, outcome: str) -> None:
        line = "%s attempt %d %s %.1fms [%s]"
        args = (target(result.pragma, result.name), result.attempt, outcome, result.duration_ms, result.request_id)
        if result.ok:
            self._logger.info(line, *args)
        else:
            self._logger.error(line + "\n%s", *args, result.log_detail(self._logger))

    async def _deliver_event(self, job: EventJob) -> None:
        if job.kind == "lambda":
            fn = self._functions.get(job.name)
            event = job.payload  # as Lambda gives an async invoke's payload: no envelope
        else:
            spec = self._events.get(job.name)
            fn = None if spec is None else spec.function
            event = None if spec is None else self._sns_event(job)
        if fn is None:
            self._park(job)
            return
        result, _ = await self._call(job.kind, job.name, fn, event, job.attempt, (job.message_id,), job.request_id)
        self._results.append(result)
        if result.ok:
            self._log(result, "ok")
            self._storage.forget_event(job.message_id)
        elif job.attempt <= len(self.retry_delays):
            job.due = self.clock.now() + self.retry_delays[job.attempt - 1]
            attempts = len(self.retry_delays) + 1
            self._log(result, f"failed, {notes.event_retry_note(job.due, self.clock.now(), job.attempt + 1, attempts)}")
            job.attempt += 1
            await self._storage.save_event(job)
            heapq.heappush(self._waiting_events, job)
            self._wake.set()
        else:
            self._log(result, "failed, dead-lettered")
            await self._dead_letter(job.kind, job.name, job.payload, job.attempt, result, event_id=job.message_id)

    def _sns_event(self, job: EventJob) -> Json:
        arn = records.topic_arn(self.region, self.account_id, self.app, job.name)
        topic = self._topics.get(arn)
        if topic is None:
            topic = self._topics[arn] = records.SnsTopic(arn)
        return topic.event(
            message_id=job.message_id, message=job.body or records.encode_payload(job.payload),
            timestamp=self.clock.now(), subject=job.subject, attributes=job.attributes,
        )  # fmt: skip

    async def _deliver_batch(self, queue: Queue, batch: list[QueuedMessage]) -> None:
        failed = {m.id for m in batch}
        result: DeliveryResult | None = None
        try:
            await self._storage.save(batch)  # the receive counts survive a crash, for the redrive
            spec = queue.spec
            arn = records.queue_arn(self.region, self.account_id, self.app, spec.name, fifo=spec.fifo)
            event = records.sqs_event([messages.sqs_record(arn, m) for m in batch])
            ids = tuple(m.id for m in batch)
            attempt = max(m.receive_count for m in batch)
            result, answer = await self._call("queues", spec.name, spec.function, event, attempt, ids)
            failed = messages.batch_failures(answer, ids) if result.ok else set(ids)
            if result.ok and failed:
                result = messages.partial(result, failed)
            self._results.append(result)
            note = notes.retry_note(batch, failed, self.max_receive_count, self.clock.now())
            self._log(result, "ok" if result.ok else note)
        finally:
            settled = queue.settle(batch, failed, max_receive_count=self.max_receive_count, now=self.clock.now())
            self._wake.set()
        if settled.deleted:
            self._storage.forget_messages(m.id for m in settled.deleted)
        if settled.returning:
            self._storage.save_soon(settled.returning)
        for message in settled.dead:
            assert result is not None
            payload = messages.loads(message.body)
            await self._dead_letter(
                "queues", queue.name, payload, message.receive_count, result, message_ids=(message.id,)
            )

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
        *,
        message_ids: tuple[str, ...] = (),
        event_id: str = "",
    ) -> None:
        letter = DeadLetter(
            str(uuid.uuid4()), pragma, name, payload, attempts, result.error, result.traceback, self.clock.now(),
            result.request_id,
        )  # fmt: skip
        stored = {**letter.__dict__, "payload": json.dumps(payload)}
        await self._storage.dead_letter(stored, remove_messages=message_ids, remove_event=event_id)
        self._dead[letter.id] = letter

    # --- by hand, and for looking ----------------------------------------------------------

    async def invoke_now(self, pragma: Pragma, name: str, payload: Json = None) -> DeliveryResult:
        """Fire one function by hand with a record built as the real service would (no retries)."""
        now = self.clock.now()
        body = records.encode_payload(messages.checked_json(payload if payload is not None else {}))
        queue = self.queues.find(name) if pragma == "queues" else None
        ids: tuple[str, ...] = ()
        if pragma == "events" and name in self._events:
            arn = records.topic_arn(self.region, self.account_id, self.app, name)
            ids = (records.message_id(),)
            event = records.sns_event(arn=arn, message_id=ids[0], message=body, timestamp=now)
            fn = self._events[name].function
        elif queue is not None and queue.active:
            arn = records.queue_arn(self.region, self.account_id, self.app, name, fifo=queue.fifo)
            message = QueuedMessage(records.message_id(), name, body, 0, now, now, receive_count=1, first_receive=now)
            ids = (message.id,)
            event = records.sqs_event([messages.sqs_record(arn, message)])
            fn = queue.spec.function
        elif pragma == "scheduled" and name in self._schedules:
            spec_s = self._schedules[name][0]
            arn = records.rule_arn(self.region, self.account_id, self.app, name)
            event = records.scheduled_event(arn=arn, account=self.account_id, region=self.region, at=now)
            fn = spec_s.function
        else:
            raise NotFoundError(f"no @{pragma} function named {name!r}")
        result, answer = await self._call(pragma, name, fn, event, 1, ids)
        failed = messages.batch_failures(answer, ids) if result.ok and queue is not None else set()
        if failed:  # the handler reported the message failed (partial batch response): so did this call
            result = messages.partial(result, failed)
        self._log(result, "ok (by hand)" if result.ok else "failed (by hand)")
        return result

    def snapshot(self) -> dict[str, Any]:
        """Everything the bus holds, for the dashboard: queue messages with their state ("pending",
        "delayed", "in_flight", "retrying"), body and receive count; events waiting for an attempt
        (with when it is due) or being delivered; dead letters."""
        now = self.clock.now()
        running = list(self._event_jobs.values())
        return {
            "queues": self.queues.snapshot(now),
            "queue_counts": self.queues.counts(now),
            "events": [
                {**_event_info(job), "state": "in_flight"} for job in running
            ] + [
                {**_event_info(job), "state": "retrying" if job.attempt > 1 else "pending"}
                for job in self.waiting_jobs()
            ],
            "dead_letters": self.dead_letters(),
        }  # fmt: skip

    def pending(self) -> list[dict[str, Json]]:
        """Queue messages not in flight, and events and async invokes waiting for an attempt (or for their
        topic or function to be back in the manifest)."""
        listed = [messages.info(m) for q in self.queues for m in q.messages.values() if not m.inflight]
        return listed + [_event_info(job) for job in self.waiting_jobs()]

    def topics(self) -> list[EventSpec]:
        """The @events topics the bus delivers to now."""
        return list(self._events.values())

    def schedules(self) -> list[tuple[ScheduleSpec, float | None]]:
        """Each @scheduled function with its next firing (epoch seconds; None when it never fires again)."""
        return list(self._schedules.values())

    def waiting_jobs(self) -> list[EventJob]:
        """Events and async invokes waiting for an attempt, or for their topic or function to be back, by due time."""
        return sorted([*self._waiting_events, *self._parked])

    def in_flight(self) -> list[dict[str, Json]]:
        """Queue messages and events being delivered now."""
        listed = [messages.info(m) for q in self.queues for m in q.messages.values() if m.inflight]
        return listed + [_event_info(job) for job in self._event_jobs.values()]

    def dead_letters(self) -> list[DeadLetter]:
        return sorted(self._dead.values(), key=lambda d: d.failed_at)

    async def replay_dead_letter(self, dead_letter_id: str) -> str:
        """Publish, send or invoke (a Lambda async invoke's) the dead letter's payload again; returns the new
        message id (request id)."""
        letter = self._dead.get(dead_letter_id)
        if letter is None:
            raise NotFoundError(f"no dead letter {dead_letter_id!r}")
        if letter.pragma == "events":
            message_id = await self.publish(letter.name, letter.payload)
        elif letter.pragma == "lambda":
            message_id = await self.invoke_async(letter.name, letter.payload)
        else:
            message_id = await self.send_message(letter.name, letter.payload)
        await self._storage.forget_dead_letter(letter.id)
        self._dead.pop(letter.id, None)
        return message_id

    async def purge_dead_letters(self, dead_letter_ids: list[str] | None = None) -> int:
        """Delete the given dead letters (all of them with None); returns how many went."""
        ids = list(self._dead) if dead_letter_ids is None else [i for i in dead_letter_ids if i in self._dead]
        for letter_id in ids:
            await self._storage.forget_dead_letter(letter_id)
            del self._dead[letter_id]
        return len(ids)


def _event_info(job: EventJob) -> dict[str, Json]:
    return {
        "pragma": job.kind, "name": job.name, "message_id": job.message_id, "request_id": job.request_id,
        "attempt": job.attempt, "due": job.due,
    }  # fmt: skip
