"""Benchmark: the dashboard with 10,000 invocations and 10,000 items stored, and what it costs the app.

Prints (1) each JSON API call a view makes, (2) each view's load in headless Chromium from navigation
to its rows on screen (when Chromium and Playwright are installed), and (3) the app's own request
latency with no dashboard open against a dashboard tab open on the live Invocations view, in
alternating rounds so that noise falls on both; the verdict is the ratio of medians.

    python bench/dashboard.py [--invocations 10000] [--items 10000] [--rounds 5] [--requests 300]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import contextlib
import http.client
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from sandbox.threaded import ThreadedSandbox, threaded_sandbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PING = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n"
API_CALLS = {
    "invocations": ["/_dashboard/api/invocations"],
    "queues": ["/_dashboard/api/queues"],
    "tables": ["/_dashboard/api/tables", "/_dashboard/api/tables/tasks/items?limit=50"],
    "schedules": ["/_dashboard/api/schedules"],
    "routes": ["/_dashboard/api/routes"],
}
READY = ("invocations", "queues", "tables", "schedules", "routes")


async def fill(sandbox: Sandbox, invocations: int, items: int) -> None:
    table = sandbox.store.physical_name("tasks")
    for start in range(0, items, 25):
        puts = [
            {"PutRequest": {"Item": {"taskID": {"S": f"task-{n:05d}"}, "name": {"S": f"Task {n}"},
                                     "status": {"S": "complete"}, "created": {"N": str(n)}}}}
            for n in range(start, min(start + 25, items))
        ]  # fmt: skip
        await sandbox.store.call("BatchWriteItem", {"RequestItems": {table: puts}})
    fn = next(r.function for r in sandbox.manifest.http if r.path == "/ping")
    event = {"version": "2.0", "rawPath": "/ping", "requestContext": {"http": {"method": "GET", "path": "/ping"}}}
    for start in range(0, invocations, 200):
        await asyncio.gather(*(sandbox.invoker.invoke(fn, event) for _ in range(min(200, invocations - start))))


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def app_latency(port: int, requests: int) -> float:
    """Median ms of `requests` sequential GET /ping on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        conn.request("GET", "/ping")
        conn.getresponse().read()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(times)


class StreamReader:
    """Reads the dashboard's live stream on a thread and throws it away: a subscriber with no rendering."""

    def __init__(self, url: str) -> None:
        self._response = urllib.request.urlopen(url, timeout=60)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed under us at the end
            while self._response.read1(65536):
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._response.close()


def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.exists():
        return None
    playwright = sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "example-app"
        shutil.copytree(ROOT / "example-app", app, ignore=shutil.ignore_patterns(".sandbox"))
        (app / "app.arc").write_text((app / "app.arc").read_text().replace("@http\n", "@http\nget /ping\n", 1))
        (app / "src" / "http" / "get-ping").mkdir(parents=True)
        (app / "src" / "http" / "get-ping" / "lambda.py").write_text(PING)
        with threaded_sandbox(SandboxConfig.ephemeral(app)) as running:
            started = time.perf_counter()
            running.run(fill(running.sandbox, args.invocations, args.items), timeout=600)
            print(f"stored {running.sandbox.recorder.recorded:,} invocations and {args.items:,} items "
                  f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
            report(running, args)


def report(running: ThreadedSandbox, args: argparse.Namespace) -> None:
    base = running.dashboard_url.rstrip("/")
    print("\nJSON API, median of", args.rounds, "calls (ms):")
    for view, paths in API_CALLS.items():
        for path in paths:
            print(
                f"  {view:<12} {path:<48} {statistics.median(timed_get(base + path) for _ in range(args.rounds)):7.1f}"
            )
    found = browser()
    if found is None:
        print("\nno Chromium/Playwright: page loads and the app-impact comparison with a tab open are skipped")
        return
    playwright, chromium = found
    try:
        page = chromium.new_page(viewport={"width": 1400, "height": 860})
        print("\nPage load in Chromium, median of", args.rounds, "(ms): navigation start to the view on screen with")
        print("its rows, by the page's own clock; the floor is the same navigation to a bare static file")
        floor = []
        for _ in range(args.rounds):
            page.goto("about:blank")
            page.goto(f"{base}/_dashboard/static/favicon.svg")
            floor.append(page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd"))
        for view in READY:
            times = []
            for _ in range(args.rounds):
                page.goto("about:blank")
                page.goto(f"{base}/#/{view}", wait_until="commit")
                page.wait_for_function(f"performance.getEntriesByName('view-ready:{view}').length > 0")
                times.append(page.evaluate(f"performance.getEntriesByName('view-ready:{view}')[0].startTime"))
            verdict = "ok" if statistics.median(times) < 300 else "OVER 300 ms"
            print(f"  {view:<12} {statistics.median(times):7.1f}   {verdict}")
        print(f"  {'(floor)':<12} {statistics.median(floor):7.1f}")
        print(f"\nThe app's GET /ping, median latency of {args.requests} requests, in alternating rounds (ms):")
        port = running.ports["http"]
        closed, streamed, opened = [], [], []
        for _ in range(args.rounds):
            page.goto("about:blank")
            closed.append(app_latency(port, args.requests))
            with StreamReader(base + "/_dashboard/api/stream"):
                streamed.append(app_latency(port, args.requests))
            page.goto(f"{base}/#/invocations")
            page.wait_for_selector("#live.on")
            opened.append(app_latency(port, args.requests))
        a, b, c = statistics.median(closed), statistics.median(streamed), statistics.median(opened)
        print(f"  no dashboard                  {a:7.2f}")
        print(f"  a live stream being read      {b:7.2f}   ratio {b / a:.2f}  (the sandbox's own cost; 1.00 = none)")
        print(
            f"  a Chromium tab, live          {c:7.2f}   ratio {c / a:.2f}  (plus the browser's rendering, same machine)"
        )
    finally:
        chromium.close()
        playwright.stop()


if __name__ == "__main__":
    main()
