"""A server for a benchmark, run in a child process of its own (its own GIL), beside the one measured;
its core pinned apart from the client's, and the servers timed taking turns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import web


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


async def until_stopped(pipe: Connection) -> None:
    """Return once the parent says "stop" (read off the event loop, which keeps serving)."""
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


async def serve_until_stopped(app: web.Application, pipe: Connection) -> None:
    """Serve `app` on a free loopback port, send the port up `pipe`, and stop when the parent says so."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    pipe.send(runner.addresses[0][1])
    await until_stopped(pipe)
    await runner.cleanup()


def moto_process(cores: set[int] | None, pipe: Connection) -> None:
    """Child process: moto's `ThreadedMotoServer`, every service on one port."""
    from moto.server import ThreadedMotoServer  # only the benchmarks that compare with moto need it

    pin(cores)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    pipe.send(server.get_host_and_port()[1])
    pipe.recv()
    server.stop()


BLOCK = 50  # operations in a row against one server before the next server's turn


def pin(cores: set[int] | None) -> None:
    if cores:
        os.sched_setaffinity(0, cores)


def split_cores() -> tuple[set[int], set[int]] | None:
    """(the servers' core, the client's cores) where there are two or more; None otherwise."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return ({cores[0]}, set(cores[1:])) if len(cores) >= 2 else None


def rates_taking_turns(servers: dict[str, dict[str, Callable[[int], Any]]], op: str, ops: int) -> dict[str, float]:
    """ops/s of `servers[name][op]` on each server. The servers take turns every BLOCK operations, so a
    burst of noise from the shared machine falls on all of them rather than on one."""
    elapsed = dict.fromkeys(servers, 0.0)
    for operations in servers.values():
        for i in range(min(BLOCK, ops)):  # warm up connections and caches
            operations[op](i)
    for first in range(0, ops, BLOCK):
        for name, operations in servers.items():
            started = time.perf_counter()
            for i in range(first, min(first + BLOCK, ops)):
                operations[op](i)
            elapsed[name] += time.perf_counter() - started
    return {name: ops / elapsed[name] for name in servers}
