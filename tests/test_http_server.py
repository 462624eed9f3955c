"""The http port's own HTTP server (`sandbox.apigateway.http_server`) on a real socket: what it answers
itself (keep-alive, pipelining, HTTP/1.0, HEAD, Expect, parse errors, a response header it cannot send)
and the connections it hands to the aiohttp application (@ws upgrades, also after other requests)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

APP = "@app\nhttp-server-test\n\n@http\nget /ping\nget /status/:code\npost /echo\npost /event\n\n@ws\n"
HANDLERS = {
    "http/get-ping": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n",
    "http/get-status-000code": (
        "def handler(event, context):\n"
        "    code = int(event['pathParameters']['code'])\n"
        "    headers = {'x-bad': 'a\\r\\nInjected: yes'} if code == 298 else {}\n"
        "    return {'statusCode': 200 if code == 298 else code, 'headers': headers, 'body': 'status ' + str(code)}\n"
    ),
    "http/post-echo": "def handler(event, context):\n    return {'statusCode': 200, 'body': event.get('body', '')}\n",
    "http/post-event": (
        "import json\n\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps({k: event.get(k) for k in ('body', 'isBase64Encoded')}\n"
        "        | {'encoding': event['headers'].get('content-encoding')})}\n"
    ),
    "ws/connect": "def handler(event, context):\n    return {'statusCode': 200}\n",
    "ws/default": "def handler(event, context):\n    return {'statusCode': 200}\n",
    "ws/disconnect": "def handler(event, context):\n    return {'statusCode': 200}\n",
}
UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    (tmp_path / "app.arc").write_text(APP)
    for folder, code in HANDLERS.items():
        (tmp_path / "src" / folder).mkdir(parents=True)
        (tmp_path / "src" / folder / "lambda.py").write_text(code)
    async with Sandbox(SandboxConfig.ephemeral(tmp_path)) as sb:
        yield sb


class Conn:
    """A raw client connection that reads answers one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def answer(self, *, head_only: bool = False) -> tuple[bytes, dict[str, str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        status, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines)}
        length = 0 if head_only else int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(self.reader.readexactly(length), 10)
        return status.encode(), headers, body

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 10) == b""


@pytest.fixture
async def conn(sandbox: Sandbox) -> AsyncIterator[Conn]:
    reader, writer = await asyncio.open_connection("127.0.0.1", sandbox.ports["http"])
    yield Conn(reader, writer)
    writer.close()


async def test_pipelined_requests_are_answered_in_order_on_one_connection(conn: Conn) -> None:
    conn.writer.write(
        b"GET /status/201 HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"GET /status/202 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    answers = [await conn.answer() for _ in range(3)]
    assert [(a[0], a[2]) for a in answers] == [
        (b"HTTP/1.1 201 Created", b"status 201"),
        (b"HTTP/1.1 200 OK", b"pong"),
        (b"HTTP/1.1 202 Accepted", b"status 202"),
    ]
    assert "connection" not in answers[0][1]
    assert answers[2][1]["connection"] == "close"
    assert await conn.closed()


async def test_a_keep_alive_connection_hands_a_websocket_upgrade_to_the_application(conn: Conn) -> None:
    conn.writer.write(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert (await conn.answer())[2] == b"pong"
    conn.writer.write(UPGRADE)
    status, headers, _ = await conn.answer(head_only=True)
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455's example
    mask = os.urandom(4)
    conn.writer.write(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"\x03\xe8")))
    frame = await asyncio.wait_for(conn.reader.readexactly(2), 10)
    assert frame[0] == 0x88  # the application closes the WebSocket in answer


async def test_a_request_that_cannot_be_parsed_is_a_400_and_the_connection_closes(conn: Conn) -> None:
    conn.writer.write(b"GARBAGE\r\n\r\n")
    status, headers, body = await conn.answer()
    assert status == b"HTTP/1.0 400 Bad Request"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body
    assert await conn.closed()


async def test_a_request_line_without_a_version_is_refused_not_answered_as_http_0_9(conn: Conn) -> None:
    conn.writer.write(b"GET /ping\r\n\r\n")
    status, _, body = await conn.answer()
    assert status == b"HTTP/1.0 400 Bad Request" and b"HTTP/0.9 is not supported" in body
    assert await conn.closed()


async def test_http_1_0_keep_alive_is_said_and_kept(conn: Conn) -> None:
    conn.writer.write(b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ping HTTP/1.0\r\n\r\n")
    first, second = await conn.answer(), await conn.answer()
    assert (first[0], first[1]["connection"], first[2]) == (b"HTTP/1.0 200 OK", "keep-alive", b"pong")
    assert (second[0], "connection" in second[1], second[2]) == (b"HTTP/1.0 200 OK", False, b"pong")
    assert await conn.closed()


async def test_head_gets_the_length_of_the_body_it_does_not_get_and_204_no_length(conn: Conn) -> None:
    conn.writer.write(
        b"HEAD /ping HTTP/1.1\r\nHost: localhost\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    status, headers, _ = await conn.answer(head_only=True)
    assert (status, headers["content-length"]) == (b"HTTP/1.1 200 OK", "4")
    status, headers, _ = await conn.answer(head_only=True)
    assert status == b"HTTP/1.1 204 No Content"
    assert "content-length" not in headers
    assert (await conn.answer())[2] == b"pong"  # nothing stray was sent in between


async def test_expect_100_continue_is_answered_and_other_expectations_are_a_417(conn: Conn) -> None:
    conn.writer.write(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    assert (await conn.answer())[0] == b"HTTP/1.1 100 Continue"
    conn.writer.write(b"hello")
    assert (await conn.answer())[2] == b"aGVsbG8="  # "hello", base64 in the event as API Gateway sends it
    conn.writer.write(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nExpect: tea\r\nContent-Length: 0\r\n\r\n")
    status, _, body = await conn.answer()
    assert (status, body) == (b"HTTP/1.1 417 Expectation Failed", b"Unknown Expect: tea")


async def test_a_line_break_in_a_response_header_is_a_502_never_a_second_header(conn: Conn) -> None:
    """A result API Gateway would not send on: the invalid-response page, which says why."""
    conn.writer.write(b"GET /status/298 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status, headers, body = await conn.answer()
    assert status == b"HTTP/1.1 502 Bad Gateway"
    assert "injected" not in headers
    assert b"without line breaks" in body


async def test_an_upgrade_header_without_connection_upgrade_still_reaches_the_application(conn: Conn) -> None:
    conn.writer.write(UPGRADE.replace(b"Connection: Upgrade", b"Connection: keep-alive"))
    status, _, body = await conn.answer()
    assert status == b"HTTP/1.1 400 Bad Request"  # the application's WebSocket handshake refuses it, as before
    assert b"upgrade" in body.lower()


async def test_a_client_gone_before_its_body_came_is_no_error_and_frees_the_request(
    sandbox: Sandbox, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    conn.writer.write(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
    assert sandbox.listeners is not None
    await sandbox.listeners.until_in_flight(1)  # the request waits for the rest of its body
    conn.writer.close()
    await sandbox.listeners.drain(10)
    assert sandbox.listeners.in_flight == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_compressed_body_reaches_the_function_as_it_was_sent(conn: Conn) -> None:
    """API Gateway does not decompress a request: the function gets the gzip bytes (base64, being binary)
    with their Content-Encoding, and decodes them itself if it wants to."""
    sent = gzip.compress(b'{"hello": "gzip"}')
    head = "POST /event HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    conn.writer.write(f"{head}Content-Length: {len(sent)}\r\n\r\n".encode() + sent)
    status, _, body = await conn.answer()
    assert status == b"HTTP/1.1 200 OK"
    got = json.loads(body)
    assert got["isBase64Encoded"] is True and got["encoding"] == "gzip"
    assert gzip.decompress(base64.b64decode(got["body"])) == b'{"hello": "gzip"}'
