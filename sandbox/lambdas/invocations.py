"""What the invoker tells about each call, for whoever watches: the dashboard, the console, tests.

The invoker calls an `InvocationObserver` on the sandbox's core loop: `started` before the event is
handed to the execution environment, `log` for each line the handler prints or logs, `finished`
once the call has a result or has failed. Observers must be quick and must not raise.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal, Protocol

from sandbox.model import FunctionSpec, Json

Outcome = Literal["ok", "error", "timeout", "crash", "oom"]
"""ok: returned; error: raised (or failed to import); timeout: killed at @aws timeout;
crash: the runtime exited (sys.exit, os._exit, a signal); oom: killed for exceeding @aws memory."""


# Not frozen (one is made per call, and a frozen dataclass's fields cost 4-5 us to set), but read-only:
# observers get the same object, and replace() makes a changed copy.
@dataclass(slots=True)
class Finished:
    outcome: Outcome
    duration_ms: float
    max_memory_mb: int | None  # the environment's peak RSS, when known
    cold: bool  # the call created its execution environment (Lambda's "Init Duration")
    result: Json = None  # the handler's JSON result when outcome is "ok"
    error_type: str | None = None  # e.g. "ValueError", "Runtime.ExitError", "Sandbox.Timedout"
    error_message: str | None = None
    traceback: str | None = None


class InvocationObserver(Protocol):
    def started(self, request_id: str, fn: FunctionSpec, event: Json) -> None: ...

    def log(self, request_id: str, fn: FunctionSpec, line: str) -> None: ...

    def finished(self, request_id: str, fn: FunctionSpec, outcome: Finished) -> None: ...


def report_line(
    request_id: str, duration_ms: float, memory_mb: int, max_mb: int | None, init_ms: float | None = None
) -> str:
    """Lambda's REPORT line, closing every call's log."""
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_mb if max_mb is not None else '-'} MB"
    )
    return line if init_ms is None else f"{line}\tInit Duration: {init_ms:.2f} ms"


class NoObserver:
    def started(self, request_id: str, fn: FunctionSpec, event: Json) -> None:
        pass

    def log(self, request_id: str, fn: FunctionSpec, line: str) -> None:
        pass

    def finished(self, request_id: str, fn: FunctionSpec, outcome: Finished) -> None:
        pass


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def new_request_id() -> str:
    """A random (version 4) UUID, as Lambda's request ids are. From `random`, which `uuid.uuid4()` is
    not: it reads the kernel's generator on every call, a system call per invocation for an id that
    only has to be unique, not secret."""
    h = "%032x" % (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)  # printf-style: a third faster here
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
