"""How `sandbox.arc` finds the sandbox it should talk to.

Inside an execution environment (a worker process serving one function), the worker installs its
services channel once at start: that process belongs to one sandbox, so a process-wide slot is right
there. In the sandbox's own process, code that should call the bus and store directly (tests, tools)
sets `CURRENT_SERVICES`, a ContextVar, so that two sandboxes in one process stay apart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from sandbox.apigateway.websocket import WebSocketApi
    from sandbox.bus import EventBus
    from sandbox.store import TableStore

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """The in-process services a handler may call; they live on `loop`, the sandbox's core loop."""

    bus: EventBus
    store: TableStore
    loop: asyncio.AbstractEventLoop
    ws: WebSocketApi  # @ws's Management API, for `arc.ws` in the sandbox's workers


CURRENT_SERVICES: ContextVar[Services | None] = ContextVar("arc_sandbox_services", default=None)


def current_services() -> Services | None:
    return CURRENT_SERVICES.get()


class ServicesChannel(Protocol):
    """A worker's channel to the sandbox that runs it (`sandbox.lambdas.services.ServicesChannel`)."""

    def call(self, op: str, **args: Any) -> Any: ...


class _WorkerSlot:
    """Set once, in a worker process only (see the module docstring)."""

    channel: ServicesChannel | None = None


def install_worker_channel(channel: ServicesChannel) -> None:
    _WorkerSlot.channel = channel


def worker_channel() -> ServicesChannel | None:
    return _WorkerSlot.channel


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
