"""A small HTTP load generator, run as its own process by the benchmarks (loopback only, bounded in time).

Usage: python bench/load.py SECONDS CONCURRENCY URL [URL ...]
  -> prints a JSON list, one {"requests", "errors", "rps", "p50_ms", "p99_ms"} per URL.

With several URLs, they take turns in slices of half a second until each has had SECONDS of load, so
that noise from a shared machine falls on every server alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where this file would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import asyncio
import json
import statistics
import sys
import time
from urllib.parse import urlsplit

import aiohttp


async def worker(
    session: aiohttp.ClientSession, url: str, until: float, latencies: list[float], errors: list[int]
) -> None:
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    errors.append(response.status)
        except aiohttp.ClientError:
            errors.append(0)
        latencies.append(time.perf_counter() - started)


SLICE = 0.5  # seconds of load on one URL before the next one's turn


def summary(latencies: list[float], errors: list[int], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": (len(latencies) - len(errors)) / elapsed,  # only what was served counts
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


async def run(urls: list[str], seconds: float, concurrency: int) -> list[dict[str, float]]:
    for url in urls:
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load.py only sends traffic to loopback addresses")
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) for _ in urls]
    latencies: list[list[float]] = [[] for _ in urls]
    errors: list[list[int]] = [[] for _ in urls]
    elapsed = [0.0 for _ in urls]
    try:
        for session, url in zip(sessions, urls, strict=True):
            for _ in range(20):  # warm up: connections open, handlers imported
                async with session.get(url) as response:
                    await response.read()
        slice_length = min(SLICE, seconds) if len(urls) > 1 else seconds
        while min(elapsed) < seconds - 1e-9:
            for n, (session, url) in enumerate(zip(sessions, urls, strict=True)):
                started = time.perf_counter()
                until = started + min(slice_length, seconds - elapsed[n])
                await asyncio.gather(
                    *(worker(session, url, until, latencies[n], errors[n]) for _ in range(concurrency))
                )
                elapsed[n] += time.perf_counter() - started
    finally:
        for session in sessions:
            await session.close()
    return [summary(latencies[n], errors[n], elapsed[n]) for n in range(len(urls))]


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    print(json.dumps(asyncio.run(run(sys.argv[3:], float(sys.argv[1]), int(sys.argv[2])))))
