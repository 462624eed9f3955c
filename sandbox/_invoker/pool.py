"""Threads for sync handlers, with a hand-off that costs one wake-up per burst rather than one per call.

`run_in_executor` wakes a worker thread for every call, and the loop again for every result. On a
busy two-core laptop those wake-ups (a futex, a context switch, a GIL hand-over each) cost more than
a small handler does. Here the loop queues the calls of one loop iteration and wakes at most one
worker for them; a worker runs every call it finds queued, and results go back to the loop in
batches, with one wake-up of the loop for each batch.

Batching suits quick functions only. Each function's typical call time is tracked, and a call of a
function that is not known to be quick (it waits on I/O, or it is new) gets a thread of its own at
once, as it would get an instance of its own on Lambda. A worker inside one call for longer than
`stuck_after` no longer counts as able to take queued calls, so a quick function that suddenly
blocks holds the calls queued behind it up for that long at most.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox._invoker.exits import as_call_failure

QUICK_CALL = 0.002  # seconds: a function whose calls typically take less is batched
STUCK_AFTER = 0.02  # seconds: a worker in one call for longer takes no more queued calls
# A function's typical call time follows a quicker call at once, a slower one by this fraction of the
# difference: on a busy machine a quick call sometimes waits for the GIL mid-way, which must not make
# its function look slow, while a function that takes to waiting on I/O is seen as slow within a few calls.
_SLOWER_WEIGHT = 0.1


class CallTimeout(Exception):
    """The call ran past its timeout; its thread was interrupted and its result will be dropped."""


class _Call:
    __slots__ = ("abandoned", "done", "error", "fn", "future", "key", "result", "started", "thread_id")

    def __init__(self, fn: Callable[[], Any], key: str, future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.key = key
        self.future = future
        self.started = 0.0
        self.thread_id: int | None = None
        self.done = False
        self.abandoned = False
        self.result: Any = None
        self.error: BaseException | None = None


class _Worker:
    __slots__ = ("current", "parked", "wake")

    def __init__(self) -> None:
        self.wake = threading.Lock()  # held while the worker is parked; released to wake it
        self.wake.acquire()
        self.parked = False
        self.current: _Call | None = None


class HandlerPool:
    """`await pool.run(fn, time_limit, key=name)` runs `fn()` on a worker thread. One event loop only."""

    def __init__(
        self,
        max_threads: int,
        *,
        quick_call: float = QUICK_CALL,
        stuck_after: float = STUCK_AFTER,
        name: str = "arc-sandbox-handler",
    ) -> None:
        self._max_threads = max_threads
        self._quick_call = quick_call
        self._stuck_after = stuck_after
        self._name = name
        self._lock = threading.Lock()
        self._queue: collections.deque[_Call] = collections.deque()
        self._results: collections.deque[_Call] = collections.deque()
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._typical: dict[str, float] = {}  # function -> smoothed seconds per call
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatch_pending = False
        self._drain_pending = False
        self._stuck_timer: asyncio.TimerHandle | None = None
        self._stopping = False

    @property
    def threads(self) -> int:
        """Worker threads started so far (parked ones included)."""
        return len(self._workers)

    def typical_seconds(self, key: str) -> float | None:
        return self._typical.get(key)

    async def run(self, fn: Callable[[], Any], time_limit: float, *, key: str = "") -> Any:
        """`fn()` on a worker; CallTimeout after `time_limit` seconds (the worker is interrupted).

        Not `asyncio.timeout()`: cancelling the wait alone would leave the handler running."""
        if self._stopping:
            raise RuntimeError("the handler pool is stopped")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("a HandlerPool serves the event loop that first used it, and no other")
        call = _Call(fn, key, loop.create_future())
        self._queue.append(call)
        if not self._dispatch_pending:
            # Wake workers once this loop iteration has queued all it is going to queue.
            self._dispatch_pending = True
            loop.call_soon(self._dispatch, loop)
        timer = loop.call_later(time_limit, self._expire, call)
        try:
            return await call.future
        finally:
            timer.cancel()

    def stop(self) -> None:
        """Fail queued calls, and let every worker exit (those inside a call, once it returns)."""
        with self._lock:
            self._stopping = True
            idle, self._idle = self._idle, []
            queued = list(self._queue)
            self._queue.clear()
        for worker in idle:
            worker.wake.release()
        for call in queued:
            call.abandoned = True
            if not call.future.done():
                call.future.set_exception(RuntimeError("the handler pool stopped before the call ran"))
        if self._stuck_timer is not None:
            self._stuck_timer.cancel()
            self._stuck_timer = None

    # --- on the loop -------------------------------------------------------------------------

    def _dispatch(self, loop: asyncio.AbstractEventLoop, *, stuck_check: bool = False) -> None:
        """Wake (or start) as many workers as the queued calls need."""
        self._dispatch_pending = False
        woken: list[_Worker] = []
        with self._lock:
            if not self._queue:
                return
            quick = self._quick_call
            typical = self._typical
            quick_queued = sum(1 for call in self._queue if typical.get(call.key, quick) < quick)
            awake, between, in_quick_call = self._awake_workers(time.monotonic())
            wanted = len(self._queue) - quick_queued  # a thread for each call that may take a while
            if quick_queued and not (between or in_quick_call):
                # One thread runs every quick call queued; each gets its own once the awake
                # workers have all been stuck in a call past stuck_after.
                wanted += quick_queued if stuck_check and awake else 1
            wanted -= between  # workers between two calls take queued ones next
            while wanted > 0 and self._idle:
                worker = self._idle.pop()
                worker.parked = False
                woken.append(worker)
                wanted -= 1
            spawn = max(0, min(wanted, self._max_threads - len(self._workers)))
        for worker in woken:
            worker.wake.release()
        for _ in range(spawn):
            self._spawn()
        if self._stuck_timer is None:
            self._stuck_timer = loop.call_later(self._stuck_after, self._check_stuck, loop)

    def _awake_workers(self, now: float) -> tuple[int, int, bool]:
        """Workers awake; those between two calls; is one inside a quick call not yet stuck?"""
        quick, stuck_after, typical = self._quick_call, self._stuck_after, self._typical
        awake = between = 0
        in_quick_call = False
        for worker in self._workers:
            if worker.parked:
                continue
            awake += 1
            call = worker.current
            if call is None:
                between += 1
            elif typical.get(call.key, quick) < quick and now - call.started < stuck_after:
                in_quick_call = True
        return awake, between, in_quick_call

    def _check_stuck(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stuck_timer = None
        self._dispatch(loop, stuck_check=True)

    def _drain(self) -> None:
        self._drain_pending = False  # first: a worker finishing from here on schedules another drain
        results = self._results
        while results:
            call = results.popleft()
            future = call.future
            if future.done():
                continue  # timed out already
            error = call.error
            if error is None:
                future.set_result(call.result)
            else:
                future.set_exception(as_call_failure(error))

    def _expire(self, call: _Call) -> None:
        with self._lock:
            if call.done:
                return
            call.abandoned = True
            if call.thread_id is not None:
                # Raises TimeoutError inside the runaway handler, at its next Python bytecode.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(call.thread_id), ctypes.py_object(TimeoutError)
                )
        if not call.future.done():
            call.future.set_exception(CallTimeout())

    # --- on the workers ----------------------------------------------------------------------

    def _spawn(self) -> None:
        worker = _Worker()
        with self._lock:
            self._workers.append(worker)
            name = f"{self._name}-{len(self._workers)}"
        threading.Thread(target=self._work, args=(worker,), name=name, daemon=True).start()

    def _work(self, worker: _Worker) -> None:
        while True:
            try:
                call = self._next(worker)
                if call is None:
                    return
                self._execute(worker, call)
            except TimeoutError:
                # An interrupt that landed after its call had returned. The bookkeeping it cut short
                # may have skipped waking the loop, so wake it regardless.
                self._notify_loop(force=True)

    def _next(self, worker: _Worker) -> _Call | None:
        while True:
            with self._lock:
                queue = self._queue
                while queue:
                    call = queue.popleft()
                    if not call.abandoned:
                        call.thread_id = threading.get_ident()
                        call.started = time.monotonic()
                        worker.current = call
                        return call
                worker.current = None
                if self._stopping:
                    return None
                if not worker.parked:  # parked already if a stale interrupt cut the wait below short
                    worker.parked = True
                    self._idle.append(worker)
            worker.wake.acquire()

    def _execute(self, worker: _Worker, call: _Call) -> None:
        try:
            call.result = call.fn()
        except BaseException as error:  # noqa: BLE001 (whatever the handler raised is its call's outcome)
            call.error = error
        elapsed = time.monotonic() - call.started
        with self._lock:
            call.done = True
            worker.current = None
            previous = self._typical.get(call.key, elapsed)
            self._typical[call.key] = min(elapsed, previous + _SLOWER_WEIGHT * (elapsed - previous))
        self._results.append(call)
        self._notify_loop()

    def _notify_loop(self, *, force: bool = False) -> None:
        if self._drain_pending and not force:
            return
        self._drain_pending = True  # before scheduling, since the drain clears it first thing
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
                loop.call_soon_threadsafe(self._drain)
