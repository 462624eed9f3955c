"""File changes under a folder, as an async iterator: watchfiles' blocking watcher on a thread of its own.

watchfiles' own `awatch` waits through anyio, whose asyncio backend it imports on its first wait:
some 25 ms of the loop's time right when `arc-sandbox start` serves its first request. The blocking
`watch` needs nothing but a thread, which spends its time in watchfiles' native code, off the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

from watchfiles import Change, watch

FileChange = tuple[Change, str]
JOIN_TIMEOUT = 5.0  # the thread sees the stop within one step (milliseconds); this only bounds a hang


class FileWatch:
    """`async for batch in FileWatch(folder, ...)`: each batch a set of (Change, path); `close()` ends it."""

    def __init__(self, folder: Path, *, watch_filter: Callable[[Change, str], bool], debounce: int, step: int) -> None:
        self._folder = folder
        self._filter = watch_filter
        self._debounce = debounce
        self._step = step
        self._stop = threading.Event()
        self._batches: asyncio.Queue[set[FileChange] | Exception | None] = asyncio.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching now (on the loop's thread): a change from this moment on is reported."""
        loop = asyncio.get_running_loop()

        def hand_over(item: set[FileChange] | Exception | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading any more
                loop.call_soon_threadsafe(self._batches.put_nowait, item)

        def run() -> None:
            try:
                for batch in watch(
                    self._folder,
                    watch_filter=self._filter,
                    stop_event=self._stop,
                    debounce=self._debounce,
                    step=self._step,
                    raise_interrupt=False,  # signals are the main thread's, never this one's
                ):
                    hand_over(batch)
            except Exception as error:  # noqa: BLE001 - whatever ended the watch, the reader hears of it
                hand_over(error)
            else:
                hand_over(None)

        self._thread = threading.Thread(target=run, name="arc-sandbox file watch", daemon=True)
        self._thread.start()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> set[FileChange]:
        item = await self._batches.get()
        if item is None:
            raise StopAsyncIteration
        if isinstance(item, Exception):
            raise item
        return item

    async def close(self) -> None:
        """Stop watching and wait for the thread to end."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, JOIN_TIMEOUT)
