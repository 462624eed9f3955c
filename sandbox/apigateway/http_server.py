"""The http port's HTTP/1.1 server: the connection of `sandbox/http1.py` running each request through
`HttpFront.answer` and writing the answer itself, without an aiohttp `web.Application` around it.

A web application's request, response and middleware objects cost the sandbox's process about as much
CPU as the rest of a routed request (the event, the invocation, the answer), so the common case skips
them. An upgrade request (@ws) hands its connection to the aiohttp application, which serves it, and
every request after it on that connection, as it served them all before. So does a request with an
Upgrade header that the parser did not take as an upgrade (no `Connection: upgrade`), when nothing was
pipelined after it (otherwise it is answered here, as an ordinary request).

What this port adds to the shared connection, as the application's middleware (`server.Listeners`)
gave it:

- the `guard.py` checks on the sandbox's own paths (`/_arc/`, `/_sandbox/`), before the body is read;
- the HTTP layer's refusals (403, 408, 413, 503) in API Gateway's `{"message": ...}` shape, and 400
  for a request that cannot be parsed as aiohttp's server answered it;
- `Expect: 100-continue` (417 for any other expectation), HTTP/1.0;
- the answer's headers as aiohttp wrote them: Content-Length (none for 1xx, 204 and 304; a HEAD's is
  its body's), Content-Type `application/octet-stream` for an unlabelled body, Date, Server, and
  Connection for HTTP/1.0 keep-alive or an HTTP/1.1 close.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import unquote

from aiohttp.helpers import must_be_empty_body, should_remove_content_length
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader

from sandbox import guard, http1
from sandbox.apigateway.front import HttpFront
from sandbox.apigateway.types import HttpRequest, HttpResponse

SERVER = SERVER_SOFTWARE.encode()


class _Refusal(Exception):
    """An answer the HTTP layer gives on its own, in API Gateway's `{"message": ...}` shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HttpResponse:
        body = json.dumps({"message": self.message}).encode()
        return HttpResponse(self.status, [("Content-Type", "application/json; charset=utf-8")], body)


class HttpPortServer(http1.Server):
    """The connections of one http port: `connection()` is the protocol factory for `create_server`."""

    def __init__(
        self, front: HttpFront, *, hand_over: Callable[[], asyncio.Protocol], settings: http1.Settings
    ) -> None:
        super().__init__(settings)
        self.front = front
        self.hand_over = hand_over  # a protocol of the aiohttp application, for the upgrade requests

    def connection(self) -> asyncio.BaseProtocol:
        return _Connection(self, asyncio.get_running_loop())


def encode(response: HttpResponse, method: str, version: tuple[int, int], keep_alive: bool, date: bytes) -> bytes:
    """The answer's bytes, framed as aiohttp's `web.Response` framed it."""
    status = response.status
    lines = [http1.status_line(status, version)]
    names: set[str] = set()
    for name, value in response.headers:
        lower = name.lower()
        if lower == "content-length":
            continue
        names.add(lower)
        # No line breaks here (response splitting): a handler's headers are checked with the rest of its result.
        lines.append(f"{name}: {value}\r\n".encode())
    body = response.body
    if must_be_empty_body(method, status):
        if method == "HEAD" and not should_remove_content_length(method, status):
            lines.append(b"Content-Length: %d\r\n" % len(body))
        body = b""
    else:
        lines.append(b"Content-Length: %d\r\n" % len(body))
        if body and "content-type" not in names:
            lines.append(b"Content-Type: application/octet-stream\r\n")
    if "date" not in names:
        lines.append(b"Date: " + date + b"\r\n")
    if "server" not in names:
        lines.append(b"Server: " + SERVER + b"\r\n")
    if "connection" not in names:
        lines.append(http1.connection_field(version, keep_alive))
    lines.append(b"\r\n")
    return b"".join(lines) + body


def _guarded(path: str) -> bool:
    """The sandbox's own paths, and the Management API's (which API Gateway keeps behind IAM): a web page
    the developer visits must not reach them."""
    if "%" in path:
        path = unquote(path)
    return path.startswith(guard.SANDBOX_PATH_PREFIXES) or "/@connections/" in path


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


def _failed() -> HttpResponse:
    """What aiohttp answered for an exception of ours."""
    return _plain(500, "500 Internal Server Error\n\nServer got itself in trouble")


class _Connection(http1.Connection):
    """One client connection of the http port."""

    port_name = "the http port"
    max_field_size = 65536  # cookies and JWTs make long header lines; as the aiohttp application took them
    _server: HttpPortServer

    def __init__(self, server: HttpPortServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(server, loop)
        self._peer = "127.0.0.1"
        self._local_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        sockname = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self._peer = peer[0]
        if isinstance(sockname, tuple):
            self._local_port = sockname[1]

    def unparsable(self, error: HttpProcessingError) -> bytes:
        # What aiohttp's server answered: the parser's message as plain text, as HTTP/1.0.
        return encode(_plain(400, error.message), "GET", (1, 0), False, self._server.dates.now())

    def stopped(self, message: RawRequestMessage) -> bytes:
        stopped = _Refusal(503, "the sandbox stopped before this request finished")
        return encode(stopped.response(), message.method, message.version, False, self._server.dates.now())

    def failed(self, message: RawRequestMessage) -> bytes:
        return encode(_failed(), message.method, message.version, False, self._server.dates.now())

    def hands_over(self, message: RawRequestMessage) -> bool:
        if message.upgrade or ("Upgrade" in message.headers and not self._waiting):
            self._hand_over(message)
            return True
        return False

    def _hand_over(self, message: RawRequestMessage) -> None:
        """Give the connection to the aiohttp application from this request on (every answer before it
        is written): the request's head as it came, then whatever followed it."""
        transport = self.transport
        assert transport is not None
        rest = self.take_after_upgrade()
        self.forget()
        head = [b"%s %s HTTP/%d.%d\r\n" % (message.method.encode(), message.path.encode(), *message.version)]
        head.extend(name + b": " + value + b"\r\n" for name, value in message.raw_headers)
        head.append(b"\r\n")
        protocol = self._server.hand_over()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(b"".join(head) + rest)
        if self._reading_paused or self._buffer_paused:
            transport.resume_reading()

    async def answer(self, message: RawRequestMessage, payload: StreamReader) -> tuple[bytes, bool, bool]:
        """(the answer's bytes, whether the connection stays open, whether the body was read to its end)."""
        server = self._server
        method = message.method
        version = message.version
        keep_alive = not message.should_close
        url = message.url
        path = url.raw_path
        if _guarded(path):
            refused = guard.check(method, message.headers, server.policy)
            if refused is not None:  # answered before the body is read: the connection stays only if it all came
                keep = keep_alive and payload.is_eof()
                page = _Refusal(403, refused).response()
                return encode(page, method, version, keep, server.dates.now()), keep, payload.is_eof()
        expect = message.headers.get("Expect")
        if expect and version == (1, 1):  # as aiohttp's application did, whether the body came or not
            if expect.lower() != "100-continue":
                unknown = _plain(417, f"Unknown Expect: {expect}")
                return encode(unknown, method, version, False, server.dates.now()), False, payload.is_eof()
            assert self.transport is not None
            self.transport.write(http1.CONTINUE)
        if payload is EMPTY_PAYLOAD:
            body = b""
        else:
            try:
                body = await self.read_body(message, payload)
            except http1.BodyRefused as problem:
                refusal = _Refusal(problem.status, problem.message)
                return encode(refusal.response(), method, version, False, server.dates.now()), False, False
        headers = message.headers
        request = HttpRequest(
            method=method,
            path=path,
            query_string=url.raw_query_string,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.raw_headers],
            body=body,
            source_ip=self._peer,
            local_port=self._local_port,
            host=headers.get("Host", f"localhost:{self._local_port}"),
        )
        response = await server.front.answer(request)
        return encode(response, method, version, keep_alive, server.dates.now()), keep_alive, True
