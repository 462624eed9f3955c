"""A Sandbox on its own event loop in a background thread, for code that drives it synchronously: a test
written without async (boto3, requests, a browser through Playwright's sync API, the CLI through click's
runner), which on the sandbox's own loop would block the loop that has to answer it.

The pytest plugin's `arc_sandbox_sync` fixture is one of these.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.messaging.results import DeliveryResult
from sandbox.sandbox import Sandbox

T = TypeVar("T")


class ThreadedSandbox:
    def __init__(self, config: SandboxConfig, *, clock: Clock | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sandbox-loop", daemon=True)
        self._thread.start()
        self.sandbox: Sandbox = self.run(self._make(config, clock))
        self.run(self.sandbox.start())

    @staticmethod
    async def _make(config: SandboxConfig, clock: Clock | None) -> Sandbox:
        return Sandbox(config, clock=clock)  # built on the sandbox's loop: its asyncio objects belong there

    def run(self, awaitable: Awaitable[T], timeout: float = 20) -> T:
        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the sandbox's loop (FakeClock.advance wakes futures there)."""

        async def wrapped() -> T:
            return fn()

        return self.run(wrapped())

    def stop(self) -> None:
        try:
            self.run(self.sandbox.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    @property
    def ports(self) -> dict[str, int]:
        return self.sandbox.ports

    @property
    def url(self) -> str:
        """The app's http port."""
        return self.sandbox.url

    def settle(self, *, raise_on_failure: bool = True, timeout: float = 120) -> list[DeliveryResult]:
        """`Sandbox.settle()` from this thread: every delivery due, and the retries it makes, handled."""
        return self.run(self.sandbox.settle(raise_on_failure=raise_on_failure), timeout)

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['internal']}/"


@contextmanager
def threaded_sandbox(config: SandboxConfig, *, clock: Clock | None = None) -> Iterator[ThreadedSandbox]:
    running = ThreadedSandbox(config, clock=clock)
    try:
        yield running
    finally:
        running.stop()
