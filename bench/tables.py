"""DynamoDB endpoint benchmark: boto3 against this sandbox vs moto's server, and Query cost vs table size.

Run: `python bench/tables.py [--ops 1000]`. Loopback only, bounded in time (about a minute or two).

1. PutItem, GetItem and Query ops/s through one boto3 client, sequentially, against this sandbox's
   endpoint and moto's `ThreadedMotoServer` in the same run; the ratio is printed (target >= 2x).
2. Query p50 latency (the store's `query`, in-process, so HTTP noise does not hide the index) on a
   1,000-item table and on a 1,000,000-item table bulk-loaded straight into SQLite (target within 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
from aiohttp import web
from moto.server import ThreadedMotoServer
from sandbox.dynamo.types import item_size

from sandbox.clock import SystemClock
from sandbox.db import Database
from sandbox.dynamo import storage
from sandbox.dynamo.protocol import dynamo_routes
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


class Server:
    """The sandbox's DynamoDB endpoint on its own loop in a thread (boto3 is synchronous)."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.db = Database(path)
        self.runner: web.AppRunner | None = None

    def run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result()

    async def _start(self) -> int:
        await self.db.open()
        self.store = TableStore(self.db, clock=SystemClock(), app_name="bench")
        await self.store.start()
        app = web.Application()
        app.add_routes(dynamo_routes(self.store))
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        port: int = self.runner.addresses[0][1]
        return port

    async def _stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
        await self.store.stop()
        await self.db.close()

    def start(self) -> int:
        self.thread.start()
        port: int = self.run(self._start())
        return port

    def stop(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


def _rate(fn: Callable[[int], Any], ops: int) -> float:
    for i in range(min(50, ops)):  # warm up connections and caches
        fn(i)
    start = time.perf_counter()
    for i in range(ops):
        fn(i)
    return ops / (time.perf_counter() - start)


def endpoint_rates(url: str, ops: int) -> dict[str, float]:
    client: Any = boto3.client("dynamodb", endpoint_url=url, **KEYS)
    client.create_table(TableName="bench", **TABLE)

    def put(i: int) -> Any:
        item = {"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}, "n": {"N": str(i * 3)}}
        return client.put_item(TableName="bench", Item=item)

    def get(i: int) -> Any:
        return client.get_item(TableName="bench", Key={"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}})

    def query(i: int) -> Any:
        values = {":p": {"S": f"p{i % 50}"}, ":a": {"N": str(i)}}
        return client.query(
            TableName="bench",
            KeyConditionExpression="pk = :p AND sk >= :a",
            ExpressionAttributeValues=values,
            Limit=10,
        )

    return {"PutItem": _rate(put, ops), "GetItem": _rate(get, ops), "Query": _rate(query, ops)}


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
    parser.add_argument("--ops", type=int, default=1000, help="operations per kind and endpoint")
    parser.add_argument("--big", type=int, default=1_000_000, help="items in the big table")
    parser.add_argument("--samples", type=int, default=500, help="queries per table for the p50")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "endpoint.db")
        port = server.start()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        try:
            ours = endpoint_rates(f"http://127.0.0.1:{port}", args.ops)
            theirs = endpoint_rates(f"http://127.0.0.1:{moto.get_host_and_port()[1]}", args.ops)
        finally:
            server.stop()
            moto.stop()
        print(f"{'operation':<10} {'sandbox ops/s':>14} {'moto ops/s':>11} {'ratio':>7}")
        for op in ours:
            print(f"{op:<10} {ours[op]:>14.0f} {theirs[op]:>11.0f} {ours[op] / theirs[op]:>6.2f}x")
        small, large, loaded = asyncio.run(scaling(Path(tmp) / "scale.db", args.big, args.samples))
    print(f"bulk load of {args.big:,} + 1,000 items: {loaded:.1f} s")
    print(
        f"Query p50 (10 of 100 items in a partition): 1,000 items {small * 1e3:.3f} ms, "
        f"{args.big:,} items {large * 1e3:.3f} ms, ratio {large / small:.2f}x"
    )


if __name__ == "__main__":
    main()
