"""Benchmark: a routed `get /ping` through the sandbox against a bare aiohttp handler, in one run.

Target (DESIGN.md): the sandbox serves >= 55% of the bare handler's requests/s, with the handler in its
own execution environment (a worker process, as on Lambda) and the bare handler in the server's process. The load comes from a
separate process (bench/load.py) on loopback, for a bounded time. The servers run side by side
and take the load in turns of half a second, so a burst of noise from a shared machine falls on both;
the verdict uses the median of three rounds' ratios. Where the machine has two cores or
more, the servers run on one and the load generator on another, so neither competes with the other.

    python bench/http.py [--seconds 4] [--rounds 3] [--concurrency 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where this file would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
from typing import TextIO

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.console import setup_logging
from sandbox.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent

PING = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n"


def split_cores() -> set[int] | None:
    """Pin this process (the servers) to one core; return the cores left for the load generator."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    os.sched_setaffinity(0, {cores[0]})
    return set(cores[1:])


async def load(urls: list[str], seconds: float, concurrency: int, cores: set[int] | None) -> list[dict[str, float]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "load.py"),
        str(seconds),
        str(concurrency),
        *urls,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"load generator failed ({proc.returncode})")
    return list(json.loads(out))


def console_loggers(sink: TextIO) -> tuple[logging.Logger, logging.Logger]:
    """The console logging `arc-sandbox start` sets up (a line per request), and its `--quiet` form."""
    logging_on = setup_logging(quiet=False, verbose=False, stream=sink)
    quiet = logging.getLogger("arc_sandbox_bench_quiet")
    quiet.handlers[:] = [logging.StreamHandler(sink)]
    quiet.setLevel(logging.WARNING)
    quiet.propagate = False
    return logging_on, quiet


async def servers(
    app_dir: Path, seconds: float, concurrency: int, cores: set[int] | None, sink: TextIO
) -> list[dict[str, float]]:
    """Load on a bare aiohttp handler and on the sandbox (as `arc-sandbox start` logs, and with --quiet),
    running side by side and taking turns."""

    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/ping", ping)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        logging_on, quiet = console_loggers(sink)
        async with (
            Sandbox(SandboxConfig.ephemeral(app_dir), logger=logging_on) as sandbox,
            Sandbox(SandboxConfig.ephemeral(app_dir), logger=quiet) as quiet_sandbox,
        ):
            urls = [
                f"http://127.0.0.1:{runner.addresses[0][1]}/ping",
                f"http://127.0.0.1:{sandbox.ports['http']}/ping",
                f"http://127.0.0.1:{quiet_sandbox.ports['http']}/ping",
            ]
            return await load(urls, seconds, concurrency, cores)
    finally:
        await runner.cleanup()


def make_app(root: Path) -> Path:
    (root / "src" / "http" / "get-ping").mkdir(parents=True)
    (root / "app.arc").write_text("@app\nbench-http\n@http\nget /ping\n")
    (root / "src" / "http" / "get-ping" / "lambda.py").write_text(PING)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of load on each server, each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    cores = split_cores()
    print(f"servers on core {sorted(os.sched_getaffinity(0))}, load on {sorted(cores)}" if cores else "cores not split")
    print(f"{'':<30}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    ratios: list[float] = []
    quiet_ratios: list[float] = []
    errors = 0
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as sink:
        app_dir = make_app(Path(tmp))
        for n in range(1, args.rounds + 1):
            base, ours, quiet = asyncio.run(servers(app_dir, args.seconds, args.concurrency, cores, sink))
            rows = (
                (f"round {n}: bare aiohttp", base),
                (f"round {n}: arc-sandbox", ours),
                (f"round {n}: --quiet", quiet),
            )
            for name, r in rows:
                print(f"{name:<30}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8.0f}")
                errors += int(r["errors"])
            ratios.append(ours["rps"] / base["rps"])
            quiet_ratios.append(quiet["rps"] / base["rps"])
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= 0.55 else "MISSES"
    rounds = ", ".join(f"{r:.0%}" for r in ratios)
    print(f"ratio: {ratio:.0%} of bare aiohttp requests/s, median of rounds ({rounds}) ({verdict} the >= 55% target)")
    print(f"with --quiet (no request lines): {statistics.median(quiet_ratios):.0%}")
    print("process model: each function in its own execution environment (a worker process)")
    if errors:
        raise SystemExit(f"{errors} requests failed or answered other than 200: the figures above do not count")


if __name__ == "__main__":
    main()
