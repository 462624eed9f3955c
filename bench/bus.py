"""Benchmark: the bus end to end, through the real invoker, with a trivial subscriber.

- publish-to-subscriber-start latency (p50, p99) for @events, in-process;
- events/s and queue messages/s, publish -> subscriber done, for N messages, none lost.

Targets (DESIGN.md, issue 4): p50 under 1 ms; over 2,000 events/s.

    python bench/bus.py [--messages 10000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import statistics
import tempfile
import time

from sandbox.bus import EventBus
from sandbox.clock import SystemClock
from sandbox.db import Database
from sandbox.invoker import Invoker
from sandbox.model import EventSpec, FunctionSpec, Manifest, QueueSpec

# The subscriber notes when it started (perf_counter is shared by the whole process) and counts.
SUBSCRIBER = """
import time
STARTS = []
def handler(event, context):
    STARTS.append(time.perf_counter())
    return None
"""
CONSUMER = """
COUNT = [0]
def handler(event, context):
    COUNT[0] += len(event["Records"])
"""


def make_app(root: Path) -> Manifest:
    for kind, name, code in (("events", "tick", SUBSCRIBER), ("queues", "work", CONSUMER)):
        (root / kind / name).mkdir(parents=True)
        (root / kind / name / "lambda.py").write_text(code)
    return Manifest(
        app="bench-bus",
        root=root,
        source=None,
        events=(EventSpec("tick", FunctionSpec("events", "tick", root / "events" / "tick")),),
        queues=(QueueSpec("work", FunctionSpec("queues", "work", root / "queues" / "work"), fifo=False),),
    )


def handler_module(name: str) -> object:
    return next(m for key, m in sys.modules.items() if key.startswith("__arcfn_") and key.endswith(f".{name}") and m)


async def latency(bus: EventBus, samples: int) -> list[float]:
    await bus.publish("tick", {})  # import the handler once
    await bus.drain()
    starts: list[float] = handler_module("lambda").STARTS  # type: ignore[attr-defined]
    delays = []
    for _ in range(samples):
        before = len(starts)
        published = time.perf_counter()
        await bus.publish("tick", {"n": 1})
        await bus.drain()
        delays.append(starts[before] - published)
    return delays


async def throughput_events(bus: EventBus, count: int) -> float:
    results = 0
    started = time.perf_counter()
    for i in range(count):
        await bus.publish("tick", {"n": i})
        if i % 500 == 499:
            results += len(await bus.drain(raise_on_failure=True))
    results += len(await bus.drain(raise_on_failure=True))
    elapsed = time.perf_counter() - started
    if results != count:
        raise SystemExit(f"events lost: {count - results} of {count}")
    return count / elapsed


async def throughput_queue(bus: EventBus, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        await bus.send_message("work", {"n": i})
    await bus.drain(raise_on_failure=True)
    elapsed = time.perf_counter() - started
    counted: list[int] = next(
        m for k, m in sys.modules.items() if k.startswith("__arcfn_") and k.endswith(".lambda") and hasattr(m, "COUNT")
    ).COUNT
    if counted[0] != count:
        raise SystemExit(f"queue messages lost: {count - counted[0]} of {count}")
    return count / elapsed


async def run(messages: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = make_app(Path(tmp) / "app")
        async with Invoker() as invoker, Database(Path(tmp) / "bus.db") as db:
            bus = EventBus(manifest, invoker, db=db, clock=SystemClock(), run_schedules=False)
            bus._logger.disabled = True  # one log line per delivery would measure the terminal
            await bus.start()
            try:
                delays = await latency(bus, 1000)
                events = await throughput_events(bus, messages)
                queue = await throughput_queue(bus, messages)
            finally:
                await bus.stop()
    ordered = sorted(delays)
    p50, p99 = statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(
        f"events publish -> subscriber start: p50 {p50:.3f} ms, p99 {p99:.3f} ms "
        f"({'meets' if p50 < 1 else 'MISSES'} the < 1 ms target)"
    )
    print(
        f"events end to end: {events:,.0f}/s for {messages:,} events, none lost "
        f"({'meets' if events > 2000 else 'MISSES'} the > 2,000/s target)"
    )
    print(f"queue messages end to end (durable, SQLite file): {queue:,.0f}/s for {messages:,} messages, none lost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    asyncio.run(run(parser.parse_args().messages))


if __name__ == "__main__":
    main()
