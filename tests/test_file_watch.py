"""`FileWatch`: watchfiles' blocking watcher on a thread, read as an async iterator (real files, no sleeps)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from watchfiles import Change

from sandbox.file_watch import FileWatch


def watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "arc-sandbox file watch"]


async def test_a_write_is_reported_and_close_ends_the_thread(tmp_path: Path) -> None:
    watch = FileWatch(tmp_path, watch_filter=lambda change, path: not path.endswith(".tmp"), debounce=50, step=10)
    watch.start()
    try:
        (tmp_path / "ignored.tmp").write_text("x")
        (tmp_path / "handler.py").write_text("x = 1\n")
        batch = await asyncio.wait_for(anext(watch), 10)  # a hang guard, not a wait
        assert str(tmp_path / "handler.py") in {path for _, path in batch}
        assert all(change in (Change.added, Change.modified) for change, _ in batch)
        assert not any(path.endswith(".tmp") for _, path in batch)
    finally:
        await watch.close()
    assert watch_threads() == []


async def test_a_folder_that_cannot_be_watched_is_the_readers_error(tmp_path: Path) -> None:
    watch = FileWatch(tmp_path / "missing", watch_filter=lambda change, path: True, debounce=50, step=10)
    watch.start()
    try:
        with pytest.raises(FileNotFoundError):
            await asyncio.wait_for(anext(watch), 10)
    finally:
        await watch.close()
    assert watch_threads() == []


async def test_closing_ends_the_iteration(tmp_path: Path) -> None:
    watch = FileWatch(tmp_path, watch_filter=lambda change, path: True, debounce=50, step=10)
    watch.start()
    reader = asyncio.ensure_future(anext(watch, None))
    await watch.close()
    assert await asyncio.wait_for(reader, 10) is None
