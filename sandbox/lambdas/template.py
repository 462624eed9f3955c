"""The template process: forks execution environments that start warm.

Started by the sandbox as `python -m sandbox.lambdas.template CONTROL_FD PARENT_PID`, in a session
of its own, with no other file descriptors (so no environment ever holds the sandbox's listening
sockets). It imports the runtime side of the sandbox and what Lambda's Python runtime ships (boto3 and
botocore, when installed), a module at a time between requests, so a fork request never waits for the whole list. It never starts
a thread and touches no GUI framework: forking it is safe on macOS as on Linux.

Requests arrive as datagrams on CONTROL_FD: `{"t": "fork"}` with three descriptors attached (the
worker's control socket, its services socket, the write end of its log pipe). The template answers
`{"t": "exited", "pid": ..., "code": ...}` for each environment that ends (a negative code is a
signal), and on `{"t": "stop"}`, or when the sandbox goes away, it kills every environment and exits.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
from typing import NoReturn

from sandbox.lambdas.lifetime import die_with_parent

# What a warm Lambda Python runtime has already loaded, cheapest first.
PREIMPORTS = (
    "asyncio",
    "json",
    "logging",
    "decimal",
    "uuid",
    "sandbox.lambdas.worker",
    "sandbox.arc",
    # boto3 in small steps: a fork request waits at most for the step under way, not all of boto3.
    "ssl",
    "http.client",
    "email.parser",
    "urllib3.util",
    "urllib3",
    "dateutil.parser",
    "botocore.compat",
    "botocore.utils",
    "botocore.credentials",
    "botocore.session",
    "botocore.client",
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.serialize",
    "s3transfer.utils",
    "s3transfer.manager",
    "boto3",
    "boto3.session",
    "boto3.dynamodb.types",
    "architect-functions",  # a distribution, not a module: its own steps follow when it is installed
)
# architect-functions (imported as `arc`) pulls in python-jose and cryptography: some 70 ms, in steps too.
ARCHITECT_FUNCTIONS = "architect-functions"
ARCHITECT_FUNCTIONS_STEPS = (
    "cryptography.hazmat.bindings._rust",
    "cryptography.hazmat.primitives.serialization",
    "cryptography.x509.name",
    "cryptography.x509",
    "jose.backends",
    "arc",
)
MAX_REQUEST = 4096
PARENT_CHECK = 1.0  # seconds between checks that the sandbox is still there


def main(control_fd: int, parent: int) -> NoReturn:
    gc.disable()  # importing allocates much and frees little: the collector's passes would slow the preloads
    die_with_parent(parent)
    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sandbox's to handle; it stops us
    children: set[int] = set()
    pending = list(PREIMPORTS)
    while True:
        ready, _, _ = select.select([control.fileno(), wake_r], [], [], 0 if pending else PARENT_CHECK)
        if not ready:
            if pending:
                pending[:0] = _preimport(pending.pop(0))
                if not pending:
                    _collect_garbage_again()
            elif os.getppid() != parent:  # the sandbox died without a word (where PDEATHSIG is missing)
                _stop(children)
            continue
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)
            _reap(control, children)
        if control.fileno() in ready:
            message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 3)
            if not message:
                _stop(children)
            request = json.loads(message)
            if request.get("t") == "stop":
                _stop(children)
            if request.get("t") == "fork" and len(fds) == 3:
                children.add(_fork(fds, control, (wake_r, wake_w)))
            else:
                for fd in fds:
                    os.close(fd)


def _preimport(name: str) -> tuple[str, ...]:
    """Import one step; return the steps it opens up (architect-functions' own, once it is found installed)."""
    # A missing optional package (boto3 not installed) or a broken one must not stop the template.
    with contextlib.suppress(Exception):
        if name == ARCHITECT_FUNCTIONS:
            from importlib import metadata

            metadata.distribution(ARCHITECT_FUNCTIONS)  # not some other package named arc
            return ARCHITECT_FUNCTIONS_STEPS
        importlib.import_module(name)
    return ()


def _collect_garbage_again() -> None:
    """The collector on again, with everything imported so far out of its reach: it lives as long as the
    process, and an environment that never scans the pages it shares with the template never copies them."""
    gc.freeze()
    gc.enable()


def _fork(fds: list[int], control: socket.socket, wake: tuple[int, int]) -> int:
    control_fd, services_fd, log_fd = fds
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    try:
        _collect_garbage_again()  # a handler runs with the collector on, as in Lambda
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        for fd in wake:
            os.close(fd)
        control.close()
        os.setsid()  # its own process group: killing the environment kills what it forked
        die_with_parent()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        from sandbox.lambdas import worker

        worker.run(control_fd, services_fd)
    finally:
        os._exit(70)


def _reap(control: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            control.send(json.dumps({"t": "exited", "pid": pid, "code": code}).encode())


def _stop(children: set[int]) -> NoReturn:
    for pid in children:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
