"""Timeouts and caps on every port: a client that sends its request too slowly is closed, the open
connections stay below the file limit, and an oversized body is a 413 in each port's own shape."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from sandbox.server import Limits

APP = "@app\nlimits-test\n\n@http\npost /\n\n@events\nping\n"
SERVICES = ("http", "events", "tables", "internal")


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    (tmp_path / "app.arc").write_text(APP)
    for kind, name in (("http", "post-index"), ("events", "ping")):
        (tmp_path / "src" / kind / name).mkdir(parents=True)
        (tmp_path / "src" / kind / name / "lambda.py").write_text("def handler(event, context):\n    return 'ok'\n")
    config = SandboxConfig.ephemeral(tmp_path, header_timeout=0.3, body_timeout=0.3, max_connections=6)
    async with Sandbox(config) as sb:
        yield sb


async def raw(sb: Sandbox, service: str, data: bytes) -> bytes:
    """Send `data` and return everything the server sends until it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sb.ports[service])
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_client_that_never_finishes_its_headers_is_closed(sandbox: Sandbox, service: str) -> None:
    assert await raw(sandbox, service, b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ") == b""


@pytest.mark.parametrize("service", SERVICES)
async def test_a_client_that_never_finishes_its_body_gets_a_408_and_is_closed(sandbox: Sandbox, service: str) -> None:
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    answer = await raw(sandbox, service, head + b'{"na')
    assert answer.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize("service", SERVICES)
async def test_an_oversized_body_is_a_413_in_the_ports_own_shape(sandbox: Sandbox, service: str) -> None:
    head = (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: 20000000\r\n\r\n"
    )
    answer = await raw(sandbox, service, head + b"{")
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 413")
    shape = json.loads(body)
    if service == "tables":
        assert shape["__type"] == "com.amazonaws.dynamodb.v20120810#RequestEntityTooLarge"
    elif service == "http":
        assert "Request Entity Too Large" in shape["message"]  # API Gateway's {"message": ...}
    else:
        assert "Request Entity Too Large" in shape["error"]


async def test_connections_over_the_cap_are_closed_at_once_with_a_log_line(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    kept = []
    for _ in range(6):  # the cap; each finishes a request, so the server has surely counted it
        reader, writer = await asyncio.open_connection("127.0.0.1", sandbox.ports["events"])
        writer.write(b"GET /_sandbox/messages HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        kept.append(writer)
    try:
        with caplog.at_level(logging.WARNING, logger="arc_sandbox"):
            try:
                refused = await raw(sandbox, "tables", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            except ConnectionResetError:
                refused = b""
        assert refused == b""
        assert any("connections open" in r.getMessage() and "file limit" in r.getMessage() for r in caplog.records)
    finally:
        for writer in kept:
            writer.close()


def test_the_default_cap_leaves_room_below_the_file_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = Limits().connection_cap()
    assert 0 < cap < soft
    assert soft - cap >= 100  # the database, handlers' pipes and files, connections accepted in one go
