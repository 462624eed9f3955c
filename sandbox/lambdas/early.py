"""Launching the template process, light enough to run before anything else is imported.

`arc-sandbox start` calls `launch_early_template()` first thing, so that the template imports the
runtime on the other core while this process imports the server; the first `ForkServer` adopts it.
Only the standard library's process and socket modules load here (not asyncio, not dataclasses):
every millisecond before the launch is a millisecond the template starts later.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

TEMPLATE_MODULE = "sandbox.lambdas.template"


class StartedTemplate:
    """A plain class: `dataclasses` would cost the template its head start (it imports `inspect`)."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket) -> None:
        self.process = process
        self.control = control  # ours: a datagram socket to the template


def start_template(python: str = sys.executable) -> StartedTemplate:
    """Launch the template. Call it on the thread that will run the sandbox's loop: on Linux the template
    dies with the thread that started it (PDEATHSIG)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    process = subprocess.Popen(
        [python, "-m", TEMPLATE_MODULE, str(theirs.fileno()), str(os.getpid())],
        pass_fds=[theirs.fileno()],
        stdin=subprocess.DEVNULL,
        # A session of its own, as each environment it forks has: out of the terminal's Ctrl-C (the
        # sandbox stops it), and, where Linux shares CPU time between sessions (autogroup), its
        # preloads no longer take a busy machine's time from the server's own start-up.
        start_new_session=True,
    )
    theirs.close()
    return StartedTemplate(process, ours)


class _EarlyTemplate:
    """A template that `arc-sandbox start` launched before its own imports, so that the template's are
    done by the first request; the process's first ForkServer adopts it. A hand-off within one process,
    taken once, hence a class slot rather than state passed down through the CLI."""

    waiting: StartedTemplate | None = None


def launch_early_template() -> None:
    if _EarlyTemplate.waiting is None and hasattr(os, "fork"):
        _EarlyTemplate.waiting = start_template()


def adopt_early_template() -> StartedTemplate | None:
    """The early template, once; None if there is none or it has died meanwhile."""
    started, _EarlyTemplate.waiting = _EarlyTemplate.waiting, None
    if started is not None and started.process.poll() is not None:
        started.control.close()  # it died meanwhile: start another
        return None
    return started
