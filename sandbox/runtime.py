"""How code running inside an invocation finds the sandbox that invoked it.

The invoker sets `CURRENT_SERVICES` around each handler call. A ContextVar (not a global) keeps two
sandboxes in one process apart: each invocation sees only the sandbox that started it, in its thread
or on the handler loop alike, because the invoker copies the context into both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sandbox.bus import EventBus
    from sandbox.store import TableStore

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """The in-process services a handler may call; they live on `loop`, the sandbox's core loop."""

    bus: EventBus
    store: TableStore
    loop: asyncio.AbstractEventLoop


CURRENT_SERVICES: ContextVar[Services | None] = ContextVar("arc_sandbox_services", default=None)


def current_services() -> Services | None:
    return CURRENT_SERVICES.get()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def call_sync(services: Services, coro: Coroutine[Any, Any, T]) -> T:
    """Run a service call from synchronous code (a handler thread, a script) and wait for its result."""
    if _running_loop() is services.loop:
        coro.close()
        raise RuntimeError(
            "a synchronous sandbox.arc call was made on the sandbox's own event loop, where it would deadlock; "
            "use the async form (await arc.events.publish_async(...))"
        )
    future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, services.loop)
    return future.result()


async def call_async(services: Services, coro: Coroutine[Any, Any, T]) -> T:
    """Await a service call from any loop: directly on the core loop, through the core loop otherwise."""
    if _running_loop() is services.loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, services.loop))
