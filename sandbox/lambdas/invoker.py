"""Invoker: runs each function in execution environments of its own, as Lambda does.

An environment is a warm worker process serving one function (DESIGN.md, "Decisions"): forked from
a template process that has the runtime pre-imported, reused across calls, several per function
under concurrency, killed on timeout or memory overrun, replaced after a crash, retired on reload.
The sandbox's loop never runs user code; here it only passes events and results along.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from sandbox.errors import (
    HandlerCrashedError,
    HandlerFailedError,
    HandlerNotFoundError,
    HandlerOutOfMemoryError,
    HandlerTimeoutError,
    InvocationError,
    SandboxError,
)
from sandbox.lambdas.environment import HANDLER_FILES, handler_module, other_runtime_handler
from sandbox.lambdas.invocations import (
    Finished,
    InvocationObserver,
    NoObserver,
    Outcome,
    new_request_id,
    report_line,
)
from sandbox.lambdas.launchers import Launcher, default_launcher
from sandbox.lambdas.pool import FunctionEnvironments
from sandbox.lambdas.process import EnvironmentProcess, InitFailed, Reply, read_buffer
from sandbox.lambdas.services import serve_call
from sandbox.model import FunctionSpec, Json
from sandbox.runtime import Services

DEFAULT_CONCURRENCY = 10  # environments per function, as a reserved-concurrency setting would cap them
DEFAULT_IDLE_TIMEOUT = 600.0  # seconds an unused environment stays warm
INIT_TIMEOUT = 10.0  # Lambda's limit for the init phase
MEMORY_CHECK_INTERVAL = 0.05

EnvironmentFor = Callable[[FunctionSpec], Mapping[str, str]]


class Invoker:
    """Call `await invoker(fn, event)`; an Invoker is the `model.Invoke` that the server and the bus use."""

    def __init__(
        self,
        *,
        environment: EnvironmentFor | None = None,
        shared_dir: Path | None = None,
        views_dir: Path | None = None,
        region: str = "us-west-2",
        account_id: str = "123456789012",
        services: Callable[[], Services | None] = lambda: None,
        logger: logging.Logger | None = None,
        observer: InvocationObserver | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        launcher: Launcher | None = None,
    ) -> None:
        self.shared_dir = shared_dir
        self.views_dir = views_dir
        self.region = region
        self.account_id = account_id
        self.concurrency = concurrency
        self.idle_timeout = idle_timeout
        self.observer: InvocationObserver = observer if observer is not None else NoObserver()
        self.launcher = launcher or default_launcher()
        self._environment = environment or bare_environment
        self._services = services
        self._logger = logger or logging.getLogger("arc_sandbox.invoke")
        self._output = self._logger.getChild("output")
        self._pools: dict[Path, FunctionEnvironments] = {}
        self._read_buffer = read_buffer()
        self._watch: asyncio.Task[None] | None = None
        self._call_started = asyncio.Event()  # wakes the watch, which sleeps while no call runs
        self._started = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self.launcher.start()
        self._watch = asyncio.get_running_loop().create_task(self._watch_environments())

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for pool in self._pools.values():
            pool.stop()
        self._pools.clear()
        await self.launcher.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- reload ------------------------------------------------------------------------------

    def invalidate(self, src_dirs: set[Path] | frozenset[Path] | None = None) -> None:
        """Retire environments running old code: idle ones now, busy ones once their call ends."""
        for src_dir, pool in self._pools.items():
            if src_dirs is None or src_dir in src_dirs:
                pool.retire()

    def environments(self) -> dict[Path, FunctionEnvironments]:
        """The live pools by function folder (for tools and tests)."""
        return dict(self._pools)

    # --- invocation --------------------------------------------------------------------------

    async def invoke(self, fn: FunctionSpec, event: Json, *, request_id: str | None = None) -> Json:
        """Run `fn` with `event` in one of its environments and return its JSON result.

        Raises an `InvocationError`: HandlerFailedError, HandlerTimeoutError, HandlerCrashedError,
        HandlerOutOfMemoryError or HandlerNotFoundError. The event crosses to the worker as JSON, so
        the handler gets a copy of its own.
        """
        if not self._started:
            raise RuntimeError("the invoker is not started")
        request_id = request_id or new_request_id()
        observer = self.observer
        observer.started(request_id, fn, event)
        if self._output.isEnabledFor(logging.DEBUG):
            self._output.debug(
                "%s START RequestId: %s Version: $LATEST", fn.name, request_id, extra=_extra(fn, request_id)
            )
        started = time.perf_counter()
        env: EnvironmentProcess | None = None
        cold = False
        try:
            pool = self._pools.get(fn.src_dir)
            if pool is None:
                pool = self._pools[fn.src_dir] = FunctionEnvironments(create=self._create, limit=self.concurrency)
            env = pool.take_idle()  # the warm path: no waiting, so no coroutine to set up
            if env is None:
                try:  # here, not in a helper coroutine: a waiting call resumes through one frame less
                    env, cold = await pool.acquire(fn)
                except InitFailed as failed:
                    raise failed.error from None
            call_started = time.perf_counter()
            self._call_started.set()
            try:
                reply: Reply = await env.invoke(request_id, event, fn.timeout)
            finally:
                pool.release(env)
        except InvocationError as error:
            self._finish(fn, request_id, started, env, cold, error)
            raise
        duration_ms = (time.perf_counter() - call_started) * 1000
        self._report(fn, request_id, duration_ms, reply.max_memory_mb, env.init_ms if cold else None)
        observer.finished(request_id, fn, Finished("ok", duration_ms, reply.max_memory_mb, cold, result=reply.result))
        return reply.result

    __call__ = invoke  # not a coroutine that awaits `invoke`: one frame less on every call from the bus

    async def _create(self, fn: FunctionSpec, generation: int) -> EnvironmentProcess:
        module = handler_module(fn.src_dir)
        if module is None:
            looked_for = [fn.src_dir / name for name in HANDLER_FILES]
            raise HandlerNotFoundError(fn.name, looked_for, other_runtime=other_runtime_handler(fn.src_dir))
        env = EnvironmentProcess(
            fn,
            launcher=self.launcher,
            generation=generation,
            log=lambda request_id, line: self._on_log(fn, request_id, line),
            serve_call=self._serve_call,
            buffer=self._read_buffer,
        )
        await env.start(self._spec(fn, module), INIT_TIMEOUT)
        return env

    def _spec(self, fn: FunctionSpec, module: str) -> dict[str, object]:
        aliases: dict[str, str] = {}
        if fn.shared and self.shared_dir is not None:
            aliases["shared"] = str(self.shared_dir)
        if self.views_dir is not None:
            aliases["views"] = str(self.views_dir)
        return {
            "t": "spec",
            "function": fn.name,
            "function_name": fn.function_name,
            "module": module,
            "task_root": str(fn.src_dir),
            "path": [str(fn.src_dir), str(fn.src_dir / "vendor")],
            "aliases": aliases,
            "env": {**self._environment(fn), "_HANDLER": f"{module}.handler"},
            "memory": fn.memory,
            "arn": f"arn:aws:lambda:{self.region}:{self.account_id}:function:{fn.function_name}",
        }

    async def _serve_call(self, message: dict[str, object]) -> dict[str, object]:
        services = self._services()
        if services is None:
            error = {"class": "SandboxError", "message": "the sandbox is stopping"}
            return {"n": message.get("n"), "error": error}
        return await serve_call(services, message)

    # --- reporting ---------------------------------------------------------------------------

    def _on_log(self, fn: FunctionSpec, request_id: str, line: str) -> None:
        self._output.info("%s %s | %s", fn.name, request_id[:8] or "init", line, extra=_extra(fn, request_id))
        self.observer.log(request_id, fn, line)

    def _report(
        self, fn: FunctionSpec, request_id: str, duration_ms: float, max_mb: int | None, init_ms: float | None
    ) -> None:
        if not self._output.isEnabledFor(logging.DEBUG):
            return
        extra = _extra(fn, request_id)
        self._output.debug("%s END RequestId: %s", fn.name, request_id, extra=extra)
        report = report_line(request_id, duration_ms, fn.memory, max_mb, init_ms)
        self._output.debug("%s %s", fn.name, report, extra=extra)

    def _finish(
        self,
        fn: FunctionSpec,
        request_id: str,
        started: float,
        env: EnvironmentProcess | None,
        cold: bool,
        error: InvocationError,
    ) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        max_mb = error.max_memory_mb
        self._report(fn, request_id, duration_ms, max_mb, env.init_ms if cold and env is not None else None)
        traceback = error.traceback if isinstance(error, HandlerFailedError) else None
        finished = Finished(
            _outcome(error), duration_ms, max_mb, cold, None, error.error_type, error.error_message, traceback
        )
        self.observer.finished(request_id, fn, finished)

    # --- housekeeping ------------------------------------------------------------------------

    async def _watch_environments(self) -> None:
        """Stop environments over their memory mid-call (Linux: /proc), and idle ones past their time.
        While no call runs it sleeps until one starts (or the next idle check), not every 50 ms."""
        can_measure = sys.platform.startswith("linux")
        idle_every = self.idle_timeout / 10
        next_idle_check = time.monotonic() + idle_every
        while True:
            if any(pool.busy for pool in self._pools.values()):
                await asyncio.sleep(MEMORY_CHECK_INTERVAL)
            else:
                self._call_started.clear()
                # Not asyncio.wait_for: before Python 3.12 it swallows a cancellation that arrives as the
                # event is set (a call starting as the invoker stops), and stop() would wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_idle_check - time.monotonic())):
                        await self._call_started.wait()
            if can_measure:
                for env in [env for pool in self._pools.values() for env in pool.busy]:
                    used = env.resident_mb()
                    if used is not None and used > env.fn.memory:
                        env.stop_for_memory(used)
            now = time.monotonic()
            if now >= next_idle_check:
                next_idle_check = now + idle_every
                for pool in self._pools.values():
                    pool.retire_idle(now - self.idle_timeout)


def bare_environment(fn: FunctionSpec) -> dict[str, str]:
    """For an invoker used on its own (no Sandbox around it): a PATH, a home, and the region."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = os.environ.get("AWS_REGION", "us-west-2")
    return env


def _outcome(error: SandboxError) -> Outcome:
    if isinstance(error, HandlerTimeoutError):
        return "timeout"
    if isinstance(error, HandlerOutOfMemoryError):
        return "oom"
    if isinstance(error, HandlerCrashedError):
        return "crash"
    return "error"


def _extra(fn: FunctionSpec, request_id: str) -> dict[str, object]:
    return {"kind": "output", "function": fn.name, "request_id": request_id}
