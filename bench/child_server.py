"""A server for a benchmark, run in a child process of its own (its own GIL), beside the one measured."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def serving(target: Callable[..., None], *args: Any) -> Iterator[int]:
    """Run `target(*args, connection)` in a spawned process; it sends its port, then waits for "stop"."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(*args, child), daemon=True)
    process.start()
    try:
        port: int = parent.recv()
        yield port
    finally:
        parent.send("stop")
        process.join(timeout=10)
