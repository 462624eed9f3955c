"""The event loop `arc-sandbox start` runs on: asyncio's own, with a selector that keeps asking for
ready sockets for a moment before it blocks, while they have been arriving close together.

Why: every warm call ends with the sandbox's loop waiting for the worker's answer. Waking a process
whose virtual CPU went idle costs an interrupt the host must deliver, which on the machines measured
was most of a warm call's time (bench/environments.py). A loop that polls for ~200 us first finds the
answer while its CPU is still awake. It polls only after a wait that ended quickly (answers, requests
and events coming close together), never when the sandbox sits idle or its calls are long, and only
where the workers have another CPU to run on: alone on one, polling would take it from them.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import time

POLL_NS = 200_000
SHORT_WAIT_NS = 1_000_000  # a wait that ended sooner than this says the next one may be short too


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class PollingSelector(selectors.DefaultSelector):
    def __init__(self, *, poll_ns: int = POLL_NS, short_wait_ns: int = SHORT_WAIT_NS) -> None:
        super().__init__()
        self._poll_ns = poll_ns
        self._short_wait_ns = short_wait_ns
        self.polling = False  # whether the next wait starts with a poll

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return self._wait(timeout)
        if self.polling:
            budget = self._poll_ns if timeout is None else min(self._poll_ns, int(timeout * 1e9))
            started = time.perf_counter_ns()
            deadline = started + budget
            # No sched_yield between tries, unlike a worker's poll: the workers this loop waits for
            # run as batch processes on the other CPUs, and a yield would hand them this one too.
            while True:
                ready = self._wait(0)
                if ready:
                    return ready
                now = time.perf_counter_ns()
                if now > deadline:
                    break
            if timeout is not None:
                timeout = max(0.0, timeout - (now - started) / 1e9)
        started = time.perf_counter_ns()
        ready = self._wait(timeout)
        self.polling = time.perf_counter_ns() - started < self._short_wait_ns
        return ready

    def _wait(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        return super().select(timeout)


def new_event_loop(cpus: int | None = None) -> asyncio.AbstractEventLoop:
    """The sandbox's loop: with the polling selector where there is more than one CPU to use."""
    if (usable_cpus() if cpus is None else cpus) > 1:
        return asyncio.SelectorEventLoop(PollingSelector())
    return asyncio.new_event_loop()
