"""DynamoDB endpoint benchmark: boto3 against this sandbox vs moto's server, and Query cost vs table size.

Run: `python bench/tables.py [--ops 1000] [--only raw ...]`. Loopback only, bounded in time (about a minute or two).

1. PutItem, GetItem and Query ops/s through one boto3 client, sequentially, against this sandbox's
   endpoint and moto's `ThreadedMotoServer` in the same run, each server in its own process (as a
   sandbox is, next to the tests that call it). The servers take turns every 50 operations, so a
   burst of noise on a shared machine falls on all of them, and the median of three rounds' ratios is
   printed (target >= 2x). With two cores or more, the servers share one core and the client
   has another. The floor column is a server that answers `{}` at once: the most any server could
   reach through boto3, so the sandbox's own share of each call shows.
   Rows off the fast path follow: PutItem on a table with a GSI (and with an LSI, skipped while the
   sandbox has none), a conditional PutItem, UpdateItem with an expression, Query on a GSI. dynalite
   (the npm package Architect's sandbox runs, with node; installed into bench/.dynalite on first use)
   joins every round where node and npm are present.
2. Raw HTTP: PutItem and GetItem ops/s of requests signed ahead of time and sent by wrk (Debian's
   package; 8 keep-alive connections, the servers taking turns) so that neither boto3 nor the client
   bounds the rate; without wrk, by the light Python client in bench/dynamo_wire.py, which does bound it.
   The sandbox vs dynalite (target >= 3x) and moto's server (target >= 10x). The `{}` floor server, an
   aiohttp web application that does nothing, is timed beside them, and under wrk the tables port's own
   ceiling too: its health check (`GET /`, fixed bytes, no DynamoDB work) on the same server.
3. 10,000 items loaded with BatchWriteItem and queried back (every page) through boto3, the sandbox
   vs dynalite (and moto), median of three (target: at least as fast as dynalite).
4. Query p50 latency (the store's `query`, in-process, so HTTP noise does not hide the index) on a
   1,000-item table and on a 1,000,000-item table bulk-loaded straight into SQLite (target within 2x).

Any error answer from any server ends the run with exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, this folder would come first on sys.path, and bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))  # last, after the stdlib: for dynamo_wire beside this file

import boto3
import botocore.exceptions
import dynamo_wire
from aiohttp import web
from child_server import moto_process, pin, rates_taking_turns, serve_until_stopped, serving, split_cores, until_stopped

from sandbox.clock import SystemClock
from sandbox.db import Database
from sandbox.dynamodb import storage
from sandbox.dynamodb.item_json import dumps
from sandbox.dynamodb.protocol import DynamoEndpoint
from sandbox.dynamodb.types import item_size
from sandbox.guard import HostPolicy
from sandbox.server import Limits, Listeners
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


def _sandbox_process(path: str, cores: set[int] | None, pipe: Connection) -> None:
    """Child process: the sandbox's DynamoDB endpoint until the parent says stop (own GIL, like a real sandbox)."""
    pin(cores)

    async def serve() -> None:
        async with Database(Path(path)) as db:
            store = TableStore(db, clock=SystemClock(), app_name="bench")
            await store.start()
            # The tables port as a sandbox serves it: its own HTTP server, with every port's protections.
            listeners = Listeners(limits=Limits(), policy=HostPolicy(), logger=logging.getLogger("arc_sandbox.server"))
            pipe.send(await listeners.listen_tables(DynamoEndpoint(store), host="127.0.0.1", port=0))
            await until_stopped(pipe)
            await listeners.close()
            await store.stop()

    asyncio.run(serve())


def _floor_process(cores: set[int] | None, pipe: Connection) -> None:
    """Child process: a server that answers every DynamoDB call with `{}` at once, so the rate through
    it is the most any server could reach with this client: the cost of boto3 and HTTP alone."""
    pin(cores)

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        body = b"{}"
        headers = {"x-amz-crc32": str(zlib.crc32(body))}
        return web.Response(body=body, content_type="application/x-amz-json-1.0", headers=headers)

    app = web.Application()
    app.router.add_post("/", answer)
    asyncio.run(serve_until_stopped(app, pipe))


GSI: Any = {
    "AttributeDefinitions": [*TABLE["AttributeDefinitions"], {"AttributeName": "g", "AttributeType": "S"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}
LSI: Any = {
    "AttributeDefinitions": [*TABLE["AttributeDefinitions"], {"AttributeName": "l", "AttributeType": "S"}],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "byL",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}


def _item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}, "n": {"N": str(i * 3)}}


def _create_tables(client: Any, table: str) -> bool:
    """The plain table, one with a GSI, and one with an LSI where the server has LSIs; returns whether it has."""
    client.create_table(TableName=table, **TABLE)
    client.create_table(TableName=f"{table}-gsi", **{**TABLE, **GSI})
    try:  # the hook for the LSI row: it runs once the server takes LocalSecondaryIndexes
        client.create_table(TableName=f"{table}-lsi", **{**TABLE, **LSI})
    except botocore.exceptions.ClientError:
        return False
    return True


def _operations(client: Any, table: str) -> dict[str, Callable[[int], Any]]:
    """Each operation the boto3 rows time, by row name; rows that are not the fast path come after the first three."""

    def put(i: int) -> Any:
        return client.put_item(TableName=table, Item=_item(i))

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

    def put_gsi(i: int) -> Any:
        return client.put_item(TableName=f"{table}-gsi", Item={**_item(i), "g": {"S": f"g{i % 20}"}})

    def put_lsi(i: int) -> Any:
        return client.put_item(TableName=f"{table}-lsi", Item={**_item(i), "l": {"S": f"l{i}"}})

    def put_conditional(i: int) -> Any:
        return client.put_item(
            TableName=table,
            Item=_item(i),
            ConditionExpression="attribute_not_exists(pk) OR n < :big",
            ExpressionAttributeValues={":big": {"N": "1000000000"}},
        )

    def update(i: int) -> Any:
        return client.update_item(
            TableName=table,
            Key={"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}},
            UpdateExpression="SET v = :v, n = n + :one ADD hits :one",
            ExpressionAttributeValues={":v": {"S": "y" * 100}, ":one": {"N": "1"}},
        )

    def query_gsi(i: int) -> Any:
        return client.query(
            TableName=f"{table}-gsi",
            IndexName="byG",
            KeyConditionExpression="g = :g AND sk >= :a",
            ExpressionAttributeValues={":g": {"S": f"g{i % 20}"}, ":a": {"N": str(i)}},
            Limit=10,
        )

    return {
        "PutItem": put,
        "GetItem": get,
        "Query": query,
        "PutItem, GSI": put_gsi,
        "PutItem, LSI": put_lsi,
        "PutItem, condition": put_conditional,
        "UpdateItem, expr": update,
        "Query, GSI": query_gsi,
    }


def interleaved_rates(urls: dict[str, str], ops: int, table: str) -> dict[str, dict[str, float]]:
    """ops/s of each operation on each server. The servers take turns every BLOCK operations, so a
    burst of noise from the shared machine falls on all of them rather than on one."""
    servers = {}
    with_lsi = True
    for name, url in urls.items():
        client: Any = boto3.client("dynamodb", endpoint_url=url, **KEYS)
        has_lsi = _create_tables(client, table)
        with_lsi = with_lsi and (has_lsi or name == "floor")
        servers[name] = _operations(client, table)
    rates: dict[str, dict[str, float]] = {name: {} for name in servers}
    for op in next(iter(servers.values())):
        if op == "PutItem, LSI" and not with_lsi:
            continue  # a server without LocalSecondaryIndexes: the row waits for them
        for name, rate in rates_taking_turns(servers, op, ops).items():
            rates[name][op] = rate
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
            batch.append((table.id, pk, sk, dumps(item), item_size(item), storage.bucket(pk), None))
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


def raw_rates(ports: dict[str, int], ops: int, concurrency: int, table: str) -> dict[str, dict[str, float]]:
    """ops/s of raw PutItem and GetItem on each server: pre-signed requests from the light client, the
    servers taking turns in blocks so that noise falls on all of them."""
    for port in ports.values():
        dynamo_wire.call(port, "CreateTable", {"TableName": table, **TABLE})
    puts, gets = _raw_bodies(table, ops)
    rates: dict[str, dict[str, float]] = {name: {} for name in ports}
    block = max(ops // 5, 1)
    for op, bodies in (("PutItem", puts), ("GetItem", gets)):
        signed = {name: dynamo_wire.presign(port, op, bodies) for name, port in ports.items()}
        elapsed = dict.fromkeys(ports, 0.0)
        for first in range(0, ops, block):
            for name, port in ports.items():
                elapsed[name] += asyncio.run(
                    dynamo_wire.send_all(port, signed[name][first : first + block], concurrency)
                )
        for name in ports:
            rates[name][op] = ops / elapsed[name]
    return rates


def wrk_rates(
    ports: dict[str, int], seconds: float, concurrency: int, table: str, cores: set[int] | None
) -> dict[str, dict[str, float]]:
    """ops/s of raw PutItem and GetItem on each server with wrk as the client: the servers take turns of
    a fifth of `seconds` each. Every item the GetItems ask for is stored first, on every server."""
    distinct = 1000  # requests wrk cycles through: moto stores them all in a few seconds
    for port in ports.values():
        dynamo_wire.call(port, "CreateTable", {"TableName": table, **TABLE})
    puts, gets = _raw_bodies(table, distinct)
    rates: dict[str, dict[str, float]] = {name: {} for name in ports}
    signed_puts = {name: dynamo_wire.presign(port, "PutItem", puts) for name, port in ports.items()}
    for op, bodies in (("PutItem", puts), ("GetItem", gets)):
        signed = signed_puts if op == "PutItem" else {n: dynamo_wire.presign(p, op, bodies) for n, p in ports.items()}
        if op == "GetItem":
            for name, port in ports.items():
                asyncio.run(dynamo_wire.send_all(port, signed_puts[name], concurrency))
        served = dict.fromkeys(ports, 0.0)
        for _ in range(5):
            for name, port in ports.items():
                served[name] += dynamo_wire.wrk_rate(port, signed[name], seconds / 5, concurrency, cores) / 5
        rates.update({name: {**rates[name], op: served[name]} for name in ports})
    health = [f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{ports['sandbox']}\r\n\r\n".encode()]
    ceiling = sum(dynamo_wire.wrk_rate(ports["sandbox"], health, seconds / 5, concurrency, cores) for _ in range(5)) / 5
    rates["sandbox GET /"] = {"PutItem": ceiling, "GetItem": ceiling}
    return rates


def _raw_bodies(table: str, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    puts = [{"TableName": table, "Item": _item(i)} for i in range(count)]
    gets = [{"TableName": table, "Key": {"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}}} for i in range(count)]
    return puts, gets


def bulk_rows(urls: dict[str, str], items: int, repeats: int = 3) -> dict[str, tuple[float, float]]:
    """(seconds to load `items` with BatchWriteItem, seconds to Query them all back, every page) through
    boto3: the median of `repeats` loads (into fresh tables) and queries, the servers taking turns."""
    clients: dict[str, Any] = {name: boto3.client("dynamodb", endpoint_url=url, **KEYS) for name, url in urls.items()}
    loads: dict[str, list[float]] = {name: [] for name in urls}
    queries: dict[str, list[float]] = {name: [] for name in urls}
    for n in range(repeats):
        for name, client in clients.items():
            table = f"bulk{n}"
            client.create_table(TableName=table, **TABLE)
            started = time.perf_counter()
            for first in range(0, items, 25):
                batch = [
                    {"PutRequest": {"Item": {**_item(i), "pk": {"S": "bulk"}}}}
                    for i in range(first, min(first + 25, items))
                ]
                if client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems"):
                    raise dynamo_wire.BenchError(f"{name} left items unprocessed")
            loads[name].append(time.perf_counter() - started)
        for name, client in clients.items():
            started = time.perf_counter()
            pages = client.get_paginator("query").paginate(
                TableName=f"bulk{n}", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "bulk"}}
            )
            count = sum(page["Count"] for page in pages)
            queries[name].append(time.perf_counter() - started)
            if count != items:
                raise dynamo_wire.BenchError(f"{name} queried {count} of {items} items")
    return {name: (statistics.median(loads[name]), statistics.median(queries[name])) for name in urls}


def _print_boto3_rounds(args: argparse.Namespace, ports: dict[str, int]) -> None:
    names = [n for n in ("sandbox", "moto", "dynalite", "floor") if n in ports]
    print("through boto3, one client, sequential (ops/s)")
    print(f"{'operation':<28}" + "".join(f"{n:>10}" for n in names) + f"{'vs moto':>9}{'vs dyn.':>9}")
    ratios: dict[str, dict[str, list[float]]] = {}
    for n in range(1, args.rounds + 1):
        rates = interleaved_rates({k: f"http://127.0.0.1:{p}" for k, p in ports.items()}, args.ops, f"bench{n}")
        for op in rates["sandbox"]:
            ours = rates["sandbox"][op]
            row = "".join(f"{rates[name][op]:>10.0f}" for name in names)
            for peer in ("moto", "dynalite"):
                if peer in rates:
                    ratios.setdefault(op, {}).setdefault(peer, []).append(ours / rates[peer][op])
            vs = [f"{ours / rates[p][op]:>8.2f}x" if p in rates else f"{'-':>9}" for p in ("moto", "dynalite")]
            print(f"{f'round {n}: {op}':<28}{row}{''.join(vs)}")
    for op, peers in ratios.items():
        medians = ", ".join(f"{statistics.median(v):.2f}x {peer}'s" for peer, v in peers.items())
        print(f"{op}: median {medians} ops/s")
    skipped = "PutItem, LSI" not in ratios
    if skipped:
        print("PutItem, LSI: skipped, the sandbox has no LocalSecondaryIndexes yet")


GROUPS = ("boto3", "raw", "bulk", "scaling")  # the row groups of the docstring, 1 to 4


def _print_raw(args: argparse.Namespace, servers: dict[str, int], client_cores: set[int] | None) -> None:
    """The floor server is timed too: the most an aiohttp server reaches under this client on this machine."""
    if shutil.which("wrk"):
        raw = wrk_rates(servers, args.raw_seconds, args.concurrency, "raw", client_cores)
        client = f"wrk, {args.concurrency} connections, {args.raw_seconds:g} s per kind and server"
    else:
        raw = raw_rates(servers, args.raw_ops, args.concurrency, "raw")
        client = f"the Python client ({args.concurrency} connections; install wrk for a client that is not the limit)"
    print(f"raw HTTP, pre-signed, {client} (ops/s)")
    for op in ("PutItem", "GetItem"):
        row = ", ".join(f"{name} {rates[op]:,.0f}" for name, rates in raw.items())
        vs = ", ".join(f"{raw['sandbox'][op] / raw[p][op]:.2f}x {p}" for p in ("dynalite", "moto") if p in raw)
        print(f"raw {op}: {row}; sandbox = {vs}")


def _print_bulk(args: argparse.Namespace, servers: dict[str, int]) -> None:
    bulk = bulk_rows({k: f"http://127.0.0.1:{p}" for k, p in servers.items()}, args.bulk)
    for name, (loaded, queried) in bulk.items():
        print(
            f"{name}: BatchWriteItem {args.bulk:,} items {loaded:.2f} s, Query of all {args.bulk:,} "
            f"{queried * 1e3:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="operations per kind, endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raw-ops", type=int, default=5000, help="raw HTTP requests per kind and server")
    parser.add_argument("--raw-seconds", type=float, default=5, help="seconds of wrk load per kind and server")
    parser.add_argument("--concurrency", type=int, default=8, help="connections of the raw HTTP client")
    parser.add_argument("--bulk", type=int, default=10_000, help="items loaded by BatchWriteItem and queried back")
    parser.add_argument("--big", type=int, default=1_000_000, help="items in the big table")
    parser.add_argument("--samples", type=int, default=500, help="queries per table for the p50")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=GROUPS,
        default=list(GROUPS),
        help="run only these groups of rows (each measured as in a full run)",
    )
    args = parser.parse_args()
    split = split_cores()
    server_cores, client_cores = split if split else (None, None)
    cli = dynamo_wire.dynalite_cli()
    if cli is None:
        print("dynalite: not run (node and npm are needed to install and run it)")
    with tempfile.TemporaryDirectory() as tmp:
        with (
            serving(_sandbox_process, str(Path(tmp) / "endpoint.db"), server_cores) as sandbox_port,
            serving(moto_process, server_cores) as moto_port,
            serving(_floor_process, server_cores) as floor_port,
            dynamo_wire.dynalite(cli, server_cores) if cli else contextlib.nullcontext(0) as dynalite_port,
        ):
            pin(client_cores)
            ports = {"sandbox": sandbox_port, "moto": moto_port, "floor": floor_port}
            if dynalite_port:
                ports["dynalite"] = dynalite_port
            if "boto3" in args.only:
                _print_boto3_rounds(args, ports)
            servers = {k: v for k, v in ports.items() if k != "floor"}
            if "raw" in args.only:
                _print_raw(args, ports, client_cores)
            if "bulk" in args.only:
                _print_bulk(args, servers)
            if split:
                os.sched_setaffinity(0, split[0] | split[1])
        if "scaling" in args.only:
            small, large, loaded = asyncio.run(scaling(Path(tmp) / "scale.db", args.big, args.samples))
            print(f"bulk load of {args.big:,} + 1,000 items: {loaded:.1f} s")
            print(
                f"Query p50 (10 of 100 items in a partition): 1,000 items {small * 1e3:.3f} ms, "
                f"{args.big:,} items {large * 1e3:.3f} ms, ratio {large / small:.2f}x"
            )


if __name__ == "__main__":
    try:
        main()
    except (dynamo_wire.BenchError, botocore.exceptions.ClientError) as error:  # any error answer fails the run
        print(f"bench/tables.py: {error}", file=sys.stderr)
        sys.exit(1)
