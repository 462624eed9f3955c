"""DynamoDB endpoint benchmark: boto3 against this sandbox vs moto's server, and Query cost vs table size.

Run: `python bench/tables.py [--ops 1000]`. Loopback only, bounded in time (about a minute or two).

1. PutItem, GetItem and Query ops/s through one boto3 client, sequentially, against this sandbox's
   endpoint and moto's `ThreadedMotoServer` in the same run, each server in its own process (as a
   sandbox is, next to the tests that call it). The servers take turns every 50 operations, so a
   burst of noise on a shared machine falls on all of them, and the median of three rounds' ratios is
   printed (target >= 2x). With two cores or more, the servers share one core and the client
   has another. The floor column is a server that answers `{}` at once: the most any server could
   reach through boto3, so the sandbox's own share of each call shows.
2. Query p50 latency (the store's `query`, in-process, so HTTP noise does not hide the index) on a
   1,000-item table and on a 1,000,000-item table bulk-loaded straight into SQLite (target within 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, this folder would come first on sys.path, and bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import boto3
from aiohttp import web
from moto.server import ThreadedMotoServer

from sandbox.clock import SystemClock
from sandbox.db import Database
from sandbox.dynamo import storage
from sandbox.dynamo.protocol import dynamo_routes
from sandbox.dynamo.types import item_size
from sandbox.store import TableStore

KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
TABLE: Any = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
PER_PARTITION = 100


def _pin(cores: set[int] | None) -> None:
    if cores:
        os.sched_setaffinity(0, cores)


def split_cores() -> tuple[set[int], set[int]] | None:
    """(the servers' core, the client's cores) where there are two or more; None otherwise."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return ({cores[0]}, set(cores[1:])) if len(cores) >= 2 else None


async def _serve_until_stopped(app: web.Application, pipe: Connection) -> None:
    """Serve `app` on a free loopback port, send the port up `pipe`, and stop when the parent says so."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    pipe.send(runner.addresses[0][1])
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    await runner.cleanup()


def _sandbox_process(path: str, cores: set[int] | None, pipe: Connection) -> None:
    """Child process: the sandbox's DynamoDB endpoint until the parent says stop (own GIL, like a real sandbox)."""
    _pin(cores)

    async def serve() -> None:
        async with Database(Path(path)) as db:
            store = TableStore(db, clock=SystemClock(), app_name="bench")
            await store.start()
            app = web.Application()
            app.add_routes(dynamo_routes(store))
            await _serve_until_stopped(app, pipe)
            await store.stop()

    asyncio.run(serve())


def _floor_process(cores: set[int] | None, pipe: Connection) -> None:
    """Child process: a server that answers every DynamoDB call with `{}` at once, so the rate through
    it is the most any server could reach with this client: the cost of boto3 and HTTP alone."""
    _pin(cores)

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        body = b"{}"
        headers = {"x-amz-crc32": str(zlib.crc32(body))}
        return web.Response(body=body, content_type="application/x-amz-json-1.0", headers=headers)

    app = web.Application()
    app.router.add_post("/", answer)
    asyncio.run(_serve_until_stopped(app, pipe))


def _moto_process(cores: set[int] | None, pipe: Connection) -> None:
    _pin(cores)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    pipe.send(server.get_host_and_port()[1])
    pipe.recv()
    server.stop()


@contextlib.contextmanager
def serving(target: Callable[..., None], *args: Any) -> Iterator[int]:
    """Run a server in a child process; yield its port."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(*args, child), daemon=True)
    process.start()
    try:
        port: int = parent.recv()
        yield port
    finally:
        parent.send("stop")
        process.join(timeout=10)


BLOCK = 50  # operations in a row against one server before the next server's turn


def _operations(client: Any, table: str) -> dict[str, Callable[[int], Any]]:
    def put(i: int) -> Any:
        item = {"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}, "n": {"N": str(i * 3)}}
        return client.put_item(TableName=table, Item=item)

    def get(i: int) -> Any:
        return client.get_item(TableName=table, Key={"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}})

    def query(i: int) -> Any:
        values = {":p": {"S": f"p{i % 50}"}, ":a": {"N": str(i)}}
        return client.query(
            TableName=table,
            KeyConditionExpression="pk = :p AND sk >= :a",
            ExpressionAttributeValues=values,
            Limit=10,
        )

    return {"PutItem": put, "GetItem": get, "Query": query}


def interleaved_rates(urls: dict[str, str], ops: int, table: str) -> dict[str, dict[str, float]]:
    """ops/s of each operation on each server. The servers take turns every BLOCK operations, so a
    burst of noise from the shared machine falls on all of them rather than on one."""
    servers = {}
    for name, url in urls.items():
        client: Any = boto3.client("dynamodb", endpoint_url=url, **KEYS)
        client.create_table(TableName=table, **TABLE)
        servers[name] = _operations(client, table)
    rates: dict[str, dict[str, float]] = {name: {} for name in servers}
    for op in ("PutItem", "GetItem", "Query"):
        elapsed = dict.fromkeys(servers, 0.0)
        for operations in servers.values():
            for i in range(min(BLOCK, ops)):  # warm up connections and caches
                operations[op](i)
        for first in range(0, ops, BLOCK):
            for name, operations in servers.items():
                started = time.perf_counter()
                for i in range(first, min(first + BLOCK, ops)):
                    operations[op](i)
                elapsed[name] += time.perf_counter() - started
        for name in servers:
            rates[name][op] = ops / elapsed[name]
    return rates


async def bulk_load(store: TableStore, name: str, count: int) -> None:
    """Create `name` and write `count` items straight into SQLite in one transaction (executemany)."""
    await store.call("CreateTable", {"TableName": name, **TABLE})
    table = store.ctx.catalog.get(name)
    batch: list[tuple[Any, ...]] = []
    async with store.ctx.db.transaction() as conn:
        for i in range(count):
            item = {"pk": {"S": f"p{i // PER_PARTITION}"}, "sk": {"N": str(i % PER_PARTITION)}, "v": {"S": "x" * 50}}
            pk, sk = storage.row_key(table, item)
            batch.append((table.id, pk, sk, storage.dumps(item), item_size(item), storage.bucket(pk), None))
            if len(batch) == 50_000:
                await conn.executemany("INSERT INTO dynamo_items VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
        await conn.executemany("INSERT INTO dynamo_items VALUES (?, ?, ?, ?, ?, ?, ?)", batch)


async def query_p50(store: TableStore, name: str, count: int, samples: int) -> float:
    partitions = count // PER_PARTITION
    rng = random.Random(7)
    timings = []
    for _ in range(samples):
        values = {":p": {"S": f"p{rng.randrange(partitions)}"}, ":a": {"N": "40"}, ":b": {"N": "49"}}
        request = {
            "TableName": name,
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": values,
        }
        start = time.perf_counter()
        out = await store.call("Query", request)
        timings.append(time.perf_counter() - start)
        assert out["Count"] == 10, out["Count"]
    return statistics.median(timings)


async def scaling(path: Path, big: int, samples: int) -> tuple[float, float, float]:
    async with Database(path) as db:
        store = TableStore(db, clock=SystemClock(), app_name="scale")
        await store.start()
        started = time.perf_counter()
        await bulk_load(store, "small", 1_000)
        await bulk_load(store, "big", big)
        loaded = time.perf_counter() - started
        await query_p50(store, "big", big, 50)  # warm the page cache for both
        small = await query_p50(store, "small", 1_000, samples)
        large = await query_p50(store, "big", big, samples)
        await store.stop()
    return small, large, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="operations per kind, endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", type=int, default=1_000_000, help="items in the big table")
    parser.add_argument("--samples", type=int, default=500, help="queries per table for the p50")
    args = parser.parse_args()
    split = split_cores()
    server_cores, client_cores = split if split else (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        with (
            serving(_sandbox_process, str(Path(tmp) / "endpoint.db"), server_cores) as sandbox_port,
            serving(_moto_process, server_cores) as moto_port,
            serving(_floor_process, server_cores) as floor_port,
        ):
            _pin(client_cores)
            ratios: dict[str, list[float]] = {}
            print(f"{'operation':<18} {'sandbox ops/s':>14} {'moto ops/s':>11} {'ratio':>7} {'floor ops/s':>12}")
            for n in range(1, args.rounds + 1):
                ports = {"sandbox": sandbox_port, "moto": moto_port, "floor": floor_port}
                rates = interleaved_rates({k: f"http://127.0.0.1:{p}" for k, p in ports.items()}, args.ops, f"bench{n}")
                ours, theirs, floor = rates["sandbox"], rates["moto"], rates["floor"]
                for op in ours:
                    ratios.setdefault(op, []).append(ours[op] / theirs[op])
                    label = f"round {n}: {op}"
                    row = f"{ours[op]:>14.0f} {theirs[op]:>11.0f} {ours[op] / theirs[op]:>6.2f}x {floor[op]:>12.0f}"
                    print(f"{label:<18} {row}")
            if split:
                os.sched_setaffinity(0, split[0] | split[1])
        for op, values in ratios.items():
            rounds = ", ".join(f"{r:.2f}x" for r in values)
            print(f"{op}: median {statistics.median(values):.2f}x moto's ops/s (rounds {rounds})")
        small, large, loaded = asyncio.run(scaling(Path(tmp) / "scale.db", args.big, args.samples))
    print(f"bulk load of {args.big:,} + 1,000 items: {loaded:.1f} s")
    print(
        f"Query p50 (10 of 100 items in a partition): 1,000 items {small * 1e3:.3f} ms, "
        f"{args.big:,} items {large * 1e3:.3f} ms, ratio {large / small:.2f}x"
    )


if __name__ == "__main__":
    main()
