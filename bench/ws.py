"""@ws round trips: a message to the sandbox, its `default` function, the reply back through the Management API.

Run: `python bench/ws.py [--messages 2000] [--clients 1,8]`. Loopback only, under a minute.

The `default` function answers with `sandbox.arc.ws.send` (a PostToConnection, over the function's
own channel to the sandbox), the way an Architect app answers. The baseline in the same run is a bare aiohttp WebSocket echo
server, the most an aiohttp-based server could do with no function in between. Each client keeps
one message in flight; with several clients the rounds overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/http.py would shadow http
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))  # last, after the stdlib: for child_server beside this file

import aiohttp
from aiohttp import web
from child_server import serve_until_stopped, serving, until_stopped

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

APP = "@app\nws-bench\n\n@ws\n"
HANDLERS = {
    "connect": "def handler(event, context):\n    return {'statusCode': 200}\n",
    "disconnect": "def handler(event, context):\n    return None\n",
    "default": (
        "from sandbox import arc\n\n"
        "def handler(event, context):\n"
        "    arc.ws.send(event['requestContext']['connectionId'], event['body'])\n"
        "    return {'statusCode': 200}\n"
    ),
}


def _sandbox_process(folder: str, pipe: Connection) -> None:
    app = Path(folder)
    for name, source in HANDLERS.items():
        (app / "src" / "ws" / name).mkdir(parents=True)
        (app / "src" / "ws" / name / "lambda.py").write_text(source)
    (app / "app.arc").write_text(APP)
    logging.getLogger("bench-quiet").setLevel(logging.ERROR)

    async def serve() -> None:
        async with Sandbox(SandboxConfig.ephemeral(app), logger=logging.getLogger("bench-quiet")) as sandbox:
            pipe.send(sandbox.ports["http"])
            await until_stopped(pipe)

    asyncio.run(serve())


def _echo_process(pipe: Connection) -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            await socket.send_str(message.data)
        return socket

    app = web.Application()
    app.router.add_get("/", echo)
    asyncio.run(serve_until_stopped(app, pipe))


async def round_trips(port: int, messages: int, clients: int) -> float:
    """Messages per second, each client sending its next message once the previous one came back."""
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(f"ws://127.0.0.1:{port}/") for _ in range(clients)]

        async def client(socket: aiohttp.ClientWebSocketResponse, count: int) -> None:
            for n in range(count):
                await socket.send_str(f'"m{n}"')
                await socket.receive(timeout=30)

        await asyncio.gather(*(client(s, 20) for s in sockets))  # warm up
        started = time.perf_counter()
        await asyncio.gather(*(client(s, messages // clients) for s in sockets))
        elapsed = time.perf_counter() - started
        for socket in sockets:
            await socket.close()
    return (messages // clients * clients) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", default="1,8", help="comma-separated numbers of concurrent clients")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        serving(_sandbox_process, str(Path(tmp) / "app")) as sandbox_port,
        serving(_echo_process) as echo_port,
    ):
        print(f"{'clients':>7} {'sandbox msg/s':>14} {'bare echo msg/s':>16} {'share':>7}")
        for clients in (int(c) for c in args.clients.split(",")):
            ours = asyncio.run(round_trips(sandbox_port, args.messages, clients))
            bare = asyncio.run(round_trips(echo_port, args.messages, clients))
            print(f"{clients:>7} {ours:>14.0f} {bare:>16.0f} {ours / bare:>6.1%}")


if __name__ == "__main__":
    main()
