"""The execution log that Lambda's Invoke returns with `LogType=Tail`: the last 4 KB of the call's log,
base64-encoded, in the `X-Amz-Log-Result` header.

The log is what CloudWatch would hold for the call: a START line, every line the handler printed or
logged (a failed call's traceback among them), the platform's lines for a timeout or a runtime that
exited, then END and REPORT. Only the calls that asked
for it are collected (`watch` before the call, `take` after): every other call costs a dict lookup.
"""

from __future__ import annotations

import base64
import time

from sandbox.lambdas.invocations import Finished, report_line
from sandbox.model import FunctionSpec, Json

TAIL_BYTES = 4096


class LogTails:
    """An InvocationObserver that keeps the log of the calls being watched."""

    def __init__(self) -> None:
        self._logs: dict[str, list[str]] = {}

    def watch(self, request_id: str) -> None:
        self._logs[request_id] = [f"START RequestId: {request_id} Version: $LATEST"]

    def take(self, request_id: str) -> str:
        """The call's log tail, base64-encoded, and forget it; empty if it was not watched."""
        lines = self._logs.pop(request_id, None)
        if lines is None:
            return ""
        log = ("\n".join(lines) + "\n").encode()
        return base64.b64encode(log[-TAIL_BYTES:]).decode()

    def started(self, request_id: str, fn: FunctionSpec, event: Json) -> None:
        pass

    def log(self, request_id: str, fn: FunctionSpec, line: str) -> None:
        lines = self._logs.get(request_id)
        if lines is not None:
            lines.append(line)

    def finished(self, request_id: str, fn: FunctionSpec, outcome: Finished) -> None:
        lines = self._logs.get(request_id)
        if lines is None:
            return
        # A handler's exception is in the log already: the environment logs its traceback as Lambda's runtime
        # does. What the platform itself logs is added here: a timeout, or the runtime's end.
        if outcome.outcome == "timeout":
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            lines.append(f"{stamp}Z {request_id} {outcome.error_message}")
        elif outcome.outcome in ("crash", "oom"):
            lines += [str(outcome.error_message), str(outcome.error_type)]  # "RequestId: ... Error: Runtime exited ..."
        lines.append(f"END RequestId: {request_id}")
        lines.append(report_line(request_id, outcome.duration_ms, fn.memory, outcome.max_memory_mb))
