"""Benchmark: hot reload latency and cold start.

- reload: time from writing a handler file to the new code being served (median of 20 saves),
  with the real watchfiles watcher, polling the route until the new version answers.
- cold start: from launching `python -m sandbox start example-app` to its first 200 on `get /`
  (median of 5 launches).

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


def cold_start(app_dir: Path) -> float:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "start", str(app_dir), "--port", str(port), "--memory", "--no-watch"]
    command += ["--quiet", "--events-port", "0", "--tables-port", "0", "--internal-port", "0"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        raise SystemExit("the sandbox did not answer within 20 s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


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
    starts = [cold_start(EXAMPLE_APP) for _ in range(args.starts)]
    reload_ms = statistics.median(latencies) * 1000
    start_ms = statistics.median(starts) * 1000
    print(
        f"reload: median {reload_ms:.0f} ms, max {max(latencies) * 1000:.0f} ms over {len(latencies)} saves "
        f"({'meets' if reload_ms < 200 else 'MISSES'} the < 200 ms target)"
    )
    print(
        f"cold start to first 200: median {start_ms:.0f} ms over {len(starts)} launches "
        f"({'meets' if start_ms < 500 else 'MISSES'} the < 500 ms target)"
    )


if __name__ == "__main__":
    main()
