"""Processes that must not outlive the one that started them (the template, and spawned workers)."""

from __future__ import annotations

import contextlib
import signal
import sys


def die_with_parent() -> None:
    """On Linux, the kernel kills this process when its parent dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
