"""The runtime inside an execution environment: one process, one function, warm between invocations.

It does what Lambda's Python runtime does: set the function's environment, make its folder the task
root and working directory, import the handler module under its real name (`lambda`, `handler` or
`index`), then take one invocation at a time on the main thread, with an event loop set for it.
It talks to the sandbox over two sockets: `control` (the spec, invocations, results, log lines) and
`services` (calls from `sandbox.arc` to the bus and the store).

Runs in a process forked from the template (`template.py`) or spawned (`python -m
sandbox.lambdas.worker`); never in the sandbox's own process. Imports must stay light.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import io
import json
import logging
import os
import random
import resource
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from sandbox.event_loop import usable_cpus
from sandbox.lambdas import frames
from sandbox.lambdas.context import LambdaContext
from sandbox.lambdas.frames import ChannelClosed, Message
from sandbox.lambdas.services import ServicesChannel

HANDLER_NAME = "handler"
TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
# Third-party packages the template preloads that a function may vendor in a version of its own.
VENDORABLE = ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six", "arc")
_MAXRSS_UNIT = 1 if sys.platform != "darwin" else 1024  # ru_maxrss: KiB on Linux, bytes on macOS


def run(control_fd: int, services_fd: int) -> NoReturn:
    """Serve invocations until the sandbox closes the channel; never returns (the process exits)."""
    import socket

    control = socket.socket(fileno=control_fd)
    services = socket.socket(fileno=services_fd)
    _yield_to_the_sandbox()
    code = 0
    try:
        Worker(control, services).serve()
    except ChannelClosed:
        code = 0
    except SystemExit as exit_:  # the handler called sys.exit(): the runtime exits, as on Lambda
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - a runtime bug must still end this process, with a trace
        traceback.print_exc()
        code = 70
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001,S110 - the channel may be gone; nothing left to tell
                pass
    os._exit(code)


def _yield_to_the_sandbox() -> None:
    """Run as a batch process (Linux): the same share of the CPU, but waking up does not preempt the
    sandbox's loop. Without this, every invocation written to a worker on the loop's core switched to
    the worker at once, in the middle of the loop's turn (more than one involuntary switch of the
    sandbox per HTTP request under load); now the loop finishes its turn, writing to every worker it
    has work for, and the workers run when it waits."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


# Waking a process whose virtual CPU has gone idle costs an interrupt the host must deliver: on the
# machines measured, most of a warm call's time. A worker that keeps asking for its next call for a
# moment after answering a short one finds it while its CPU is still awake (warm-call overhead p50
# 206-218 us blocking at once, 119-141 us polling 150 us, measured side by side). After a long call the
# wake-up is a small share of it, and the poll would only take CPU from other environments. Polling
# pays only where the sandbox can run on another CPU meanwhile; alone on one, it would take the CPU
# from the sandbox it waits for.
POLL_FOR_NEXT_CALL_NS = 200_000
SHORT_CALL_NS = 1_000_000


def next_call_poll_ns(cpus: int, last_call_ns: int) -> int:
    return POLL_FOR_NEXT_CALL_NS if cpus > 1 and last_call_ns < SHORT_CALL_NS else 0


class Worker:
    def __init__(self, control: Any, services: Any) -> None:
        self.control = control
        self._incoming = frames.FrameReader(control)  # a frame's header and body in one read
        self._send_lock = threading.Lock()
        self.services = ServicesChannel(services)
        self.request_id = ""
        self.spec: Message = {}
        self.handler: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def send(self, message: Message) -> None:
        payload = frames.encode(message)
        with self._send_lock:
            self.control.sendall(payload)

    def send_frame(self, frame: bytes) -> None:
        with self._send_lock:
            self.control.sendall(frame)

    # --- start: the Lambda "init" phase -----------------------------------------------------

    def serve(self) -> None:
        self.send({"t": "hello", "pid": os.getpid()})
        self.spec = self._incoming.receive()
        self._enter_function()
        started = time.perf_counter()
        failure = self._init()
        init_ms = (time.perf_counter() - started) * 1000
        if failure is not None:
            self.send({"t": "init_error", "init_ms": init_ms, "error": failure})
            return
        self.send({"t": "ready", "init_ms": init_ms})
        receive = self._incoming.receive
        cpus = usable_cpus()
        poll_ns = 0
        while True:
            message = receive(poll_ns)
            if message.get("t") == "invoke":
                started = time.perf_counter_ns()
                self._invoke(message)
                poll_ns = next_call_poll_ns(cpus, time.perf_counter_ns() - started)

    def _enter_function(self) -> None:
        spec = self.spec
        os.environ.clear()
        os.environ.update(spec["env"])
        if hasattr(time, "tzset"):
            time.tzset()
        os.chdir(spec["task_root"])
        sys.path[:0] = [p for p in spec["path"] if os.path.isdir(p)]
        _prefer_vendored(spec["path"])
        aliases = {name: folder for name, folder in spec.get("aliases", {}).items() if os.path.isdir(folder)}
        if aliases:
            sys.meta_path.insert(0, _AliasFinder(aliases))
        from sandbox import runtime

        runtime.install_worker_channel(self.services)
        sys.stdout = _LogStream(self, 1)
        sys.stderr = _LogStream(self, 2)
        root = logging.getLogger()
        root.handlers[:] = [_LambdaLogHandler(self)]
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    def _init(self) -> Message | None:
        module_name = self.spec["module"]
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # noqa: BLE001 - reported as Lambda's Runtime.ImportModuleError
            self._print_traceback(error)
            return _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}", error)
        handler = getattr(module, HANDLER_NAME, None)
        if not callable(handler):
            message = f"Handler '{HANDLER_NAME}' missing on module '{module_name}'"
            return {"errorType": "Runtime.HandlerNotFound", "errorMessage": message, "traceback": ""}
        self.handler = handler
        return None

    # --- invoke -----------------------------------------------------------------------------

    def _invoke(self, message: Message) -> None:
        self.request_id = request_id = message["id"]
        spec = self.spec
        context = LambdaContext.for_invocation(
            function_name=spec["function_name"],
            memory_mb=spec["memory"],
            arn=spec["arn"],
            request_id=request_id,
            deadline_ms=message["deadline_ms"],
            log_stream_name=spec["env"].get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        )
        # Lambda's runtime sets the invocation's X-Ray trace header before each call; tracing libraries
        # (the X-Ray SDK under powertools' Tracer) read it and, without it, warn on every traced call.
        os.environ[TRACE_ID_VARIABLE] = _trace_header()
        reply: Message
        text: str | None = None
        try:
            result = self.handler(message["event"], context)
            if type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
                assert self.loop is not None
                result = self.loop.run_until_complete(_awaited(result))
        except Exception as error:  # noqa: BLE001 - the handler failed: Lambda's error response
            self._print_traceback(error)
            reply = {"t": "error", "id": request_id, "error": _error(type(error).__name__, str(error), error)}
        else:
            try:
                text = _marshal(result)  # json, as Lambda's runtime marshals: what it refuses fails here too
            except (TypeError, ValueError) as error:
                detail = _error("Runtime.MarshalError", f"Unable to marshal response: {error}", error)
                reply = {"t": "error", "id": request_id, "error": detail}
            else:
                reply = {"t": "result", "id": request_id}
        sys.stdout.flush()
        sys.stderr.flush()
        reply["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // _MAXRSS_UNIT
        if text is not None:
            # The result is already JSON text: splice it in rather than encode it twice.
            self.send_frame(frames.encode_with_text(reply, "result", text))
        else:
            self.send(reply)
        self.request_id = ""

    def _print_traceback(self, error: BaseException) -> None:
        """Lambda's runtime logs a failed invocation's error; ours goes through the same log channel."""
        print(_user_traceback(error).rstrip(), file=sys.stderr)


def _prefer_vendored(paths: list[str]) -> None:
    """A package preloaded by the template that the function vendors itself: its own copy wins."""
    for name in VENDORABLE:
        if any(os.path.exists(os.path.join(p, name)) or os.path.exists(os.path.join(p, f"{name}.py")) for p in paths):
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[loaded]


def _trace_header() -> str:
    """An X-Ray trace header as Lambda passes one, not sampled: nothing here collects traces."""
    # random, not os.urandom: a syscall per call costs more here than the ids are worth (CPython reseeds
    # `random` in every forked child, so environments do not repeat each other's ids).
    ids = f"{random.getrandbits(160):040x}"  # the trace's 96 bits and the parent's 64, drawn at once
    return f"Root=1-{int(time.time()):08x}-{ids[:24]};Parent={ids[24:]};Sampled=0"


# What a handler returns that is certainly not awaitable: no need to ask inspect (a microsecond a call).
_PLAIN_RESULTS = frozenset({dict, list, str, int, float, bool, type(None)})


class _Marshal:
    """json.dumps(result) with json's defaults, the same text, without building an encoder per call
    (json.dumps makes a fresh C encoder every time: a third of its cost for a small result)."""

    def __init__(self) -> None:
        self._encode = self._new()

    @staticmethod
    def _new() -> Any:
        from json import encoder

        make = getattr(encoder, "c_make_encoder", None)
        if make is None:  # a Python without the _json accelerator
            return None
        default = encoder.JSONEncoder().default  # raises json's own TypeError for what it cannot write
        # Arguments as JSONEncoder.iterencode passes them for json.dumps's defaults; the dict tracks
        # the containers being written (json's circular-reference check).
        return make({}, default, encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)

    def __call__(self, result: Any) -> str:
        encode = self._encode
        if encode is None or isinstance(result, str):
            return json.dumps(result)
        try:
            return "".join(encode(result, 0))
        except BaseException:
            # An error half-way leaves containers in the circular-reference table: start a clean one.
            self._encode = self._new()
            raise


_marshal = _Marshal()


async def _awaited(result: Any) -> Any:
    return await result


def _error(error_type: str, message: str, error: BaseException) -> Message:
    return {"errorType": error_type, "errorMessage": message, "traceback": _user_traceback(error)}


_RUNTIME_DIR = str(Path(__file__).resolve().parent.parent)
_ASYNCIO_DIR = str(Path(asyncio.__file__).resolve().parent)


def _user_traceback(error: BaseException) -> str:
    """The traceback without the sandbox's and importlib's own frames, from the handler's first frame
    (an async handler's starts under asyncio's run_until_complete, which the reader did not call)."""
    frames_ = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_RUNTIME_DIR) and not frame.filename.startswith("<frozen importlib")
    ]
    while frames_ and frames_[0].filename.startswith(_ASYNCIO_DIR):
        del frames_[0]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames_)]
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines)


class _LogStream(io.TextIOBase):
    """sys.stdout / sys.stderr of the worker: each complete line goes to the sandbox as a log frame,
    in order with the invocation's result. `fileno()` is the pipe that catches what C code writes."""

    def __init__(self, worker: Worker, fd: int) -> None:
        self._worker = worker
        self._fd = fd
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._send(line)
        return len(text)

    def flush(self) -> None:
        if not self._partial:  # the usual case, after every call: nothing held back, no lock to take
            return
        with self._lock:
            partial, self._partial = self._partial, ""
        if partial:
            self._send(partial)

    def _send(self, line: str) -> None:
        try:
            self._worker.send({"t": "log", "id": self._worker.request_id, "line": line})
        except OSError:
            pass  # the sandbox is gone; the process is about to end


class _LambdaLogHandler(logging.Handler):
    """The root logger's handler, formatted as Lambda's Python runtime does (level, time, request id)."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self._worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            text = f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t{self._worker.request_id}\t"
            text += record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            for line in text.split("\n"):
                self._worker.send({"t": "log", "id": self._worker.request_id, "line": line})
        except Exception:  # noqa: BLE001
            self.handleError(record)


class _AliasFinder(importlib.abc.MetaPathFinder):
    """`import shared` / `import views`: src/shared and src/views, as Architect places them in vendor/."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self._aliases = aliases

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        folder = self._aliases.get(fullname)
        if folder is None:
            return None
        init = os.path.join(folder, "__init__.py")
        if os.path.isfile(init):
            return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[folder])
        spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = [folder]
        return spec


def main(argv: list[str]) -> NoReturn:
    """`python -m sandbox.lambdas.worker CONTROL_FD SERVICES_FD`: the spawn fallback (no fork)."""
    from sandbox.lambdas.lifetime import die_with_parent

    die_with_parent()
    run(int(argv[0]), int(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
