"""SQS semantics for one queue, in memory: visibility, delays, FIFO groups, deduplication, batches.

The bus mirrors every change into SQLite (`storage.py`) before it is acknowledged; this state is
what decides, without a query, which messages make the next batch and when something is due.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from typing import Any

from sandbox.model import QueueSpec

DEDUP_WINDOW = 300.0  # SQS FIFO: five minutes
MAX_DELAY = 900.0


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
            _attrs(self.attributes), self.receive_count, self.first_receive, int(self.inflight),
        )  # fmt: skip


def _attrs(attributes: dict[str, str]) -> str:
    import json

    return json.dumps(attributes)


class QueueState:
    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.messages: dict[str, QueuedMessage] = {}  # in send order, which is FIFO order
        self.dedup: dict[str, tuple[str, float]] = {}  # dedup id -> (message id, expires)
        self._wakeups: list[tuple[float, str]] = []
        self.running_batches = 0

    @property
    def visibility_timeout(self) -> float:
        return self.spec.visibility_timeout or 6 * self.spec.function.timeout

    def dedup_key(self, body: str, dedup_id: str | None) -> str:
        return dedup_id or hashlib.sha256(body.encode()).hexdigest()

    def duplicate_of(self, key: str, now: float) -> str | None:
        found = self.dedup.get(key)
        if found is None or found[1] <= now:
            self.dedup.pop(key, None)
            return None
        return found[0]

    def add(self, message: QueuedMessage, now: float) -> None:
        self.messages[message.id] = message
        if message.dedup_id is not None:
            self.dedup[message.dedup_id] = (message.id, now + DEDUP_WINDOW)
        self.schedule_wakeup(message)

    def schedule_wakeup(self, message: QueuedMessage) -> None:
        heapq.heappush(self._wakeups, (message.visible_at, message.id))

    def next_batch(self, now: float) -> list[QueuedMessage]:
        """The messages of the next batch, in order; FIFO groups with a message in flight are skipped."""
        batch: list[QueuedMessage] = []
        blocked: set[str | None] = set()
        for message in self.messages.values():
            if len(batch) >= self.spec.batch_size:
                break
            group = message.group_id
            if self.spec.fifo and group in blocked:
                continue
            if message.inflight or message.visible_at > now:
                if self.spec.fifo:
                    blocked.add(group)  # later messages of this group wait their turn
                continue
            batch.append(message)
        return batch

    def window_open(self, batch: list[QueuedMessage], now: float) -> bool:
        """A partial batch waits up to batchWindow for more messages, as Lambda's poller does."""
        if not batch or len(batch) >= self.spec.batch_size or self.spec.batch_window <= 0:
            return False
        return min(m.visible_at for m in batch) + self.spec.batch_window > now

    def next_due(self, now: float) -> float | None:
        """The earliest moment a waiting message becomes visible, or a partial batch's window closes."""
        while self._wakeups:
            at, message_id = self._wakeups[0]
            message = self.messages.get(message_id)
            stale = message is None or message.inflight or message.visible_at != at
            if not stale and at > now:
                break
            heapq.heappop(self._wakeups)  # gone, in flight, moved, or visible already
        due = [self._wakeups[0][0]] if self._wakeups else []
        batch = self.next_batch(now)
        if self.window_open(batch, now):
            due.append(min(m.visible_at for m in batch) + self.spec.batch_window)
        return min(due) if due else None
