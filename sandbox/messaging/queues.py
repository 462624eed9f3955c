"""The SQS emulation, in memory: send, receive, visibility, delete, retry, redrive, FIFO groups, delays.

`Queues` owns every queue's messages and is the only code that changes them; the bus asks it for
the next batch and tells it how a batch went, and mirrors what it returns into SQLite
(`storage.py`). Indexes keep each call O(log n) in the backlog:

- a heap of what waits to become visible (a delay, a visibility timeout), by visible-at time;
- a heap of what is visible now, by send order;
- for FIFO queues the unit in both heaps is a message group, keyed by its head message, so a group
  with a message in flight or waiting out a visibility timeout holds back the rest of its group.

Heap entries are not removed when a message moves on; an entry that no longer matches its message
(or group head) is skipped when it reaches the top.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sandbox.errors import NotFoundError, ValidationError
from sandbox.messaging import records
from sandbox.model import FunctionSpec, QueueSpec

DEDUP_WINDOW = 300.0  # SQS FIFO: five minutes
MAX_DELAY = 900.0
MAX_BATCHES_PER_QUEUE = 10  # batches of one queue being delivered at once, as Lambda's pollers scale

MessageState = Literal["pending", "delayed", "in_flight", "retrying"]


@dataclass
class QueuedMessage:
    id: str
    queue: str
    body: str
    seq: int
    sent_at: float
    visible_at: float
    group_id: str | None = None
    dedup_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    receive_count: int = 0
    first_receive: float | None = None
    inflight: bool = False
    receipt: str | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.id, self.queue, self.body, self.seq, self.sent_at, self.visible_at, self.group_id, self.dedup_id,
            json.dumps(self.attributes), self.receive_count, self.first_receive, int(self.inflight),
        )  # fmt: skip

    def state(self, now: float) -> MessageState:
        if self.inflight:
            return "in_flight"
        if self.visible_at > now:
            return "retrying" if self.receive_count else "delayed"
        return "pending"


@dataclass(frozen=True)
class MessageView:
    """One message as the dashboard and `arc-sandbox messages` show it."""

    queue: str
    message_id: str
    state: MessageState
    body: str
    receive_count: int
    sent_at: float
    visible_at: float
    group_id: str | None
    attributes: dict[str, str]


@dataclass(frozen=True)
class Settled:
    """How a delivered batch ended: what to delete, what to dead-letter, what comes back later."""

    deleted: list[QueuedMessage]
    dead: list[QueuedMessage]
    returning: list[QueuedMessage]


class Queue:
    """One queue's messages and the indexes that pick its next batch."""

    def __init__(self, spec: QueueSpec, *, active: bool = True, max_batches: int = MAX_BATCHES_PER_QUEUE) -> None:
        self.spec = spec
        self.active = active
        self.polled = True  # False: no handler, so only clients read it (ReceiveMessage, `reading.py`)
        self.max_batches = max_batches
        self.running_batches = 0
        self.messages: dict[str, QueuedMessage] = {}
        self._waiting: list[tuple[float, int, str]] = []  # (visible_at, seq, key): not visible yet
        self._ready: list[tuple[int, str]] = []  # (seq, key): visible now
        self._groups: dict[str, deque[str]] = {}  # FIFO: each group's message ids, in send order
        self._busy_groups: set[str] = set()  # FIFO: groups with a message in flight
        self._dedup: dict[str, tuple[str, float]] = {}  # deduplication id -> (message id, expires)
        self._dedup_order: deque[tuple[float, str]] = deque()  # the same, oldest first, to expire in O(1)
        self._window_due: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def fifo(self) -> bool:
        return self.spec.fifo

    @property
    def visibility_timeout(self) -> float:
        return self.spec.visibility_timeout or 6 * self.spec.function.timeout

    # --- sending -------------------------------------------------------------------------------

    def dedup_key(self, body: str, dedup_id: str | None) -> str:
        return dedup_id or hashlib.sha256(body.encode()).hexdigest()

    def duplicate_of(self, key: str, now: float) -> str | None:
        self._expire_dedup(now)
        found = self._dedup.get(key)
        return found[0] if found is not None and found[1] > now else None

    def remember_dedup(self, key: str, message_id: str, now: float) -> None:
        expires = now + DEDUP_WINDOW
        self._dedup[key] = (message_id, expires)
        self._dedup_order.append((expires, key))

    def forget_dedup(self, key: str, message_id: str) -> None:
        if self._dedup.get(key, ("", 0.0))[0] == message_id:
            del self._dedup[key]

    def _expire_dedup(self, now: float) -> None:
        while self._dedup_order and self._dedup_order[0][0] <= now:
            expires, key = self._dedup_order.popleft()
            if self._dedup.get(key, ("", 0.0))[1] == expires:
                del self._dedup[key]

    def add(self, message: QueuedMessage, now: float) -> None:
        """A message sent (and stored), or recovered at start: it takes its place in the indexes."""
        self.messages[message.id] = message
        if message.dedup_id is not None and message.dedup_id not in self._dedup:
            self.remember_dedup(message.dedup_id, message.id, now)
        if self.fifo:
            group = message.group_id or ""
            members = self._groups.setdefault(group, deque())
            members.append(message.id)
            if len(members) == 1:
                self._schedule_group(group, now)
        else:
            self._schedule_message(message, now)

    def _schedule_message(self, message: QueuedMessage, now: float) -> None:
        if message.visible_at <= now:
            heapq.heappush(self._ready, (message.seq, message.id))
        else:
            heapq.heappush(self._waiting, (message.visible_at, message.seq, message.id))

    def _head(self, group: str) -> QueuedMessage | None:
        """The group's first message still stored (deleted ones are dropped from the front here)."""
        members = self._groups.get(group)
        while members:
            message = self.messages.get(members[0])
            if message is not None:
                return message
            members.popleft()
        self._groups.pop(group, None)
        return None

    def _schedule_group(self, group: str, now: float) -> None:
        head = self._head(group)
        if head is None or group in self._busy_groups:
            return
        if head.visible_at <= now:
            heapq.heappush(self._ready, (head.seq, group))
        else:
            heapq.heappush(self._waiting, (head.visible_at, head.seq, group))

    # --- receiving -----------------------------------------------------------------------------

    def _waiting_entry_is_current(self, at: float, seq: int, key: str) -> bool:
        if self.fifo:
            head = self._head(key)
            return head is not None and key not in self._busy_groups and head.seq == seq and head.visible_at == at
        message = self.messages.get(key)
        return message is not None and not message.inflight and message.visible_at == at

    def _promote(self, now: float) -> None:
        """Whatever has become visible moves from the waiting heap to the ready heap."""
        while self._waiting and self._waiting[0][0] <= now:
            at, seq, key = heapq.heappop(self._waiting)
            if self._waiting_entry_is_current(at, seq, key):
                heapq.heappush(self._ready, (seq, key))

    def _collect(self, now: float) -> tuple[list[QueuedMessage], list[tuple[int, str]]]:
        """The next batch, in order, and the ready entries it came from (to put back if it waits)."""
        batch: list[QueuedMessage] = []
        taken: list[tuple[int, str]] = []
        size = self.spec.batch_size
        while self._ready and len(batch) < size:
            entry = heapq.heappop(self._ready)
            if self.fifo:
                found = self._take_from_group(entry, now, size - len(batch))
            else:
                message = self.messages.get(entry[1])
                found = [message] if message is not None and not message.inflight else []
            if found:
                batch += found
                taken.append(entry)
        return batch, taken

    def _take_from_group(self, entry: tuple[int, str], now: float, room: int) -> list[QueuedMessage]:
        seq, group = entry
        head = self._head(group)
        if head is None or head.seq != seq or group in self._busy_groups:
            return []
        found: list[QueuedMessage] = []
        for message_id in self._groups[group]:
            message = self.messages.get(message_id)
            if message is None:
                continue
            if message.inflight or message.visible_at > now or len(found) >= room:
                break
            found.append(message)
        if found:
            self._busy_groups.add(group)
        return found

    def receive(self, now: float) -> list[QueuedMessage]:
        """The next batch to deliver, now in flight; empty if nothing is ready, or a batch window is open."""
        self._window_due = None
        if not self.active or not self.polled or self.running_batches >= self.max_batches:
            return []
        self._promote(now)
        batch, taken = self._collect(now)
        if not batch:
            return []
        window = self.spec.batch_window
        if len(batch) < self.spec.batch_size and window > 0:
            closes = min(m.visible_at for m in batch) + window
            if closes > now:  # a partial batch waits for more, as Lambda's poller does
                for entry in taken:
                    heapq.heappush(self._ready, entry)
                    self._busy_groups.discard(entry[1])
                self._window_due = closes
                return []
        for message in batch:
            message.inflight = True
            message.receive_count += 1
            message.first_receive = message.first_receive or now
            message.receipt = str(uuid.uuid4())
            message.visible_at = now + self.visibility_timeout
        self.running_batches += 1
        return batch

    def settle(self, batch: list[QueuedMessage], failed: set[str], *, max_receive_count: int, now: float) -> Settled:
        """A delivered batch: the successes are deleted, the failures come back after their visibility
        timeout, or go to the dead letters once received `max_receive_count` times."""
        self.running_batches -= 1
        deleted: list[QueuedMessage] = []
        dead: list[QueuedMessage] = []
        returning: list[QueuedMessage] = []
        for message in batch:
            message.inflight = False
            if message.id not in failed:
                deleted.append(message)
            elif message.receive_count >= max_receive_count:
                dead.append(message)
            else:
                returning.append(message)
        for message in deleted + dead:
            self.messages.pop(message.id, None)
        if self.fifo:
            for group in {m.group_id or "" for m in batch}:
                self._busy_groups.discard(group)
                self._schedule_group(group, now)
        else:
            for message in returning:
                self._schedule_message(message, now)
        return Settled(deleted, dead, returning)

    def next_visible(self) -> float | None:
        """The earliest moment a waiting (delayed, or received and not deleted) message becomes visible."""
        while self._waiting and not self._waiting_entry_is_current(*self._waiting[0]):
            heapq.heappop(self._waiting)
        return self._waiting[0][0] if self._waiting else None

    def next_due(self, now: float) -> float | None:
        """The earliest moment a waiting message becomes visible, or a partial batch's window closes."""
        if not self.polled:
            return None  # nothing delivers it: its messages wait for a client's ReceiveMessage
        visible = self.next_visible()
        due = [visible] if visible is not None else []
        if self._window_due is not None:
            due.append(self._window_due)
        return min(due) if due else None

    # --- read by a client (SQS ReceiveMessage, DeleteMessage, ChangeMessageVisibility, PurgeQueue) ---

    def receive_for_client(self, now: float, limit: int, hidden_for: float) -> list[QueuedMessage]:
        """Up to `limit` visible messages, hidden for `hidden_for` s: visible again, to a client or the
        function, unless deleted first. A FIFO group stays held back while its head is hidden."""
        self._promote(now)
        taken: list[QueuedMessage] = []
        while self._ready and len(taken) < limit:
            entry = heapq.heappop(self._ready)
            if self.fifo:
                found = self._take_from_group(entry, now, limit - len(taken))
                self._busy_groups.discard(entry[1])  # held by its hidden head instead, below
            else:
                message = self.messages.get(entry[1])
                found = [message] if message is not None and not message.inflight else []
            taken += found
        for message in taken:
            message.receive_count += 1
            message.first_receive = message.first_receive or now
            message.receipt = f"{message.id}.{uuid.uuid4().hex}"
            message.visible_at = now + hidden_for
            self._reschedule(message, now)
        return taken

    def _reschedule(self, message: QueuedMessage, now: float) -> None:
        if self.fifo:
            self._schedule_group(message.group_id or "", now)
        else:
            self._schedule_message(message, now)

    def delete_for_client(self, message_id: str, now: float) -> QueuedMessage | None:
        message = self.messages.pop(message_id, None)
        if message is not None and self.fifo:
            self._schedule_group(message.group_id or "", now)  # the next of its group may go now
        return message

    def change_visibility(self, message_id: str, hidden_for: float, now: float) -> QueuedMessage | None:
        """A message a client received and has not deleted, hidden for `hidden_for` s from now; None otherwise."""
        message = self.messages.get(message_id)
        if message is None or message.inflight or message.state(now) != "retrying":
            return None
        message.visible_at = now + hidden_for
        self._reschedule(message, now)
        return message

    def purge(self) -> list[str]:
        ids = list(self.messages)
        self.messages.clear()
        self._waiting.clear()
        self._ready.clear()
        self._groups.clear()
        return ids

    # --- looking -------------------------------------------------------------------------------

    def counts(self, now: float) -> dict[MessageState, int]:
        """How many of this queue's messages are pending, delayed, in flight or retrying."""
        tally: dict[MessageState, int] = {"pending": 0, "delayed": 0, "in_flight": 0, "retrying": 0}
        for message in self.messages.values():
            tally[message.state(now)] += 1
        return tally

    def views(self, now: float) -> Iterator[MessageView]:
        for m in self.messages.values():
            yield MessageView(
                self.name, m.id, m.state(now), m.body, m.receive_count, m.sent_at, m.visible_at, m.group_id,
                dict(m.attributes),
            )  # fmt: skip


class Queues:
    """Every queue of the app by name, those removed from the manifest included while they hold messages."""

    def __init__(self, specs: tuple[QueueSpec, ...] = ()) -> None:
        self._queues: dict[str, Queue] = {}
        self._seq = 0
        self.update(specs)

    def update(self, specs: tuple[QueueSpec, ...]) -> None:
        """Hot reload: new queues appear; removed ones keep their messages, undelivered."""
        names = {spec.name for spec in specs}
        for queue in self._queues.values():
            queue.active = queue.name in names
        for spec in specs:
            known = self._queues.get(spec.name)
            if known is None:
                self._queues[spec.name] = Queue(spec)
            else:
                known.spec = spec

    def __iter__(self) -> Iterator[Queue]:
        return iter(list(self._queues.values()))

    def active(self) -> Iterator[Queue]:
        return (q for q in self._queues.values() if q.active)

    def find(self, name: str) -> Queue | None:
        return self._queues.get(name)

    def get(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None or not queue.active:
            names = ", ".join(q.name for q in self.active()) or "none"
            raise NotFoundError(f"no @queues queue named {name!r} (queues: {names})")
        return queue

    def recover(self, message: QueuedMessage, now: float) -> None:
        """A message stored by an earlier run; a queue gone from the manifest keeps it, undelivered."""
        self._seq = max(self._seq, message.seq)
        queue = self._queues.get(message.queue)
        if queue is None:
            removed = Path("/removed-from-manifest") / message.queue
            spec = QueueSpec(name=message.queue, function=FunctionSpec("queues", message.queue, removed))
            queue = self._queues[message.queue] = Queue(spec, active=False)
        queue.add(message, now)

    def prepare(
        self,
        name: str,
        body: str,
        *,
        now: float,
        delay_seconds: float = 0,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> QueuedMessage | str:
        """SendMessage's checks: a new message to store and then `add`, or the id of the message it
        duplicates (FIFO, within five minutes). A new FIFO message holds its deduplication id at once,
        so a second send while the first is being stored is a duplicate too."""
        queue = self.get(name)
        if not 0 <= delay_seconds <= MAX_DELAY:
            raise ValidationError(f"DelaySeconds must be between 0 and {MAX_DELAY:g}, got {delay_seconds}")
        if queue.fifo and delay_seconds:
            raise ValidationError(
                f"queue {name!r} is FIFO: SQS FIFO queues take no per-message DelaySeconds (set `fifo false` for delays)"
            )
        dedup = queue.dedup_key(body, deduplication_id) if queue.fifo else None
        if dedup is not None and (duplicate := queue.duplicate_of(dedup, now)) is not None:
            return duplicate  # SQS accepts a duplicate within five minutes and delivers it once
        self._seq += 1
        message = QueuedMessage(
            id=records.message_id(), queue=name, body=body, seq=self._seq, sent_at=now, visible_at=now + delay_seconds,
            group_id=(group_id or name) if queue.fifo else group_id, dedup_id=dedup, attributes=dict(attributes or {}),
        )  # fmt: skip
        if dedup is not None:
            queue.remember_dedup(dedup, message.id, now)
        return message

    def add(self, message: QueuedMessage, now: float) -> None:
        self._queues[message.queue].add(message, now)

    def abandon(self, message: QueuedMessage) -> None:
        """A prepared message that could not be stored: its deduplication id is free again."""
        if message.dedup_id is not None:
            self._queues[message.queue].forget_dedup(message.dedup_id, message.id)

    def next_due(self, now: float) -> float | None:
        due = [d for q in self.active() if (d := q.next_due(now)) is not None]
        return min(due) if due else None

    def snapshot(self, now: float) -> list[MessageView]:
        """Every stored message of every queue, with its state, body and receive count."""
        return [view for queue in self._queues.values() for view in queue.views(now)]

    def counts(self, now: float) -> dict[str, dict[MessageState, int]]:
        """Per queue, how many messages are pending, delayed, in flight or retrying."""
        return {queue.name: queue.counts(now) for queue in self._queues.values()}
