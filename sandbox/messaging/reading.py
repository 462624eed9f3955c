"""SQS as a client reads it: ReceiveMessage, DeleteMessage, ChangeMessageVisibility, counts, purge.

The queue's own state changes in `queues.Queue` (its `*_for_client` methods); this mirrors them into
SQLite as the bus does, and speaks in SQS's terms (receipt handles, its errors). A message a client
received and did not delete becomes visible again when its visibility timeout ends, to clients or
the queue's function, as on SQS. A queue whose folder holds no handler is read only by clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox.clock import Clock
from sandbox.errors import AwsError
from sandbox.messaging.queues import QueuedMessage, Queues
from sandbox.messaging.storage import BusStorage

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


class QueueReader:
    def __init__(self, queues: Queues, storage: BusStorage, clock: Clock, *, wake: Callable[[], None]) -> None:
        self._queues = queues
        self._storage = storage
        self._clock = clock
        self._wake = wake
        self._arrivals: set[asyncio.Future[None]] = set()  # long polls waiting for a message

    def notify(self) -> None:
        """A message may have become receivable (sent, or made visible): waiting long polls look again."""
        if not self._arrivals:
            return  # the usual case, on every send: nobody is long polling
        arrivals, self._arrivals = self._arrivals, set()
        for arrival in arrivals:
            if not arrival.done():
                arrival.set_result(None)

    def mark_client_read(self) -> None:
        """Queues with no handler file are not delivered (checked on start and on each manifest reload)."""
        for queue in self._queues:
            queue.polled = has_handler(queue.spec.function.src_dir)
        self.notify()

    async def receive(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: float | None = None
    ) -> list[QueuedMessage]:
        found = self._queues.get(queue)
        hidden_for = found.visibility_timeout if visibility_timeout is None else visibility_timeout
        taken = found.receive_for_client(self._clock.now(), max_messages, hidden_for)
        if taken:
            await self._storage.save(taken)
            self._wake()  # the function (if any) may take them when they are visible again
        return taken

    async def receive_waiting(
        self, queue: str, *, wait_seconds: float, max_messages: int = 1, visibility_timeout: float | None = None
    ) -> list[QueuedMessage]:
        """ReceiveMessage with WaitTimeSeconds (long polling): answers as soon as a message can be taken,
        when one is sent or a waiting one becomes visible (by the sandbox's clock), else empty at the end
        of the wait (real seconds, as the client's own timeout counts them)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + wait_seconds
        while True:
            taken = await self.receive(queue, max_messages=max_messages, visibility_timeout=visibility_timeout)
            remaining = until - loop.time()
            if taken or remaining <= 0:
                return taken
            await self._until_receivable(queue, remaining)

    async def _until_receivable(self, queue: str, at_most: float) -> None:
        arrival: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._arrivals.add(arrival)
        waits: list[asyncio.Future[None]] = [arrival]
        visible = self._queues.get(queue).next_visible()
        if visible is not None:
            waits.append(asyncio.ensure_future(self._clock.sleep(visible - self._clock.now())))
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(at_most):
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._arrivals.discard(arrival)
            for waiter in waits:
                waiter.cancel()

    async def delete(self, queue: str, receipt_handle: str) -> None:
        """DeleteMessage; a handle of a message already gone is accepted, as SQS does."""
        message_id = _message_id(receipt_handle)
        if self._queues.get(queue).delete_for_client(message_id, self._clock.now()) is not None:
            self._storage.forget_messages([message_id])
            await self._storage.flush()
            self._wake()

    async def change_visibility(self, queue: str, receipt_handle: str, hidden_for: float) -> None:
        message = self._queues.get(queue).change_visibility(_message_id(receipt_handle), hidden_for, self._clock.now())
        if message is None:
            raise MessageNotInflightError(f"Value {receipt_handle} for parameter ReceiptHandle is invalid.")
        await self._storage.save([message])
        self._wake()
        self.notify()  # a visibility of 0 makes it receivable now

    def counts(self, queue: str) -> QueueCounts:
        tally = self._queues.get(queue).counts(self._clock.now())  # this queue's messages only
        return QueueCounts(tally["pending"], tally["in_flight"] + tally["retrying"], tally["delayed"])

    async def purge(self, queue: str) -> int:
        ids = self._queues.get(queue).purge()
        self._storage.forget_messages(ids)
        await self._storage.flush()
        return len(ids)


def _message_id(receipt_handle: str) -> str:
    message_id, dot, token = receipt_handle.partition(".")
    if not dot or len(token) != len(uuid.uuid4().hex):
        raise ReceiptHandleIsInvalidError(f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.')
    return message_id
