"""Benchmark: hot reload latency and cold start.

- reload: time from writing a handler file to the new code being served (median of 20 saves),
  with the real watchfiles watcher, polling the route until the new version answers.
- cold start: from launching `python -m sandbox start` on a copy of example-app (tables on disk,
  file watching on: the command as a developer runs it) to its first 200 on `get /`, median of 5
  launches after one uncounted launch, as on a laptop where Python has already cached the bytecode.
  The baseline is a bare aiohttp app launched and measured the same way: the least any Python
  server on aiohttp can take here.

Targets (DESIGN.md): reload under 200 ms, cold start under 0.5 s.

    python bench/reload.py [--saves 20] [--starts 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where this file would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_APP = ROOT / "example-app"
HANDLER = "def handler(event, context):\n    return {{'statusCode': 200, 'body': 'version {n}'}}\n"


async def wait_for_body(session: aiohttp.ClientSession, url: str, expected: str, limit: float = 10.0) -> None:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        async with session.get(url) as response:
            if await response.text() == expected:
                return
        await asyncio.sleep(0.002)  # a benchmark polls; tests never do
    raise SystemExit(f"{url} never answered {expected!r}")


async def reload_latencies(app_dir: Path, saves: int) -> list[float]:
    handler = app_dir / "src" / "http" / "get-version" / "lambda.py"
    config = SandboxConfig.ephemeral(app_dir, watch=True)
    latencies = []
    async with Sandbox(config) as sandbox, aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{sandbox.ports['http']}/version"
        await wait_for_body(session, url, "version 0")
        for n in range(1, saves + 1):
            started = time.perf_counter()
            handler.write_text(HANDLER.format(n=n))
            await wait_for_body(session, url, f"version {n}")
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)  # let the watcher go quiet so saves are measured one by one
    return latencies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BARE_APP = """
import sys
from aiohttp import web

async def index(request):
    return web.Response(text="ok")

app = web.Application()
app.router.add_get("/", index)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def launch_to_first_200(command: list[str], port: int) -> float:
    """Seconds from launching `command` to its first 200 on `GET /` at `port`."""
    # Python caches bytecode on a developer's machine; this environment may have turned that off.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = started + 20
        while time.perf_counter() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    if conn.recv(16).startswith(b"HTTP/1.1 200"):
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.002)
        raise SystemExit(f"{command[2:4]} did not answer within 20 s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def sandbox_start(app_dir: Path) -> float:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "start", str(app_dir), "--port", str(port), "--quiet"]
    command += ["--events-port", "0", "--tables-port", "0", "--internal-port", "0"]
    return launch_to_first_200(command, port)


def bare_start(script: Path) -> float:
    port = free_port()
    return launch_to_first_200([sys.executable, str(script), str(port)], port)


def cold_starts(starts: int) -> tuple[list[float], list[float]]:
    """(sandbox, bare aiohttp) launch times, taking turns; the first launch of each is not counted."""
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = Path(tmp) / "example-app"
        shutil.copytree(EXAMPLE_APP, app_dir, ignore=shutil.ignore_patterns(".sandbox", "__pycache__"))
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_APP)
        sandbox_start(app_dir)
        bare_start(script)
        ours, bare = [], []
        for _ in range(starts):
            ours.append(sandbox_start(app_dir))
            bare.append(bare_start(script))
    return ours, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = Path(tmp)
        (app_dir / "app.arc").write_text("@app\nbench-reload\n@http\nget /version\n")
        (app_dir / "src" / "http" / "get-version").mkdir(parents=True)
        (app_dir / "src" / "http" / "get-version" / "lambda.py").write_text(HANDLER.format(n=0))
        latencies = asyncio.run(reload_latencies(app_dir, args.saves))
    starts, bare = cold_starts(args.starts)
    reload_ms = statistics.median(latencies) * 1000
    start_ms = statistics.median(starts) * 1000
    bare_ms = statistics.median(bare) * 1000
    print(
        f"reload: median {reload_ms:.0f} ms, max {max(latencies) * 1000:.0f} ms over {len(latencies)} saves "
        f"({'meets' if reload_ms < 200 else 'MISSES'} the < 200 ms target)"
    )
    print(
        f"cold start to first 200: median {start_ms:.0f} ms over {len(starts)} launches "
        f"({'meets' if start_ms < 500 else 'MISSES'} the < 500 ms target); "
        f"bare aiohttp app {bare_ms:.0f} ms, ratio {start_ms / bare_ms:.1f}x"
    )


if __name__ == "__main__":
    main()
