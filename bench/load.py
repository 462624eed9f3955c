"""A small HTTP load generator, run as its own process by the benchmarks (loopback only, bounded in time).

Usage: python bench/load.py URL SECONDS CONCURRENCY  -> prints JSON {"requests", "errors", "rps", "p50_ms", "p99_ms"}
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


async def run(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load.py only sends traffic to loopback addresses")
    latencies: list[float] = []
    errors: list[int] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # warm up: connections open, handlers imported
        for _ in range(20):
            async with session.get(url) as response:
                await response.read()
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(worker(session, url, until, latencies, errors) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))))
