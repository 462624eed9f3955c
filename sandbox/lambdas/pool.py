"""The warm environments of one function, as Lambda keeps them: reuse an idle one, create another
under concurrency up to a limit, queue callers beyond it, retire them all when the code changes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from sandbox.lambdas.process import EnvironmentProcess
from sandbox.model import FunctionSpec

Create = Callable[[FunctionSpec, int], Awaitable[EnvironmentProcess]]


class FunctionEnvironments:
    def __init__(self, *, create: Create, limit: int) -> None:
        if limit < 1:
            raise ValueError("a function needs at least one execution environment")
        self.limit = limit
        self.generation = 0
        self.idle: list[EnvironmentProcess] = []  # most recently used last: reuse the warmest
        self.busy: set[EnvironmentProcess] = set()
        self._create = create
        self._starting = 0
        self._waiters: deque[asyncio.Future[EnvironmentProcess | None]] = deque()

    def take_idle(self) -> EnvironmentProcess | None:
        """The most recently used idle environment, now busy; None when none is idle. The warmest one
        first (last in, first out): its pages and the CPU's caches are the likeliest still to be hot,
        and the others stay idle long enough to be retired when the load falls."""
        while self.idle:
            env = self.idle.pop()
            if env.dead or env.generation != self.generation:
                env.kill()
                continue
            self.busy.add(env)
            return env
        return None

    async def acquire(self, fn: FunctionSpec) -> tuple[EnvironmentProcess, bool]:
        """An environment for one call, and whether it was created for it (a cold start)."""
        while True:
            env = self.take_idle()
            if env is not None:
                return env, False
            if len(self.busy) + self._starting < self.limit:
                return await self._start(fn), True
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self.release(waiter.result())  # handed over just as we were cancelled: pass it on
                raise
            if handed is not None:
                return handed, False  # already counted as busy by `release`

    async def _start(self, fn: FunctionSpec) -> EnvironmentProcess:
        self._starting += 1
        try:
            env = await self._create(fn, self.generation)
        except BaseException:
            self._wake_one(None)  # the slot is free again: a queued caller may try
            raise
        finally:
            self._starting -= 1
        self.busy.add(env)
        return env

    def release(self, env: EnvironmentProcess) -> None:
        self.busy.discard(env)
        if env.dead or env.generation != self.generation:
            env.kill()
            self._wake_one(None)
            return
        if not self._wake_one(env):
            self.idle.append(env)

    def _wake_one(self, env: EnvironmentProcess | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            if env is not None:
                self.busy.add(env)
            waiter.set_result(env)
            return True
        return False

    def retire(self) -> None:
        """New code: idle environments go now, busy ones when their call ends."""
        self.generation += 1
        idle, self.idle = self.idle, []
        for env in idle:
            env.kill()

    def retire_idle(self, unused_since: float) -> int:
        """Stop environments idle since before `unused_since` (a time.monotonic() value)."""
        keep = [env for env in self.idle if env.last_used >= unused_since and not env.dead]
        stopped = [env for env in self.idle if env not in keep]
        self.idle = keep
        for env in stopped:
            env.kill()
        return len(stopped)

    def stop(self) -> None:
        self.retire()
        for env in list(self.busy):
            env.kill()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.cancel()
