"""Benchmark: hot reload latency and cold start.

- reload: time from writing a handler file to the new code being served (median of 20 saves),
  with the real watchfiles watcher, polling the route until the new version answers.
- cold start: from launching `python -m sandbox start` on a copy of example-app (tables on disk,
  file watching on: the command as a developer runs it) to its first 200 on `get /`, median of 5
  launches after one uncounted launch, as on a laptop where Python has already cached the bytecode.
  The baseline is a bare aiohttp app launched and measured the same way: the least any Python
  server on aiohttp can take here.

- cold start against Architect's own sandbox (npm package @architect/architect, run with node, installed
  under bench/.architect on first use), side by side on the same app: one `get /` whose handler uses
  architect-functions (`import arc`, boto3 underneath). Skipped, with the reason, where node or npm is
  missing.

Targets (DESIGN.md, issue #9): reload under 200 ms, cold start under 0.5 s, and the architect-functions
app up in at most 0.7x the time Architect's sandbox takes.

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


def launch_to_first_200(
    command: list[str], port: int, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> float:
    """Seconds from launching `command` to its first 200 on `GET /` at `port`."""
    # Python caches bytecode on a developer's machine; this environment may have turned that off.
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
    )
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.settimeout(30)  # once connected, wait for the answer: a cold handler may be slow
                    conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    if conn.recv(16).startswith(b"HTTP/1.1 200"):
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.002)
        raise SystemExit(f"{command} did not answer within 60 s")
    finally:
        os.killpg(proc.pid, 15)  # the whole group: Architect's sandbox runs node and python children
        proc.wait(timeout=15)


def sandbox_start(app_dir: Path) -> float:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "start", str(app_dir), "--port", str(port), "--quiet"]
    command += ["--events-port", "0", "--tables-port", "0", "--internal-port", "0"]
    return launch_to_first_200(command, port)


def bare_start(script: Path) -> float:
    port = free_port()
    return launch_to_first_200([sys.executable, str(script), str(port)], port)


AF_APP = """
@app
af-cold-start

@http
get /

@tables
notes
  noteID *String

@aws
runtime python3.11
timeout 30
"""
AF_HANDLER = """
import arc

def handler(event, context):
    arc.tables.table("notes")  # discovery through SSM and a boto3 client, as a real handler does
    return {"statusCode": 200, "body": "ok"}
"""
ARCHITECT_DIR = ROOT / "bench" / ".architect"


def architect_command(tmp: Path) -> tuple[list[str], dict[str, str]] | str:
    """How to launch Architect's sandbox, with `python3` being this interpreter; or why it can't be."""
    arc = ARCHITECT_DIR / "node_modules" / ".bin" / "arc"
    if not arc.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            return "node and npm are not installed"
        ARCHITECT_DIR.mkdir(exist_ok=True)
        install = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(ARCHITECT_DIR), "@architect/architect"]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            return "npm could not install @architect/architect"
    shim = tmp / "bin"
    shim.mkdir()
    (shim / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not (env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE")):
        # As on a developer's machine with credentials: without any, the AWS SDK spends seconds probing
        # the instance metadata service before Architect's sandbox starts.
        env.update(AWS_ACCESS_KEY_ID="arcDummyAccessKey", AWS_SECRET_ACCESS_KEY="arcDummySecretKey")
    return [str(arc), "sandbox"], env


def af_app(folder: Path, ports: list[int] | None) -> Path:
    (folder / "src" / "http" / "get-index").mkdir(parents=True)
    (folder / "src" / "http" / "get-index" / "lambda.py").write_text(AF_HANDLER)
    (folder / "app.arc").write_text(AF_APP)
    if ports:
        names = ("http", "events", "tables", "_arc")
        (folder / "prefs.arc").write_text(
            "@sandbox\nports\n" + "".join(f"  {n} {p}\n" for n, p in zip(names, ports, strict=True))
        )
    return folder


def architect_cold_starts(starts: int) -> tuple[list[float], list[float]] | str:
    """(arc-sandbox, Architect's sandbox) launch times on the architect-functions app, taking turns."""
    with tempfile.TemporaryDirectory() as tmp:
        found = architect_command(Path(tmp))
        if isinstance(found, str):
            return found
        command, env = found
        ours_app = af_app(Path(tmp) / "ours", None)
        ours, theirs = [], []
        for n in range(starts + 1):
            ports = [free_port() for _ in range(4)]
            theirs_app = af_app(Path(tmp) / f"architect-{n}", ports)
            architect = launch_to_first_200(command, ports[0], cwd=theirs_app, env=env)
            sandbox = sandbox_start(ours_app)
            if n:  # the first launch of each warms caches and is not counted
                ours.append(sandbox)
                theirs.append(architect)
    return ours, theirs


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
    versus_architect = architect_cold_starts(args.starts)
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
    if isinstance(versus_architect, str):
        print(f"architect-functions app vs Architect's sandbox: skipped ({versus_architect})")
    else:
        ours_ms = statistics.median(versus_architect[0]) * 1000
        theirs_ms = statistics.median(versus_architect[1]) * 1000
        ratio = ours_ms / theirs_ms
        print(
            f"architect-functions app, start to first 200: arc-sandbox median {ours_ms:.0f} ms, Architect's sandbox "
            f"{theirs_ms:.0f} ms: {ratio:.2f}x ({'meets' if ratio <= 0.7 else 'MISSES'} the <= 0.7x target)"
        )


if __name__ == "__main__":
    main()
