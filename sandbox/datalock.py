"""The lock a running sandbox holds on its data folder, so `arc-sandbox reset` can tell it is in use.

An advisory `flock` on a file beside the database: the kernel releases it when the process ends,
however it ends (kill -9 included), so a stale lock file never blocks anything. The file holds the
holder's pid, for the message, and once it listens the ports it serves on: `start` moves on to the next
free port when one is taken, and the CLI's commands must reach this sandbox, not whichever one answers
on the default port.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from sandbox.errors import StartupError

LOCK_SUFFIX = ".lock"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + LOCK_SUFFIX)


class DataLock:
    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Hold the lock; StartupError if another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            handle.close()
            raise StartupError(
                f"another arc-sandbox{holder} is using {self.path.parent}: stop it first, "
                "or start this one with --memory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def record_ports(self, ports: Mapping[str, int]) -> None:
        """Write the ports this sandbox serves on beside its pid, for `running_ports`."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.write(json.dumps({"pid": os.getpid(), "ports": dict(ports)}))
            self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def holder_of(database: Path) -> str | None:
    """ " (pid N)" when a running sandbox holds the lock on `database`'s folder, else None."""
    path = lock_path(database)
    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def running_ports(database: Path) -> dict[str, int]:
    """The ports of the sandbox running on `database`'s folder, by service; empty when none runs."""
    path = lock_path(database)
    if not path.exists():
        return {}
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            ports = _contents(handle).get("ports")
            return {k: v for k, v in ports.items() if isinstance(v, int)} if isinstance(ports, dict) else {}
        fcntl.flock(handle, fcntl.LOCK_UN)
    return {}


def _contents(handle: IO[str]) -> dict[str, object]:
    """{"pid": ..., "ports": {...}}; a bare pid from before the ports were recorded."""
    handle.seek(0)
    text = handle.read().strip()
    if text.isdigit():
        return {"pid": int(text)}
    try:
        contents = json.loads(text)
    except ValueError:
        return {}
    return contents if isinstance(contents, dict) else {}


def _holder(handle: IO[str]) -> str:
    pid = _contents(handle).get("pid")
    return f" (pid {pid})" if isinstance(pid, int) else ""
