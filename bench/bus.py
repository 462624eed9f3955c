"""Benchmark: the bus end to end, through the real invoker, with a trivial subscriber, SQLite on disk.

- publish-to-subscriber-start latency (p50, p99) for @events, in-process, each publish acknowledged
  only once stored;
- events/s and queue messages/s, publish -> subscriber done, for N messages, none lost, with 0,
  10,000 and 100,000 delayed messages waiting in the same queue (the backlog);
- the process's resident memory before and after all that.

Targets (DESIGN.md, issues 4 and 11): p50 under 1 ms; >= 5,000 events/s; send and deliver rates
with a backlog within 1.5x of those without; RSS within 10 MB over the run once warm.

    python bench/bus.py [--messages 10000] [--backlogs 0,10000,100000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sandbox.bus import EventBus
from sandbox.clock import SystemClock
from sandbox.db import Database
from sandbox.lambdas.invoker import Invoker
from sandbox.model import EventSpec, FunctionSpec, Invoke, Json, Manifest, QueueSpec

# Handlers run in execution environments (other processes): a timed event's subscriber appends the
# moment it started (CLOCK_MONOTONIC, the same in every process) to a file; the consumer does nothing.
SUBSCRIBER = """
import time
def handler(event, context):
    if '"timed"' in event["Records"][0]["Sns"]["Message"]:
        with open({starts!r}, "a") as f:
            f.write(f"{{time.monotonic()}}\\n")
"""
CONSUMER = """
def handler(event, context):
    return None
"""


def make_app(root: Path) -> Manifest:
    starts = root / "starts.txt"
    for kind, name, code in (("events", "tick", SUBSCRIBER), ("queues", "work", CONSUMER)):
        (root / kind / name).mkdir(parents=True)
        (root / kind / name / "lambda.py").write_text(code.format(starts=str(starts)))
    return Manifest(
        app="bench-bus",
        root=root,
        source=None,
        events=(EventSpec("tick", FunctionSpec("events", "tick", root / "events" / "tick")),),
        queues=(QueueSpec("work", FunctionSpec("queues", "work", root / "queues" / "work"), fifo=False),),
    )


async def latency(bus: EventBus, starts: Path, samples: int) -> list[float]:
    await bus.publish("tick", {})  # the first call starts an execution environment
    await bus.drain()
    published = []
    for _ in range(samples):  # one at a time: each subscriber has started before the next publish
        published.append(time.monotonic())
        await bus.publish("tick", {"timed": True})
        await bus.drain(raise_on_failure=True)
    started = [float(line) for line in (await asyncio.to_thread(starts.read_text)).split()]
    return [start - sent for start, sent in zip(started, published, strict=True)]


PUBLISHERS = 50  # publishes in flight at once, as from many handlers and clients


@dataclass(frozen=True)
class Row:
    backlog: int
    events: float  # events/s, publish -> subscriber done
    sends: float  # sends/s, each acknowledged once stored
    queue: float  # messages/s, sent -> delivered
    rss_growth: float  # MB over the row's messages, the backlog's own memory left out


def rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def throughput_events(bus: EventBus, count: int) -> float:
    results = 0
    started = time.perf_counter()
    for first in range(0, count, PUBLISHERS):
        await asyncio.gather(*(bus.publish("tick", {"n": i}) for i in range(first, min(count, first + PUBLISHERS))))
        if first % 500 == 500 - PUBLISHERS:
            results += len(await bus.drain(raise_on_failure=True))
    results += len(await bus.drain(raise_on_failure=True))
    elapsed = time.perf_counter() - started
    if results != count:
        raise SystemExit(f"events lost: {count - results} of {count}")
    return count / elapsed


async def throughput_queue(bus: EventBus, count: int) -> tuple[float, float]:
    """(sends/s, sent -> delivered messages/s): one sender at a time, each send acknowledged once stored."""
    started = time.perf_counter()
    for i in range(count):
        await bus.send_message("work", {"n": i})
    sent = time.perf_counter()
    results = await bus.drain(raise_on_failure=True)
    elapsed = time.perf_counter() - started
    delivered = sum(len(r.message_ids) for r in results if r.pragma == "queues")
    if delivered != count:
        raise SystemExit(f"queue messages lost: {count - delivered} of {count}")
    return count / (sent - started), count / elapsed


async def add_backlog(bus: EventBus, total: int) -> None:
    """Messages waiting out a 15-minute delay in the queue under test: they must cost nothing."""
    waiting = bus.queues.get("work").messages
    while (missing := total - len(waiting)) > 0:
        await asyncio.gather(
            *(bus.send_message("work", {"backlog": i}, delay_seconds=900) for i in range(min(missing, 1000)))
        )


@contextlib.asynccontextmanager
async def started_bus(manifest: Manifest, invoke: Invoke, db_path: Path) -> AsyncIterator[EventBus]:
    """A bus on a fresh database, started, its log quiet; stopped on the way out."""
    async with Database(db_path) as db:
        bus = EventBus(manifest, invoke, db=db, clock=SystemClock(), run_schedules=False)
        bus._logger.disabled = True  # one log line per delivery would measure the terminal
        await bus.start()
        try:
            yield bus
        finally:
            await bus.stop()


async def measure(invoker: Invoker, manifest: Manifest, folder: Path, messages: int, backlog: int) -> Row:
    """One row, on a fresh database and bus: warm up, add the backlog, then time events and messages."""
    async with started_bus(manifest, invoker, folder / f"bus-{time.perf_counter_ns()}.db") as bus:
        await throughput_events(bus, messages // 10)  # warm: the rings filled, the database grown
        await throughput_queue(bus, messages // 10)
        await add_backlog(bus, backlog)
        rss_before = rss_mb()
        events = await throughput_events(bus, messages)
        sends, queue = await throughput_queue(bus, messages)
        return Row(backlog, events, sends, queue, rss_mb() - rss_before)


async def no_op_invoke(fn: FunctionSpec, event: Json, *, request_id: str | None = None) -> Json:
    return None


async def bus_alone(manifest: Manifest, folder: Path, messages: int) -> float:
    """Events/s with a handler call that costs nothing: the bus's own share (storing, group commits,
    scheduling), apart from the execution environments'."""
    async with started_bus(manifest, no_op_invoke, folder / "alone.db") as bus:
        await throughput_events(bus, messages // 10)
        return await throughput_events(bus, messages)


async def run(messages: int, backlogs: list[int]) -> None:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = make_app(Path(tmp) / "app")
        async with Invoker() as invoker:
            async with started_bus(manifest, invoker, Path(tmp) / "latency.db") as bus:
                delays = await latency(bus, Path(tmp) / "app" / "starts.txt", 1000)
            alone = await bus_alone(manifest, Path(tmp), messages)
            for backlog in backlogs:
                rows.append(await measure(invoker, manifest, Path(tmp), messages, backlog))
    ordered = sorted(delays)
    p50, p99 = statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(
        f"events publish -> subscriber start: p50 {p50:.3f} ms, p99 {p99:.3f} ms "
        f"({'meets' if p50 < 1 else 'MISSES'} the < 1 ms target)"
    )
    print(f"{messages:,} messages each, SQLite file, every publish and send acknowledged once stored:")
    print(f"  {'backlog':>9} {'events/s':>10} {'sends/s':>10} {'queue msgs/s':>13} {'RSS growth':>11}")
    for row in rows:
        print(
            f"  {row.backlog:>9,} {row.events:>10,.0f} {row.sends:>10,.0f} {row.queue:>13,.0f} {row.rss_growth:>+9.1f} MB"
        )
    levels = sorted({row.backlog for row in rows})

    def median(backlog: int, field: str) -> float:
        return float(statistics.median(float(getattr(row, field)) for row in rows if row.backlog == backlog))

    for backlog in levels[1:]:
        worst = max(median(levels[0], f) / median(backlog, f) for f in ("events", "sends", "queue"))
        print(
            f"  backlog {backlog:,}: worst slowdown {worst:.2f}x vs {levels[0]:,} (medians of the rows) "
            f"({'meets' if worst <= 1.5 else 'MISSES'} the 1.5x target)"
        )
    print(f"events, the bus alone (a handler call that costs nothing), stored at acknowledgement: {alone:,.0f}/s")
    best = max(row.events for row in rows)
    verdict = "meets" if best >= 5000 else "MISSES"
    print(f"events end to end, {PUBLISHERS} publishers: best {best:,.0f}/s ({verdict} >= 5,000/s)")
    grown = max(row.rss_growth for row in rows)
    print(
        f"RSS growth over one row's {2 * messages:,} messages once warm: at most {grown:+.1f} MB "
        f"({'meets' if grown <= 10 else 'MISSES'} the within-10 MB target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--backlogs",
        default="0,10000,100000,0",
        help="delayed messages waiting, one row each on a fresh database (repeat a level to bracket noise)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.messages, [int(b) for b in args.backlogs.split(",")]))


if __name__ == "__main__":
    main()
