"""How execution environments come to exist: forked from the template, or spawned where there is no fork.

Either way a launch gives the sandbox the sandbox-side ends of the worker's two sockets and the read
end of its log pipe; the worker announces its pid on the control socket, and `exit_code(pid)` tells
how the process ended (negative: killed by that signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from sandbox.lambdas.early import adopt_early_template, start_template

WORKER_MODULE = "sandbox.lambdas.worker"
_REMEMBERED_EXITS = 1024


@dataclass
class Launched:
    control: socket.socket
    services: socket.socket
    log_read_fd: int


class Launcher(Protocol):
    name: str

    async def start(self) -> None: ...

    async def launch(self) -> Launched: ...

    async def exit_code(self, pid: int, wait: float) -> int | None: ...

    async def stop(self) -> None: ...


def default_launcher() -> Launcher:
    return ForkServer() if hasattr(os, "fork") and sys.platform != "win32" else Spawner()


class _Ends:
    """The three channels of a new worker: sandbox-side ends kept here, worker-side ends handed over."""

    def __init__(self) -> None:
        self.control, self.worker_control = socket.socketpair()
        self.services, self.worker_services = socket.socketpair()
        self.log_read, self.log_write = os.pipe()

    def worker_fds(self) -> list[int]:
        return [self.worker_control.fileno(), self.worker_services.fileno(), self.log_write]

    def close_worker_side(self) -> None:
        self.worker_control.close()
        self.worker_services.close()
        os.close(self.log_write)

    def close_sandbox_side(self) -> None:
        self.control.close()
        self.services.close()
        os.close(self.log_read)

    def launched(self) -> Launched:
        return Launched(self.control, self.services, self.log_read)


class ForkServer:
    """Forks environments from the template process, which is started once and kept warm."""

    name = "fork"

    def __init__(self, python: str = sys.executable) -> None:
        self._python = python
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._exits: OrderedDict[int, int] = OrderedDict()
        self._waiting: dict[int, asyncio.Future[int]] = {}

    async def start(self) -> None:
        if self._process is not None:
            return
        started = adopt_early_template() if self._python == sys.executable else None
        # On the loop's own thread: the template dies with the thread that started it (PDEATHSIG).
        started = started or start_template(self._python)
        self._process, ours = started.process, started.control
        ours.setblocking(False)
        self._control = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_readable)

    async def launch(self) -> Launched:
        if self._control is None or self._process is None:
            raise RuntimeError("the template process is not running")
        if self._process.poll() is not None:  # killed from outside (the OOM killer, a stray kill): replace it
            self._forget_template()
            await self.start()
            assert self._control is not None
        ends = _Ends()
        try:
            socket.send_fds(self._control, [b'{"t":"fork"}'], ends.worker_fds())
        except BaseException:
            ends.close_sandbox_side()
            raise
        finally:
            ends.close_worker_side()
        return ends.launched()

    def _on_readable(self) -> None:
        assert self._control is not None
        while True:
            try:
                data = self._control.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                asyncio.get_running_loop().remove_reader(self._control.fileno())
                return
            message = json.loads(data)
            if message.get("t") == "exited":
                self._record_exit(int(message["pid"]), int(message["code"]))

    def _record_exit(self, pid: int, code: int) -> None:
        waiter = self._waiting.pop(pid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(code)
            return
        self._exits[pid] = code
        while len(self._exits) > _REMEMBERED_EXITS:
            self._exits.popitem(last=False)

    async def exit_code(self, pid: int, wait: float) -> int | None:
        if pid in self._exits:
            return self._exits.pop(pid)
        waiter = self._waiting.setdefault(pid, asyncio.get_running_loop().create_future())
        try:
            async with asyncio.timeout(wait):  # wait_for can swallow a cancellation (< 3.12)
                return await asyncio.shield(waiter)
        except TimeoutError:
            return None
        finally:
            if waiter.done():
                self._waiting.pop(pid, None)

    def _forget_template(self) -> None:
        control, self._control, self._process = self._control, None, None
        if control is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(control.fileno())
            control.close()

    async def stop(self) -> None:
        control, self._control = self._control, None
        process, self._process = self._process, None
        if control is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(control.fileno())
            with contextlib.suppress(OSError):
                control.send(b'{"t":"stop"}')  # the template kills every environment and exits
            control.close()
        if process is not None:
            # The sandbox has already killed every environment itself; the template may be busy in an
            # import, so it gets a moment to exit cleanly and no more.
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), 0.5)
            except TimeoutError:
                process.kill()
                await asyncio.to_thread(process.wait)


class Spawner:
    """A fresh interpreter per environment: slower to start, for platforms without fork."""

    name = "spawn"

    def __init__(self, python: str = sys.executable) -> None:
        self._python = python
        self._processes: dict[int, asyncio.subprocess.Process] = {}

    async def start(self) -> None:
        return None

    async def launch(self) -> Launched:
        ends = _Ends()
        try:
            control_fd, services_fd, log_fd = ends.worker_fds()
            process = await asyncio.create_subprocess_exec(
                self._python,
                "-m",
                WORKER_MODULE,
                str(control_fd),
                str(services_fd),
                pass_fds=(control_fd, services_fd),
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                start_new_session=True,
            )
        except BaseException:
            ends.close_sandbox_side()
            raise
        finally:
            ends.close_worker_side()
        self._processes[process.pid] = process
        return ends.launched()

    async def exit_code(self, pid: int, wait: float) -> int | None:
        process = self._processes.get(pid)
        if process is None:
            return None
        try:
            async with asyncio.timeout(wait):
                code = await process.wait()
        except TimeoutError:
            return None
        self._processes.pop(pid, None)
        return code

    async def stop(self) -> None:
        for process in list(self._processes.values()):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        self._processes.clear()
