"""InvocationRecorder: the last N invocations with their log lines, and live updates for whoever listens.

It is an `InvocationObserver`: the invoker calls it on the core loop, so every method is a few dict
and deque operations and never blocks. Listeners get plain dicts (`summary()`), not records.

A record is one call, known by its sequence number. Its request id need not be its own: the attempts
of an asynchronous invocation (an @events delivery, a Lambda Event invoke) all have the invocation's,
as on Lambda. They never overlap, so a log line or an end for a request id belongs to the newest
call that has it.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.lambdas.invocations import Finished, InvocationObserver
from sandbox.model import FunctionSpec, Json

DEFAULT_CAPACITY = 10_000
MAX_LOG_LINES = 500  # per invocation: a chatty handler must not hold the whole ring's memory
MAX_TEXT_KEPT = 64 * 1024  # of a body or message: 10,000 calls with 6 MB bodies must not hold 60 GB

Listener = Callable[[str, dict[str, Json]], None]
"""Called with ("started" | "log" | "finished", the invocation's summary or log line)."""


@dataclass
class InvocationRecord:
    seq: int
    request_id: str
    fn: FunctionSpec
    event: Json
    started_at: float  # epoch seconds
    attempt: int = 1  # 2, 3: a retry of an asynchronous invocation (the calls recorded with its request id)
    finished: Finished | None = None
    logs: list[str] = field(default_factory=list)
    dropped_logs: int = 0

    @property
    def status(self) -> str:
        return "running" if self.finished is None else self.finished.outcome

    def summary(self) -> dict[str, Json]:
        done = self.finished
        return {
            "seq": self.seq,
            "request_id": self.request_id,
            "attempt": self.attempt,
            "function": self.fn.name,
            "trigger": self.fn.pragma,
            "status": self.status,
            "started_at": self.started_at,
            "duration_ms": None if done is None else round(done.duration_ms, 2),
            "max_memory_mb": None if done is None else done.max_memory_mb,
            "memory_mb": self.fn.memory,
            "cold": None if done is None else done.cold,
            "error": None if done is None else _error_line(done),
            "log_lines": len(self.logs) + self.dropped_logs,
        }

    def detail(self) -> dict[str, Json]:
        done = self.finished
        return {
            **self.summary(),
            "event": self.event,
            "result": None if done is None else done.result,
            "error_type": None if done is None else done.error_type,
            "error_message": None if done is None else done.error_message,
            "traceback": None if done is None else done.traceback,
            "logs": list(self.logs),
            "dropped_logs": self.dropped_logs,
            "timeout_s": self.fn.timeout,
        }


def _long(value: Any) -> bool:
    return isinstance(value, str) and len(value) > MAX_TEXT_KEPT


def _cut(text: str) -> str:
    return f"{text[:MAX_TEXT_KEPT]}… [{len(text) - MAX_TEXT_KEPT:,} more characters not kept]"


def trimmed(value: Json) -> Json:
    """The event or result with any long HTTP body, SQS body or SNS message cut short, for keeping.

    Only the places where Lambda payloads carry bulk are looked at, so this costs a few dict lookups
    per call; the value itself is returned untouched when nothing is long (the usual case).
    """
    if not isinstance(value, dict):
        return value
    if _long(value.get("body")):
        value = {**value, "body": _cut(value["body"])}
    records = value.get("Records")
    if isinstance(records, list) and any(_long_record(r) for r in records):
        value = {**value, "Records": [_trim_record(r) for r in records]}
    return value


def _long_record(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    sns = record.get("Sns")
    return _long(record.get("body")) or (isinstance(sns, dict) and _long(sns.get("Message")))


def _trim_record(record: Any) -> Any:
    if not _long_record(record):
        return record
    out = dict(record)
    if _long(out.get("body")):
        out["body"] = _cut(out["body"])
    sns = out.get("Sns")
    if isinstance(sns, dict) and _long(sns.get("Message")):
        out["Sns"] = {**sns, "Message": _cut(sns["Message"])}
    return out


def _error_line(done: Finished) -> str | None:
    if done.outcome == "ok":
        return None
    return f"{done.error_type or done.outcome}: {done.error_message or ''}".rstrip(": ")


class InvocationRecorder:
    """A ring of the last `capacity` invocations, newest last, looked up by sequence number or request id."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, now: Callable[[], float] = time.time) -> None:
        self.capacity = capacity
        self._now = now
        self._records: OrderedDict[int, InvocationRecord] = OrderedDict()  # by seq, oldest first
        self._newest: dict[str, InvocationRecord] = {}  # by request id: its latest attempt
        self._listeners: dict[int, Listener] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

    # --- InvocationObserver -----------------------------------------------------------------

    def started(self, request_id: str, fn: FunctionSpec, event: Json) -> None:
        earlier = self._newest.get(request_id)
        attempt = 1 if earlier is None else earlier.attempt + 1
        record = InvocationRecord(next(self._seq), request_id, fn, trimmed(event), self._now(), attempt)
        self._records[record.seq] = record
        self._newest[request_id] = record
        while len(self._records) > self.capacity:
            _, gone = self._records.popitem(last=False)
            if self._newest.get(gone.request_id) is gone:
                del self._newest[gone.request_id]
        if self._listeners:
            self._tell("started", record.summary())

    def log(self, request_id: str, fn: FunctionSpec, line: str) -> None:
        record = self._newest.get(request_id)
        if record is None:
            return
        if len(record.logs) < MAX_LOG_LINES:
            record.logs.append(line)
        else:
            record.dropped_logs += 1
        if self._listeners:
            self._tell("log", {"seq": record.seq, "request_id": request_id, "function": fn.name, "line": line})

    def finished(self, request_id: str, fn: FunctionSpec, outcome: Finished) -> None:
        record = self._newest.get(request_id)
        if record is None:
            return
        kept = trimmed(outcome.result)
        record.finished = outcome if kept is outcome.result else replace(outcome, result=kept)
        if self._listeners:
            self._tell("finished", record.summary())

    # --- reading ------------------------------------------------------------------------------

    @property
    def recorded(self) -> int:
        """How many invocations are kept. (Not __len__: an empty recorder must not be falsy, since
        `observer or NoObserver()` would then drop it.)"""
        return len(self._records)

    def at(self, seq: int) -> InvocationRecord | None:
        """The call numbered `seq`, while it is kept."""
        return self._records.get(seq)

    def get(self, request_id: str) -> InvocationRecord | None:
        """The newest call with this request id (an asynchronous invocation's last attempt so far)."""
        return self._newest.get(request_id)

    def attempts(self, request_id: str) -> list[InvocationRecord]:
        """Every kept call with this request id, oldest first: one, or an asynchronous invocation's attempts."""
        newest = self._newest.get(request_id)
        if newest is None or newest.attempt == 1:
            return [] if newest is None else [newest]
        return [r for r in self._records.values() if r.request_id == request_id]

    def newest(self, *, function: str | None = None, status: str | None = None) -> Iterator[InvocationRecord]:
        """Newest first, optionally only one function's and/or one status's."""
        for record in reversed(self._records.values()):
            if function is not None and record.fn.name != function:
                continue
            if status is not None and record.status != status:
                continue
            yield record

    def page(
        self, *, function: str | None = None, status: str | None = None, before: int | None = None, limit: int = 100
    ) -> tuple[list[InvocationRecord], int | None]:
        """Up to `limit` records older than sequence number `before`; and the `before` of the next page."""
        found: list[InvocationRecord] = []
        for record in self.newest(function=function, status=status):
            if before is not None and record.seq >= before:
                continue
            if len(found) == limit:
                return found, found[-1].seq
            found.append(record)
        return found, None

    def last_of(self, fn_name: str, pragma: str) -> InvocationRecord | None:
        return next((r for r in self.newest(function=fn_name) if r.fn.pragma == pragma), None)

    def functions(self) -> list[str]:
        return sorted({r.fn.name for r in self._records.values()})

    # --- live updates -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` on every change; returns the function that unsubscribes it."""
        key = next(self._ids)
        self._listeners[key] = listener

        def unsubscribe() -> None:
            self._listeners.pop(key, None)

        return unsubscribe

    def _tell(self, kind: str, data: dict[str, Json]) -> None:
        for listener in list(self._listeners.values()):
            listener(kind, data)


class Observers:
    """Several InvocationObservers heard as one: the dashboard's recorder and, say, a test's own."""

    def __init__(self, *observers: InvocationObserver) -> None:
        self.observers = observers

    def started(self, request_id: str, fn: FunctionSpec, event: Json) -> None:
        for observer in self.observers:
            observer.started(request_id, fn, event)

    def log(self, request_id: str, fn: FunctionSpec, line: str) -> None:
        for observer in self.observers:
            observer.log(request_id, fn, line)

    def finished(self, request_id: str, fn: FunctionSpec, outcome: Finished) -> None:
        for observer in self.observers:
            observer.finished(request_id, fn, outcome)
