"""Processes that must not outlive the one that started them (the template, and spawned workers)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys


def die_with_parent(parent: int | None = None) -> None:
    """On Linux, the kernel kills this process when its parent dies (even by SIGKILL). Given the pid
    the parent had, exit now if it is already gone: it died before the kernel was told to watch it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(0)
