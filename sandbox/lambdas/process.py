"""One execution environment as the sandbox sees it: a worker process, its channels, its current call.

Everything here runs on the sandbox's core loop and never blocks: frames are read by protocols, a
timeout is a timer that kills the process, a crash is noticed when the control socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.errors import (
    HandlerCrashedError,
    HandlerFailedError,
    HandlerOutOfMemoryError,
    HandlerTimeoutError,
    InvocationError,
)
from sandbox.lambdas import frames
from sandbox.lambdas.frames import FrameBuffer, Message
from sandbox.lambdas.launchers import Launcher
from sandbox.model import FunctionSpec, Json

LogSink = Callable[[str, str], None]  # (request id, line)
ServeCall = Callable[[Message], Awaitable[Message]]
MAX_EVENT_BYTES = 6_291_456  # Lambda's 6 MB synchronous payload limit
# Seconds to learn a crashed process's exit status: the template reports it at once, a busy machine may lag.
EXIT_WAIT = 10.0
DEADLINE_SLACK = 0.001  # the loop may run a timer this much before its time (its clock's resolution)
READ_SIZE = 256 * 1024  # asyncio's own read size: a 6 MB result still arrives in a few dozen reads
_SIGNAL_NAMES = {  # as Lambda's runtime reports them (Go's names)
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
}


@dataclass(slots=True)  # not frozen: one per call, and frozen fields are slow to set; read-only all the same
class Reply:
    result: Json
    max_memory_mb: int | None


class InitFailed(Exception):
    """The function's module could not be imported: every call to this environment fails the same way."""

    def __init__(self, error: HandlerFailedError) -> None:
        super().__init__(error.message)
        self.error = error


def read_buffer() -> memoryview:
    """Where the channels' bytes land (one per invoker, shared by its environments: each read is
    consumed before the loop makes the next). Reading into it saves what asyncio's default read costs:
    a fresh 256 KiB object per read, which took more than the rest of a warm call's receiving."""
    return memoryview(bytearray(READ_SIZE))


class EnvironmentProcess:
    def __init__(
        self,
        fn: FunctionSpec,
        *,
        launcher: Launcher,
        generation: int,
        log: LogSink,
        serve_call: ServeCall,
        buffer: memoryview | None = None,
    ) -> None:
        self.fn = fn
        self.buffer = buffer if buffer is not None else read_buffer()
        self.generation = generation
        self.pid: int | None = None
        self.init_ms: float | None = None
        self.last_used = time.monotonic()
        self.request_id: str | None = None
        self.dead = False
        self._launcher = launcher
        self._log = log
        self._serve_call = serve_call
        self._control: asyncio.Transport | None = None
        self._services: asyncio.Transport | None = None
        self._log_pipe: asyncio.ReadTransport | None = None
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._started: asyncio.Future[Message] = loop.create_future()
        self._pending: asyncio.Future[Message] | None = None
        # The current call's deadline (loop time) and its timeout. One timer per environment, re-armed
        # lazily (see `_arm`), rather than a timer made and cancelled on every call.
        self._deadline = math.inf
        self._seconds = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._failure: InvocationError | None = None  # set when the sandbox killed it on purpose

    # --- creation ---------------------------------------------------------------------------

    async def start(self, spec: Message, init_timeout: float) -> None:
        try:
            await self._start(spec, init_timeout)
        except BaseException:
            self.kill()  # failed, timed out or cancelled half-way: no process or socket left behind
            raise

    async def _start(self, spec: Message, init_timeout: float) -> None:
        launched = await self._launcher.launch()
        loop = self._loop
        self._control, _ = await loop.connect_accepted_socket(lambda: _Control(self), launched.control)
        self._services, _ = await loop.connect_accepted_socket(lambda: _Services(self), launched.services)
        pipe = os.fdopen(launched.log_read_fd, "rb", buffering=0)
        self._log_pipe, _ = await loop.connect_read_pipe(lambda: _LogPipe(self), pipe)
        self._control.write(frames.encode(spec))
        try:
            async with asyncio.timeout(init_timeout):  # wait_for can swallow a cancellation (< 3.12)
                started = await asyncio.shield(self._started)
        except TimeoutError:
            self.kill()
            raise HandlerTimeoutError(self.fn.name, init_timeout) from None
        self.init_ms = float(started.get("init_ms", 0.0))
        if started["t"] == "init_error":
            self.kill()
            error = started["error"]
            raise InitFailed(
                HandlerFailedError(self.fn.name, error["errorType"], error["errorMessage"], error.get("traceback", ""))
            )

    # --- calls ------------------------------------------------------------------------------

    async def invoke(self, request_id: str, event: Json, seconds: float) -> Reply:
        """Run one call; the process is killed if it takes more than `seconds`."""
        deadline_ms = int(time.time() * 1000 + seconds * 1000)
        try:
            payload = frames.encode({"t": "invoke", "id": request_id, "deadline_ms": deadline_ms, "event": event})
        except (TypeError, ValueError) as error:
            raise InvocationError(f"the event for {self.fn.name} is not JSON: {error}") from error
        if len(payload) > MAX_EVENT_BYTES:
            raise InvocationError(
                f"the event for {self.fn.name} exceeds Lambda's {MAX_EVENT_BYTES:,}-byte payload limit"
            )
        if self.dead or self._control is None:
            raise HandlerCrashedError(self.fn.name, request_id, "the environment was gone before the call")
        pending = self._loop.create_future()
        self._pending = pending
        self.request_id = request_id
        self._control.write(payload)
        self._deadline, self._seconds = self._loop.time() + seconds, seconds
        timer = self._timer
        if timer is None or timer.when() > self._deadline:
            self._arm()
        try:
            message = await pending
        except asyncio.CancelledError:
            self.kill()  # the caller gave up (the sandbox is stopping): the call cannot be taken back
            raise
        finally:
            self._deadline = math.inf
            self._pending = None
            self.request_id = None
            self.last_used = time.monotonic()
        max_mb = _megabytes(message.get("maxrss_kb"))
        if max_mb is not None and max_mb > self.fn.memory:
            self.kill()  # Lambda would have stopped it when it went over
            raise HandlerOutOfMemoryError(self.fn.name, request_id, self.fn.memory, max_mb)
        if message["t"] == "error":
            failure = message["error"]
            failed = HandlerFailedError(
                self.fn.name, failure["errorType"], failure["errorMessage"], failure.get("traceback", "")
            )
            failed.max_memory_mb = max_mb
            raise failed
        return Reply(message.get("result"), max_mb)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        """The timer is due no later than the current call's deadline (deadlines of later calls only
        come later, and an earlier one re-arms it): time the call out, wait on for it, or stop."""
        self._timer = None
        if self._pending is None or self._pending.done() or self.dead:
            return  # no call, or its answer came in just in time
        if self._loop.time() >= self._deadline - DEADLINE_SLACK:
            self._fail_current(HandlerTimeoutError(self.fn.name, self._seconds))
        else:
            self._arm()

    def stop_for_memory(self, used_mb: int) -> None:
        """The memory watch saw the process over its limit mid-call."""
        if self.request_id is not None:
            self._fail_current(HandlerOutOfMemoryError(self.fn.name, self.request_id, self.fn.memory, used_mb))

    def _fail_current(self, error: InvocationError) -> None:
        self._failure = error
        self.kill()
        pending = self._pending
        if pending is not None and not pending.done():
            pending.set_exception(error)

    # --- the end ----------------------------------------------------------------------------

    def kill(self) -> None:
        """Stop the process and everything it forked, now."""
        self.dead = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
        for transport in (self._control, self._services, self._log_pipe):
            if transport is not None:
                transport.close()

    def resident_mb(self) -> int | None:
        """Current RSS, where /proc tells it (Linux)."""
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as statm:
                pages = int(statm.read().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)

    async def _closed(self) -> None:
        """The control socket closed: the process ended. Fail the call in progress with how it ended."""
        was_dead = self.dead  # killed on purpose: the reason is already known
        self.kill()
        if not self._started.done():
            how = "killed" if was_dead else await self._how_it_ended()
            if not self._started.done():  # the wait above may have outlived the start
                self._started.set_exception(HandlerCrashedError(self.fn.name, "-", how))
            return
        pending, request_id = self._pending, self.request_id
        if pending is None or pending.done() or request_id is None:
            return
        how = await self._how_it_ended()
        if not pending.done():
            pending.set_exception(self._failure or HandlerCrashedError(self.fn.name, request_id, how))

    async def _how_it_ended(self) -> str:
        code = await self._launcher.exit_code(self.pid, EXIT_WAIT) if self.pid is not None else None
        if code is None:
            return "exit status unknown"
        if code < 0:
            try:
                return "signal: " + _SIGNAL_NAMES.get(signal.Signals(-code), signal.Signals(-code).name)
            except ValueError:
                return f"signal: {-code}"
        return f"exit status {code}"

    # --- what the protocols report -------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        kind = message.get("t")
        if kind == "result" or kind == "error":  # the usual message first
            pending = self._pending
            if pending is not None and not pending.done() and message.get("id") == self.request_id:
                pending.set_result(message)
        elif kind == "log":
            self._log(message.get("id") or self.request_id or "", str(message.get("line", "")))
        elif kind == "hello":
            self.pid = int(message["pid"])
        elif kind in ("ready", "init_error") and not self._started.done():
            self._started.set_result(message)

    def _on_output(self, line: str) -> None:
        self._log(self.request_id or "", line)


def _megabytes(kilobytes: Any) -> int | None:
    return int(kilobytes) // 1024 if isinstance(kilobytes, int) else None


class _FrameChannel(asyncio.BufferedProtocol):
    """One of a worker's framed channels; reads land in the environment's shared buffer."""

    def __init__(self, env: EnvironmentProcess) -> None:
        self._env = env
        self._frames = FrameBuffer()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._env.buffer

    def buffer_updated(self, nbytes: int) -> None:
        try:
            messages = self._frames.feed(self._env.buffer[:nbytes])
        except (frames.ChannelClosed, ValueError):
            self._env.kill()  # a worker that speaks garbage is not one we can trust with calls
            return
        for message in messages:
            self._deliver(message)

    def _deliver(self, message: Message) -> None:
        raise NotImplementedError


class _Control(_FrameChannel):
    def _deliver(self, message: Message) -> None:
        self._env._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        asyncio.get_running_loop().create_task(self._env._closed())


class _Services(_FrameChannel):
    def __init__(self, env: EnvironmentProcess) -> None:
        super().__init__(env)
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def _deliver(self, message: Message) -> None:
        asyncio.get_running_loop().create_task(self._answer(message))

    async def _answer(self, message: Message) -> None:
        reply = await self._env._serve_call(message)
        if self._transport is not None and not self._transport.is_closing():
            try:
                self._transport.write(frames.encode(reply))
            except (TypeError, ValueError) as error:
                fallback = {"n": reply.get("n"), "error": {"class": "SandboxError", "message": str(error)}}
                self._transport.write(frames.encode(fallback))


class _LogPipe(asyncio.Protocol):
    """What the process writes to file descriptors 1 and 2 directly (C code, child processes)."""

    def __init__(self, env: EnvironmentProcess) -> None:
        self._env = env
        self._partial = b""

    def data_received(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self._env._on_output(line.decode(errors="replace"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._partial:
            self._env._on_output(self._partial.decode(errors="replace"))
            self._partial = b""
