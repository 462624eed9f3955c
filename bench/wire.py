"""SNS Publish and SQS SendMessage through boto3: this sandbox's wire APIs vs moto's server, side by side.

Run: `python bench/wire.py [--ops 1000] [--rounds 3]`. Loopback only, about a minute.

The sandbox runs the way a developer runs it (a whole `Sandbox` in its own process, durable queue
messages in SQLite); moto's `ThreadedMotoServer` in another. Each topic has one subscriber: a
trivial function in the sandbox (in its own worker process), an SQS queue in moto; the queue has
no handler (read by clients), as moto's queue has none. The servers take turns every 50 operations so noise
falls on both, and the median of the rounds' ratios is printed (target >= 5x).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/http.py would shadow http
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))  # last, after the stdlib: for child_server beside this file

import boto3
from child_server import moto_process, pin, rates_taking_turns, serving, split_cores, until_stopped

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
APP = "@app\nwire-bench\n\n@events\nping\n\n@queues\ninbox\n  fifo false\n"


def _sandbox_process(folder: str, cores: set[int] | None, pipe: Connection) -> None:
    pin(cores)
    app = Path(folder)
    (app / "src" / "events" / "ping").mkdir(parents=True)
    (app / "src" / "events" / "ping" / "lambda.py").write_text("def handler(event, context):\n    return None\n")
    (app / "app.arc").write_text(APP)

    async def serve() -> None:
        config = SandboxConfig.ephemeral(app, memory=False, db_path=app / "bench.db")
        async with Sandbox(config, logger=logging.getLogger("bench-quiet")) as sandbox:
            pipe.send(sandbox.ports["events"])
            await until_stopped(pipe)

    logging.getLogger("bench-quiet").setLevel(logging.ERROR)
    asyncio.run(serve())


def operations(port: int, *, moto: bool) -> dict[str, Callable[[int], Any]]:
    url = f"http://127.0.0.1:{port}"
    sns: Any = boto3.client("sns", endpoint_url=url, **KEYS)
    sqs: Any = boto3.client("sqs", endpoint_url=url, **KEYS)
    if moto:
        topic = sns.create_topic(Name="wire-bench-ping")["TopicArn"]
        queue = sqs.create_queue(QueueName="wire-bench-inbox")["QueueUrl"]
        # One subscriber on each side: moto delivers each Publish to a queue, the sandbox to a function.
        tap = sqs.create_queue(QueueName="wire-bench-tap")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=tap_arn)
    else:
        topic = sns.list_topics()["Topics"][0]["TopicArn"]
        queue = sqs.get_queue_url(QueueName="inbox")["QueueUrl"]
    body = '{"task": "' + "x" * 100 + '"}'
    return {
        "Publish": lambda i: sns.publish(TopicArn=topic, Message=body),
        "SendMessage": lambda i: sqs.send_message(QueueUrl=queue, MessageBody=body),
    }


def interleaved_rates(ports: dict[str, int], ops: int) -> dict[str, dict[str, float]]:
    servers = {name: operations(port, moto=name == "moto") for name, port in ports.items()}
    rates: dict[str, dict[str, float]] = {name: {} for name in servers}
    for op in ("Publish", "SendMessage"):
        for name, rate in rates_taking_turns(servers, op, ops).items():
            rates[name][op] = rate
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="operations per kind, server and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    split = split_cores()
    server_cores, client_cores = split if split else (None, None)
    ratios: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        serving(_sandbox_process, str(Path(tmp) / "app"), server_cores) as sandbox_port,
        serving(moto_process, server_cores) as moto_port,
    ):
        pin(client_cores)
        print(f"{'operation':<22} {'sandbox ops/s':>14} {'moto ops/s':>11} {'ratio':>7}")
        for n in range(1, args.rounds + 1):
            rates = interleaved_rates({"sandbox": sandbox_port, "moto": moto_port}, args.ops)
            for op, ours in rates["sandbox"].items():
                theirs = rates["moto"][op]
                ratios.setdefault(op, []).append(ours / theirs)
                print(f"{f'round {n}: {op}':<22} {ours:>14.0f} {theirs:>11.0f} {ours / theirs:>6.2f}x")
    for op, values in ratios.items():
        rounds = ", ".join(f"{r:.2f}x" for r in values)
        print(f"{op}: median {statistics.median(values):.2f}x moto's ops/s (rounds {rounds}; target >= 5x)")


if __name__ == "__main__":
    main()
