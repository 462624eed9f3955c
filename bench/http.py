"""Benchmark: a routed `get /ping` through the sandbox against a bare aiohttp handler, in one run.

Target (DESIGN.md): the sandbox serves >= 60% of the bare handler's requests/s. The load comes from a
separate process (bench/load.py) on loopback, for a bounded time, against each server in turn.

    python bench/http.py [--seconds 5] [--concurrency 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where this file would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent

PING = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n"


async def load(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "load.py"),
        url,
        str(seconds),
        str(concurrency),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"load generator failed ({proc.returncode})")
    return dict(json.loads(out))


async def bare(seconds: float, concurrency: int) -> dict[str, float]:
    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/ping", ping)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        return await load(f"http://127.0.0.1:{runner.addresses[0][1]}/ping", seconds, concurrency)
    finally:
        await runner.cleanup()


async def sandboxed(app_dir: Path, seconds: float, concurrency: int) -> dict[str, float]:
    config = SandboxConfig.ephemeral(app_dir)
    async with Sandbox(config) as sandbox:
        return await load(f"http://127.0.0.1:{sandbox.ports['http']}/ping", seconds, concurrency)


def make_app(root: Path) -> Path:
    (root / "src" / "http" / "get-ping").mkdir(parents=True)
    (root / "app.arc").write_text("@app\nbench-http\n@http\nget /ping\n")
    (root / "src" / "http" / "get-ping" / "lambda.py").write_text(PING)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = make_app(Path(tmp))
        base = asyncio.run(bare(args.seconds, args.concurrency))
        ours = asyncio.run(sandboxed(app_dir, args.seconds, args.concurrency))
    print(f"{'':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, r in (("bare aiohttp", base), ("arc-sandbox get /ping", ours)):
        print(f"{name:<22}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8.0f}")
    ratio = ours["rps"] / base["rps"]
    verdict = "meets" if ratio >= 0.6 else "MISSES"
    print(f"ratio: {ratio:.0%} of bare aiohttp requests/s ({verdict} the >= 60% target)")


if __name__ == "__main__":
    main()
