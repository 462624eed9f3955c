"""`arc-sandbox start` in a subprocess, as a developer runs it, for tests that kill or stop it.

The process gets its own session, so that killing its group takes any worker processes with it.
Its stderr is read line by line; tests wait for a line rather than for time to pass.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

PORTS_LINE = re.compile(r"Using ports: http: (\d+), events/queues: (\d+), tables: (\d+), _arc: (\d+)")
READY = "Local environment ready"


class RunningSandbox:
    def __init__(self, app_dir: Path, *args: str, timeout: float = 60.0) -> None:
        self.app_dir = app_dir
        self.args = args
        self.timeout = timeout
        self.ports: dict[str, int] = {}
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.kill()

    @property
    def proc(self) -> asyncio.subprocess.Process:
        assert self._proc is not None, "not started"
        return self._proc

    async def start(self) -> None:
        command = [sys.executable, "-m", "sandbox", "start", str(self.app_dir), "--no-watch", "-v"]
        command += ["--port", "0", "--events-port", "0", "--tables-port", "0", "--internal-port", "0", *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
        self._proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
        )  # fmt: skip
        line = await self.wait_for_line(READY)
        found = next(filter(None, map(PORTS_LINE.search, self.lines)), None)
        assert found is not None, "\n".join(self.lines) or line
        self.ports = dict(zip(("http", "events", "tables", "internal"), map(int, found.groups()), strict=True))

    async def next_line(self) -> str:
        """The next line the sandbox writes to stderr; EOFError once it has exited."""
        assert self.proc.stderr is not None
        raw: bytes = await asyncio.wait_for(self.proc.stderr.readline(), self.timeout)
        if not raw:
            raise EOFError("the sandbox exited:\n" + "\n".join(self.lines[-30:]))
        line = raw.decode(errors="replace").rstrip("\n")
        self.lines.append(line)
        return line

    async def wait_for_line(self, text: str) -> str:
        while text not in (line := await self.next_line()):
            pass
        return line

    def signal(self, sig: signal.Signals) -> None:
        if self._proc is not None and self._proc.returncode is None:
            os.killpg(self._proc.pid, sig)

    async def kill(self) -> None:
        """SIGKILL: the sandbox and everything it started die at once, with no chance to clean up."""
        self.signal(signal.SIGKILL)
        if self._proc is not None:
            await self._proc.wait()

    async def stop(self) -> int:
        """SIGTERM, as Ctrl-C would, and the exit code once it has shut down."""
        self.signal(signal.SIGTERM)
        try:
            while True:
                await self.next_line()
        except EOFError:
            return await self.proc.wait()
