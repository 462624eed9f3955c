"""Event loops for `async def` handlers, each on its own thread, away from the sandbox's core loop.

A handler that blocks its loop (a sync boto3 call inside `async def`) then delays only the handlers
that share that loop, never the endpoints it may be calling back into. A watchdog on the core loop
pings every handler loop and names the functions running on one that stops answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class HandlerLoop:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.running: Counter[str] = Counter()  # function names currently running here
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    async def run(self, function_name: str, coro: Coroutine[Any, Any, T]) -> T:
        self.running[function_name] += 1
        try:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))
        finally:
            self.running[function_name] -= 1
            if not self.running[function_name]:
                del self.running[function_name]

    async def ping(self, limit: float) -> float | None:
        """Seconds the loop took to answer, or None if it did not answer within `limit`."""
        started = time.monotonic()
        answered = asyncio.get_running_loop().create_future()

        def answer() -> None:
            if not answered.done():
                answered.set_result(None)

        def pong() -> None:
            with contextlib.suppress(RuntimeError):  # the core loop closed meanwhile
                answered.get_loop().call_soon_threadsafe(answer)

        self.loop.call_soon_threadsafe(pong)
        try:
            await asyncio.wait_for(answered, limit)
        except TimeoutError:
            return None
        return time.monotonic() - started

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class HandlerLoops:
    """A few handler loops; each invocation goes to the least busy one."""

    def __init__(self, count: int, *, logger: logging.Logger, blocked_after: float = 1.0) -> None:
        self.loops = [HandlerLoop(f"arc-sandbox-handlers-{i}") for i in range(count)]
        self._logger = logger
        self._blocked_after = blocked_after
        self._watchdog: asyncio.Task[None] | None = None

    def pick(self) -> HandlerLoop:
        return min(self.loops, key=lambda hl: sum(hl.running.values()))

    def start_watchdog(self) -> None:
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._blocked_after)
            for hl in self.loops:
                if await hl.ping(self._blocked_after) is None:
                    names = ", ".join(sorted(hl.running)) or "(none running)"
                    self._logger.warning(
                        "a handler blocked its event loop for over %.1f s: %s (use a thread or an async client "
                        "for blocking calls inside `async def` handlers)",
                        self._blocked_after,
                        names,
                    )

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for hl in self.loops:
            await asyncio.to_thread(hl.stop)
