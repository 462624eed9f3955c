"""Pieces of bench/tables.py that talk to DynamoDB servers without boto3 in the way.

- `presign`: DynamoDB requests signed with SigV4 ahead of time and kept as raw HTTP/1.1 bytes, so the
  timed loop only writes bytes and reads answers.
- `send_all`: a light client on asyncio streams, a few keep-alive connections each sending its share of
  the requests one after another; any answer but 200 stops the benchmark (BenchError).
- `wrk_rate`: the same requests sent by wrk (C, Debian's package `wrk`) where it is installed: under the
  Python client the client's own core was the limit (a server answering fixed bytes reached ~6,300/s from
  it and ~19,000/s from wrk), so the servers were not what the raw rows measured.
- `dynalite`: the npm package Architect's own sandbox runs, started with node on a free port; installed
  with npm into bench/.dynalite on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

DYNALITE_VERSION = "4.0.0"
DYNALITE_HOME = Path(__file__).resolve().parent / ".dynalite"
CREDENTIALS = Credentials("bench", "bench")


class BenchError(RuntimeError):
    """A server answered something other than 200: the figures would be meaningless."""


def presign(port: int, operation: str, bodies: Sequence[dict[str, Any]]) -> list[bytes]:
    """Each body as a complete, SigV4-signed HTTP/1.1 request for 127.0.0.1:port."""
    out = []
    for body in bodies:
        data = json.dumps(body, separators=(",", ":")).encode()
        request = AWSRequest(
            method="POST",
            url=f"http://127.0.0.1:{port}/",
            data=data,
            headers={"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"},
        )
        SigV4Auth(CREDENTIALS, "dynamodb", "us-west-2").add_auth(request)
        head = [f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(data)}\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        out.append(("".join(head) + "\r\n").encode() + data)
    return out


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    keep = lines[0].startswith("HTTP/1.1") and headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body, keep
            body += chunk[:-2]
    if "content-length" not in headers:  # the body runs to the end of the connection
        return status, await reader.read(), False
    return status, await reader.readexactly(int(headers["content-length"])), keep


async def send_all(port: int, requests: Sequence[bytes], concurrency: int) -> float:
    """Send every request over `concurrency` connections; returns the seconds it took."""
    pending = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:  # the connections share one iterator: each request is sent once
                writer.write(request)
                status, body, keep = await _answer(reader)
                if status != 200:
                    raise BenchError(f"HTTP {status} from port {port}: {body[:300]!r}")
                if not keep:  # a server that closes after each answer (moto's werkzeug) costs a connect each
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started


def wrk_rate(port: int, requests: Sequence[bytes], seconds: float, concurrency: int, cores: set[int] | None) -> float:
    """Requests/s of wrk sending `requests` in turn (raw bytes, as signed) for `seconds` over `concurrency`
    keep-alive connections; any error answer or socket error raises BenchError."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed")
    # wrk's request() may return a whole raw request: the signed bytes go out exactly as presign made them.
    script = "local r = {\n" + "".join(f"{_lua_string(request)},\n" for request in requests) + "}\n"
    script += "local i = 0\nrequest = function()\n  i = i % #r + 1\n  return r[i]\nend\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    command = [wrk, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", file.name, f"http://127.0.0.1:{port}/"]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
        )
    finally:
        os.unlink(file.name)
    out = done.stdout
    problems = [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    rate = [line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec:")]
    if done.returncode or problems or not rate:
        raise BenchError(f"wrk against port {port}: {'; '.join(problems) or done.stderr.strip() or out}")
    return float(rate[0])


def _lua_string(data: bytes) -> str:
    """`data` as a Lua string literal, byte for byte."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in data) + '"'


def call(port: int, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """One signed request, outside the timed loops (table creation); raises BenchError on an error answer."""

    async def once() -> tuple[int, bytes, bool]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(presign(port, operation, [body])[0])
            return await _answer(reader)
        finally:
            writer.close()

    status, data, _ = asyncio.run(once())
    if status != 200:
        raise BenchError(f"{operation} on port {port}: HTTP {status} {data[:300]!r}")
    answer: dict[str, Any] = json.loads(data) if data else {}
    return answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dynalite_cli() -> Path | None:
    """dynalite's cli.js, installed with npm into bench/.dynalite if needed; None without node and npm."""
    cli = DYNALITE_HOME / "node_modules" / "dynalite" / "cli.js"
    if cli.exists():
        return cli
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    DYNALITE_HOME.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(DYNALITE_HOME),
            f"dynalite@{DYNALITE_VERSION}",
        ],
        check=True,
        capture_output=True,
    )
    return cli if cli.exists() else None


@contextlib.contextmanager
def dynalite(cli: Path, cores: set[int] | None) -> Iterator[int]:
    """dynalite on a free loopback port (in memory, tables ACTIVE at once), pinned to `cores`."""
    port = free_port()
    command = ["node", str(cli), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if cores and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(process.pid, cores)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError as error:
                if getattr(error, "code", None):  # an HTTP error answer: it is listening
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("dynalite did not start") from error
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
