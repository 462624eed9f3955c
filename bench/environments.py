"""Benchmark: execution environments. What a new one costs, what a warm call costs over a direct call,
the memory an idle one holds, and how CPU-bound handlers scale with environments (and so with cores).

Targets (issue #9): new environment p50 <= 30 ms; warm-call overhead p50 <= 150 us over calling the
handler directly; a 5 ms CPU-bound handler with several environments >= 1.6x the throughput of one.

    python bench/environments.py [--calls 2000] [--cold 40]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from sandbox.config import SandboxConfig
from sandbox.event_loop import new_event_loop, usable_cpus
from sandbox.lambdas.invoker import Invoker
from sandbox.model import FunctionSpec
from sandbox.sandbox import Sandbox

TRIVIAL = "def handler(event, context):\n    return {'ok': event['n']}\n"
CPU_BOUND = """
import time
def handler(event, context):
    end = time.process_time() + 0.005  # 5 ms of pure Python
    n = 0
    while time.process_time() < end:
        n += 1
    return n
"""


GIL_APP = "@app\ngil-bench\n@http\nget /hold\nget /ping\n"
# ctypes.PyDLL calls C without releasing the GIL: the holder's process is stuck for the whole call.
HOLD = "import ctypes\ndef handler(event, context):\n    ctypes.PyDLL(None).sleep(8)\n    return 'held'\n"
PING = "def handler(event, context):\n    return 'pong'\n"


def function(root: Path, name: str, code: str) -> FunctionSpec:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lambda.py").write_text(code)
    return FunctionSpec("events", name, folder, timeout=30)


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def new_environments(invoker: Invoker, fn: FunctionSpec, count: int) -> list[float]:
    """From "no environment" to the first result of a trivial handler."""
    await invoker(fn, {"n": 0})  # the template has finished its imports
    samples = []
    for i in range(count):
        invoker.invalidate({fn.src_dir})
        started = time.perf_counter()
        await invoker(fn, {"n": i})
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def warm_calls(invoker: Invoker, fn: FunctionSpec, count: int) -> list[float]:
    await invoker(fn, {"n": 0})
    samples = []
    for i in range(count):
        started = time.perf_counter()
        await invoker(fn, {"n": i})
        samples.append((time.perf_counter() - started) * 1_000_000)
    return samples


def direct_calls(count: int) -> list[float]:
    namespace: dict[str, object] = {}
    exec(TRIVIAL, namespace)  # noqa: S102 - the same handler, called in this process as a baseline
    handler = namespace["handler"]
    assert callable(handler)
    samples = []
    for i in range(count):
        started = time.perf_counter()
        handler({"n": i}, None)
        samples.append((time.perf_counter() - started) * 1_000_000)
    return samples


def memory_of(pid: int) -> tuple[float, float] | None:
    """RSS and PSS (shared pages divided among their sharers) in MB, from /proc (Linux)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:] if line.endswith("kB")}
    return fields["Rss"] / 1024, fields["Pss"] / 1024


async def idle_memory(invoker: Invoker, root: Path, count: int) -> list[tuple[float, float]]:
    functions = [function(root, f"idle-{i}", TRIVIAL) for i in range(count)]
    await asyncio.gather(*(invoker(fn, {"n": 0}) for fn in functions))
    found = []
    for pool in invoker.environments().values():
        for env in pool.idle:
            if env.pid is not None and (memory := memory_of(env.pid)) is not None:
                found.append(memory)
    return found


async def cpu_throughput(root: Path, environments: int, calls: int) -> float:
    fn = function(root, f"cpu-{environments}", CPU_BOUND)
    async with Invoker(concurrency=environments) as invoker:
        await asyncio.gather(*(invoker(fn, {}) for _ in range(environments)))  # create them first
        started = time.perf_counter()
        await asyncio.gather(*(invoker(fn, {}) for _ in range(calls)))
        return calls / (time.perf_counter() - started)


async def ping_while_holding(root: Path) -> list[float]:
    """Latency of `get /ping` (ms) while another function holds its GIL for 8 s."""
    app = root / "gil-app"
    for route, code in (("get-hold", HOLD), ("get-ping", PING)):
        (app / "src" / "http" / route).mkdir(parents=True)
        (app / "src" / "http" / route / "lambda.py").write_text(code)
    (app / "app.arc").write_text(GIL_APP)
    (app / "src" / "http" / "get-hold" / "config.arc").write_text("@aws\ntimeout 20\n")
    samples = []
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox, aiohttp.ClientSession(sandbox.url) as client:
        async with client.get("/ping") as response:
            await response.read()
        holder = asyncio.ensure_future(client.get("/hold"))
        await asyncio.sleep(0.5)  # the holder is in its C call
        while not holder.done():
            started = time.perf_counter()
            async with client.get("/ping") as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"/ping answered {response.status} while the GIL was held")
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
        (await holder).release()
    return samples


async def main(calls: int, cold: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with Invoker() as invoker:
            launcher = invoker.launcher.name
            cold_ms = await new_environments(invoker, function(root, "cold", TRIVIAL), cold)
            warm_us = await warm_calls(invoker, function(root, "warm", TRIVIAL), calls)
            memory = await idle_memory(invoker, root, 8)
        direct_us = direct_calls(calls)
        cores = usable_cpus()
        one = await cpu_throughput(root, 1, 200)
        many = await cpu_throughput(root, max(2, cores), 200)
        pings = await ping_while_holding(root)
    cold_p50, cold_p99 = quantiles(cold_ms)
    warm_p50, warm_p99 = quantiles(warm_us)
    direct_p50 = statistics.median(direct_us)
    overhead = warm_p50 - direct_p50
    print(f"launcher: {launcher}; {cores} cores")
    print(f"new environment to first result: p50 {cold_p50:.1f} ms, p99 {cold_p99:.1f} ms (target p50 <= 30 ms)")
    print(f"warm call: p50 {warm_p50:.0f} us, p99 {warm_p99:.0f} us; direct call p50 {direct_p50:.1f} us")
    print(f"warm-call overhead p50: {overhead:.0f} us (target <= 150 us)")
    if memory:
        rss = statistics.median(m[0] for m in memory)
        pss = statistics.median(m[1] for m in memory)
        print(
            f"idle environment: RSS {rss:.1f} MB, PSS {pss:.1f} MB (median of {len(memory)}; PSS shares the template's pages)"
        )
    ratio = many / one
    print(
        f"CPU-bound 5 ms handler: {one:.0f} calls/s with 1 environment, {many:.0f}/s with {max(2, cores)}: {ratio:.2f}x (target >= 1.6x)"
    )
    ping_p50, ping_p99 = quantiles(pings)
    print(
        f"get /ping while another function holds its GIL 8 s: p50 {ping_p50:.1f} ms, p99 {ping_p99:.1f} ms over {len(pings)} requests (target p99 < 20 ms)"
    )
    met = cold_p50 <= 30 and overhead <= 150 and ratio >= 1.6 and ping_p99 < 20
    print("all targets met" if met else "MISSES a target (see above; figures on a busy machine are noisy)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=40)
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:  # the loop `arc-sandbox start` runs on
        sys.exit(runner.run(main(args.calls, args.cold)))
