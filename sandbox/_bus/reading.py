"""SQS as a client reads it: ReceiveMessage, DeleteMessage, ChangeMessageVisibility, counts, purge.

Kept apart from the bus's delivery to functions: it works on the same `QueueState` and the same
stored rows, so a message a client received and did not delete becomes visible again (to clients,
or to the queue's function) when its visibility timeout ends, as on SQS. A queue whose folder holds
no handler is read only by clients: the bus does not deliver it (`client_read`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox._bus.queues import QueuedMessage, QueueState
from sandbox._bus.storage import BusStorage
from sandbox.clock import Clock
from sandbox.errors import AwsError
from sandbox.model import QueueSpec

HANDLER_FILES = ("lambda.py", "handler.py", "index.py")
MAX_VISIBILITY = 43_200.0  # SQS: 12 hours


class ReceiptHandleIsInvalidError(AwsError):
    aws_code = "ReceiptHandleIsInvalid"


class MessageNotInflightError(AwsError):
    aws_code = "AWS.SimpleQueueService.MessageNotInflight"


@dataclass(frozen=True)
class QueueCounts:
    visible: int
    not_visible: int
    delayed: int


def has_handler(src_dir: Path) -> bool:
    return any((src_dir / name).is_file() for name in HANDLER_FILES)


def client_read_queues(specs: Iterable[QueueSpec]) -> frozenset[str]:
    """Queues with no handler file: nothing polls them but the clients that call ReceiveMessage."""
    return frozenset(spec.name for spec in specs if not has_handler(spec.function.src_dir))


class QueueReader:
    def __init__(
        self, queues: Mapping[str, QueueState], storage: BusStorage, clock: Clock, *, wake: Callable[[], None]
    ) -> None:
        self._queues = queues
        self._storage = storage
        self._clock = clock
        self._wake = wake

    async def receive(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: float | None = None
    ) -> list[QueuedMessage]:
        """Up to `max_messages` visible messages, hidden for the visibility timeout; FIFO groups one at a time."""
        state = self._queues[queue]
        now = self._clock.now()
        hidden_for = state.visibility_timeout if visibility_timeout is None else visibility_timeout
        taken = _visible(state, now, max_messages)
        for message in taken:
            message.receive_count += 1
            message.first_receive = message.first_receive or now
            message.receipt = f"{message.id}.{uuid.uuid4().hex}"
            message.visible_at = now + hidden_for
            state.schedule_wakeup(message)  # visible again, to clients or the function, unless deleted first
        if taken:
            await self._storage.save(taken)
        return taken

    async def delete(self, queue: str, receipt_handle: str) -> None:
        """DeleteMessage; a handle of a message already gone is accepted, as SQS does."""
        message_id = _message_id(receipt_handle)
        state = self._queues[queue]
        if state.messages.pop(message_id, None) is not None:
            await self._storage.delete([message_id])

    async def change_visibility(self, queue: str, receipt_handle: str, hidden_for: float) -> None:
        message = self._queues[queue].messages.get(_message_id(receipt_handle))
        now = self._clock.now()
        if message is None or message.inflight or message.receive_count == 0 or message.visible_at <= now:
            raise MessageNotInflightError("Value " + receipt_handle + " for parameter ReceiptHandle is invalid.")
        message.visible_at = now + hidden_for
        self._queues[queue].schedule_wakeup(message)
        await self._storage.save([message])
        self._wake()

    def counts(self, queue: str) -> QueueCounts:
        now = self._clock.now()
        visible = not_visible = delayed = 0
        for message in self._queues[queue].messages.values():
            if message.inflight or (message.receive_count and message.visible_at > now):
                not_visible += 1
            elif message.visible_at > now:
                delayed += 1
            else:
                visible += 1
        return QueueCounts(visible, not_visible, delayed)

    async def purge(self, queue: str) -> int:
        state = self._queues[queue]
        ids = list(state.messages)
        state.messages.clear()
        await self._storage.delete(ids)
        return len(ids)


def _visible(state: QueueState, now: float, limit: int) -> list[QueuedMessage]:
    taken: list[QueuedMessage] = []
    blocked: set[str | None] = set()
    for message in state.messages.values():
        if len(taken) >= limit:
            break
        if state.spec.fifo and message.group_id in blocked:
            continue
        if message.inflight or message.visible_at > now:
            if state.spec.fifo:
                blocked.add(message.group_id)  # a group's later messages wait for the one in flight
            continue
        taken.append(message)
    return taken


def _message_id(receipt_handle: str) -> str:
    message_id, dot, token = receipt_handle.partition(".")
    if not dot or len(token) != 32:
        raise ReceiptHandleIsInvalidError(f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.')
    return message_id
