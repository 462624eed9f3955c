"""`observed()`: report one invocation to an `InvocationObserver`: started, then finished however it ends.

Kept apart from the invoker so that any invoker (in-process today, worker processes later) reports
calls the same way with one `async with`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sandbox.errors import HandlerFailedError, HandlerTimeoutError, InvocationError
from sandbox.invocations import Finished, InvocationObserver
from sandbox.model import FunctionSpec, Json


@dataclass
class Report:
    """What the body of `observed()` sets: the handler's result, and whether this call was cold."""

    result: Json = None
    cold: bool = False
    max_memory_mb: int | None = None


@contextlib.asynccontextmanager
async def observed(
    observer: InvocationObserver, fn: FunctionSpec, event: Json, request_id: str
) -> AsyncIterator[Report]:
    report = Report()
    started = time.perf_counter()
    observer.started(request_id, fn, event)
    try:
        yield report
    except BaseException as error:
        ms = (time.perf_counter() - started) * 1000
        observer.finished(request_id, fn, failure(error, ms, report))
        raise
    ms = (time.perf_counter() - started) * 1000
    observer.finished(request_id, fn, Finished("ok", ms, report.max_memory_mb, report.cold, result=report.result))


def failure(error: BaseException, duration_ms: float, report: Report) -> Finished:
    """The `Finished` for a call that raised: its outcome, error type, message and traceback."""
    base = functools.partial(Finished, duration_ms=duration_ms, max_memory_mb=report.max_memory_mb, cold=report.cold)
    if isinstance(error, HandlerTimeoutError):
        return base("timeout", error_type="Sandbox.Timedout", error_message=error.message)
    if isinstance(error, HandlerFailedError):
        # The worker-process invoker carries the type as text; today's in-process one the exception itself.
        original = getattr(error, "error", None)
        error_type = getattr(error, "error_type", None) or type(original).__name__
        message = getattr(error, "error_message", None) or str(original)
        return base("error", error_type=error_type, error_message=message, traceback=error.traceback)
    if isinstance(error, InvocationError):
        return base("error", error_type=type(error).__name__, error_message=error.message)
    return base("crash", error_type=type(error).__name__, error_message=str(error) or "cancelled")
