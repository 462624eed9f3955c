"""Says when a synchronous network call blocks the event loop a sandbox answers on.

An `async` test shares its loop with the `arc_sandbox` it starts. A synchronous client in that test
(boto3, requests, urllib, `sandbox.arc`'s sync API) sends its request and waits on the socket, and the
sandbox, whose loop that wait holds, never reads it: the call hangs until the client's own timeout,
minutes for boto3. A thread watches the loop's heartbeat; when the loop has not turned for `stall`
seconds and the thread running it is inside a socket call, it writes once to the terminal what is
happening and what to do. A loop held by anything else (a computation, a debugger) is left alone.
"""

from __future__ import annotations

import asyncio
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import TextIO

STALL = 3.0  # seconds without a turn of the loop before looking at what holds it
BEAT = 0.25
# Where a thread waits for a network answer: the socket module and the HTTP clients above it.
NETWORK_FILES = ("/socket.py", "/ssl.py", "/http/client.py", "/urllib/request.py", "/urllib3/", "/botocore/")

ADVICE = (
    "arc-sandbox: the event loop this test shares with its sandbox has been blocked for {seconds:.0f} s by a "
    "synchronous network call, which waits for an answer only that loop could give. Await the call through "
    "asyncio.to_thread(...), or write the test without async and use the arc_sandbox_sync fixture. The call:\n"
)


class LoopWatch:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        stall: float = STALL,
        out: Callable[[], TextIO | None] = lambda: sys.__stderr__,
    ) -> None:
        self._loop = loop
        self._stall = stall
        self._out = out
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._loop_thread = threading.get_ident()  # built on the loop's own thread
        self._beat: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(target=self._watch, name="arc-sandbox-loop-watch", daemon=True)
        self.warned = False

    def start(self) -> None:
        self._tick()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.cancel()
        self._thread.join(2)

    def _tick(self) -> None:
        self._last = time.monotonic()
        self._beat = self._loop.call_later(BEAT, self._tick)

    def _watch(self) -> None:
        while not self._stop.wait(BEAT):
            stalled = time.monotonic() - self._last
            if self.warned or stalled < self._stall:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is not None and _in_network_call(frame):
                self.warned = True
                out = self._out()
                if out is not None:
                    out.write("\n" + ADVICE.format(seconds=stalled) + "".join(_the_call(frame)))
                    out.flush()


def _the_call(frame: FrameType) -> list[str]:
    """The innermost frame of the caller's own code (not Python's, not an installed package's) and the
    library frame it called: where in the test the blocking call is."""
    steps = traceback.extract_stack(frame)
    libraries = tuple({sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")})
    own = [i for i, step in enumerate(steps) if not step.filename.startswith(libraries)]
    if not own:
        return traceback.format_list(steps[-4:])
    last = own[-1]
    return traceback.format_list(steps[last : last + 2])


def _in_network_call(frame: FrameType) -> bool:
    return any(name in step.filename for step in traceback.extract_stack(frame) for name in NETWORK_FILES)
