"""The http port's HTTP/1.1 server: aiohttp's C parser under a protocol that runs each request through
`HttpFront.answer` and writes the answer itself, without an aiohttp `web.Application` around it.

A web application's request, response and middleware objects cost the sandbox's process about as much
CPU as the rest of a routed request (the event, the invocation, the answer), so the common case skips
them. An upgrade request (@ws) hands its connection to the aiohttp application, which serves it, and
every request after it on that connection, as it served them all before. So does a request with an
Upgrade header that the parser did not take as an upgrade (no `Connection: upgrade`), when nothing was
pipelined after it (otherwise it is answered here, as an ordinary request).

What the port keeps, as the application's middleware (`server.Listeners`) gave it:

- the `guard.py` checks on the sandbox's own paths (`/_arc/`, `/_sandbox/`), before the body is read;
- a header timeout: a connection that sends no complete request within it, from connecting or from
  its last answer, is closed (slowloris, and idle keep-alive connections);
- a body timeout (408), 413 past the body limit whether announced in Content-Length or reached while
  reading a chunked or compressed body, 400 for a body that cannot be read (a broken gzip);
- keep-alive, `Connection: close`, HTTP/1.0, `Expect: 100-continue` (417 for any other expectation),
  pipelined requests answered in order (reading pauses while too many wait), 400 for a request that
  cannot be parsed;
- every request is reported to the `RequestTracker`, which drains them at shutdown and cancels the ones
  still running then: those are answered 503;
- the answer's headers as aiohttp wrote them: Content-Length (none for 1xx, 204 and 304; a HEAD's is
  its body's), Content-Type `application/octet-stream` for an unlabelled body, Date, Server, and
  Connection for HTTP/1.0 keep-alive or an HTTP/1.1 close.

An answer given before its body was read (413, 408, 403) closes the connection, after reading and
dropping what the client still sends for a moment, so that it sees the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp.base_protocol import BaseProtocol
from aiohttp.helpers import must_be_empty_body, rfc822_formatted_time, should_remove_content_length
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_response import REASON_PHRASES

from sandbox import guard
from sandbox.apigateway.front import HttpFront
from sandbox.apigateway.types import HttpRequest, HttpResponse
from sandbox.dynamodb.http_protocol import RequestTracker

READ_LIMIT = 2**16  # a body is buffered up to twice this before reading from the socket pauses
READ_BUFFER = 2**16  # what one read from a socket takes at most
MAX_WAITING = 32  # pipelined requests parsed ahead of the one being answered before reading pauses
MAX_LINE = 8190
MAX_FIELD = 65536  # cookies and JWTs make long header lines; as the aiohttp application took them
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
SERVER = SERVER_SOFTWARE.encode()
HEADER_BREAKS = str.maketrans("", "", "\r\n")


class _Refusal(Exception):
    """An answer the HTTP layer gives on its own, in API Gateway's `{"message": ...}` shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HttpResponse:
        body = json.dumps({"message": self.message}).encode()
        return HttpResponse(self.status, [("Content-Type", "application/json; charset=utf-8")], body)


class HttpPortServer:
    """The connections of one http port: `connection()` is the protocol factory for `create_server`."""

    def __init__(
        self,
        front: HttpFront,
        *,
        hand_over: Callable[[], asyncio.Protocol],
        policy: guard.HostPolicy,
        tracker: RequestTracker,
        header_timeout: float,
        body_timeout: float,
        max_body: int,
        linger: float,
        logger: logging.Logger,
    ) -> None:
        self.front = front
        self.hand_over = hand_over  # a protocol of the aiohttp application, for the upgrade requests
        self.policy = policy
        self.tracker = tracker
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_body = max_body
        self.linger = linger
        self.logger = logger
        self.connections: set[_Connection] = set()
        # One buffer every connection reads into, and copies out of at once (they share the loop's thread).
        self.read_buffer = memoryview(bytearray(READ_BUFFER))

    def connection(self) -> asyncio.BaseProtocol:
        return _Connection(self, asyncio.get_running_loop())

    def close_connections(self) -> None:
        for connection in list(self.connections):
            connection.close()

    def too_large(self) -> _Refusal:
        return _Refusal(
            413, f"Request Entity Too Large: the body is over the sandbox's limit of {self.max_body:,} bytes"
        )


def encode(response: HttpResponse, method: str, version: tuple[int, int], keep_alive: bool) -> bytes:
    """The answer's bytes, framed as aiohttp's `web.Response` framed it."""
    status = response.status
    lines = [b"HTTP/%d.%d %d %s\r\n" % (version[0], version[1], status, _reason(status))]
    names: set[str] = set()
    for name, value in response.headers:
        lower = name.lower()
        if lower == "content-length":
            continue
        names.add(lower)
        # A line break would let a header start another header or the body (response splitting).
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"a line break in the response header {name.translate(HEADER_BREAKS)!r}")
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
        lines.append(b"Date: " + rfc822_formatted_time().encode() + b"\r\n")
    if "server" not in names:
        lines.append(b"Server: " + SERVER + b"\r\n")
    if "connection" not in names:
        if keep_alive and version == (1, 0):
            lines.append(b"Connection: keep-alive\r\n")
        elif not keep_alive and version == (1, 1):
            lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines) + body


def _reason(status: int) -> bytes:
    phrase: str = REASON_PHRASES.get(status, "")
    return phrase.encode()


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


class _Connection(BaseProtocol, asyncio.BufferedProtocol):
    """One client connection: parses requests as they arrive and answers them in order, one task at a time."""

    def __init__(self, server: HttpPortServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._server = server
        # Set after the base's constructor, which takes no parser before aiohttp 3.11: its flow
        # control pauses the parser along with the socket while a body's buffer is full.
        self._parser: Any = HttpRequestParser(
            self,
            loop,
            READ_LIMIT,
            max_line_size=MAX_LINE,
            max_field_size=MAX_FIELD,
            payload_exception=RequestPayloadError,
        )
        self._waiting: collections.deque[tuple[RawRequestMessage, StreamReader] | HttpProcessingError] = (
            collections.deque()
        )
        self._task: asyncio.Task[None] | None = None
        self._reading: StreamReader | None = None  # the body being read, to fail it if the client goes
        self._idle_since = loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._buffer_paused = False
        self._done = False  # no more requests are parsed: closing, or lingering after an early answer
        self._after_upgrade: list[bytes] | None = None  # what came after an upgrade request, for the application
        self._peer = "127.0.0.1"
        self._local_port = 0

    # --- the connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server.connections.add(self)
        peer = transport.get_extra_info("peername")
        sockname = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self._peer = peer[0]
        if isinstance(sockname, tuple):
            self._local_port = sockname[1]
        self._arm_idle_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self._forget()
        if self._reading is not None:  # the request's handler keeps running; a body still awaited never comes
            self._reading.set_exception(ConnectionResetError("the client closed the connection"))

    def _forget(self) -> None:
        self._server.connections.discard(self)
        self._done = True
        self._waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self._done = True
        if self.transport is not None:
            self.transport.close()

    def _arm_idle_timer(self) -> None:
        if self._timer is None:
            self._timer = self._loop.call_at(self._idle_since + self._server.header_timeout, self._idle_timer_fired)

    def _idle_timer_fired(self) -> None:
        """Close a connection that has sent no complete request since it became idle; one timer a
        connection, moved on rather than re-made for every request."""
        self._timer = None
        if self.transport is None or self._task is not None or self._done:
            return  # gone, busy (the timer is armed again once the answers are written), or handed over
        if self._loop.time() < self._idle_since + self._server.header_timeout:
            self._arm_idle_timer()
            return
        self._server.logger.debug(
            "closing a connection that sent no complete request in %gs", self._server.header_timeout
        )
        self.close()

    # --- reading -------------------------------------------------------------------------------

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._server.read_buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        if self._after_upgrade is not None:
            self._after_upgrade.append(data)  # the upgraded protocol's first bytes, kept for the application
            return
        if self._done:
            return  # lingering after an early answer: what the client still sends is dropped
        try:
            messages, upgraded, tail = self._parser.feed_data(data)
        except HttpProcessingError as error:
            self._done = True
            self._waiting.append(error)
        else:
            self._waiting.extend(messages)
            if upgraded:  # nothing after an upgrade request is HTTP: parsing stops here
                self._after_upgrade = [tail] if tail else []
        if not self._waiting:
            return
        if self._task is None:
            self._task = self._loop.create_task(self._serve())
        if len(self._waiting) >= MAX_WAITING and not self._buffer_paused and self.transport is not None:
            self._buffer_paused = True  # the base's flag: its resume_reading() leaves the socket paused then
            self.transport.pause_reading()

    def resume_reading(self, resume_parser: bool = True) -> None:
        # A body's buffer calls this on every read of it; only a pause needs undoing (and the
        # parser's paused input feeding again), which saves a pass through the parser per request.
        if self._reading_paused:
            super().resume_reading(resume_parser)

    def _resume_if_drained(self) -> None:
        if self._buffer_paused and len(self._waiting) < MAX_WAITING // 2:
            self._buffer_paused = False
            if not self._reading_paused and self.transport is not None:
                self.transport.resume_reading()

    # --- answering -----------------------------------------------------------------------------

    async def _serve(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        tracker = self._server.tracker
        try:
            while self._waiting and self.transport is not None:
                request = self._waiting.popleft()
                self._resume_if_drained()
                if isinstance(request, HttpProcessingError):
                    # What aiohttp's server answered: the parser's message as plain text, as HTTP/1.0.
                    self._write(encode(_plain(400, request.message), "GET", (1, 0), False), False, True)
                    return
                message, payload = request
                if message.upgrade or ("Upgrade" in message.headers and not self._waiting):
                    self._hand_over(message)
                    return
                tracker.started(task)
                try:
                    answer, keep_alive, body_read = await self._answer(message, payload)
                except asyncio.CancelledError:
                    if not tracker.overdue:
                        raise
                    task.uncancel()
                    stopped = _Refusal(503, "the sandbox stopped before this request finished")
                    answer, keep_alive, body_read = (
                        encode(stopped.response(), message.method, message.version, False),
                        False,
                        False,
                    )
                except Exception:  # a bug of ours: answered as aiohttp answered an exception, and logged
                    self._server.logger.exception("the http port failed to answer a request")
                    failed = _plain(500, "500 Internal Server Error\n\nServer got itself in trouble")
                    answer, keep_alive, body_read = encode(failed, message.method, message.version, False), False, False
                finally:
                    self._reading = None
                    tracker.finished(task)
                if not self._write(answer, keep_alive, body_read):
                    return
        finally:
            self._task = None
            self._idle_since = self._loop.time()
            if self.transport is not None and not self._done:
                self._arm_idle_timer()

    def _write(self, answer: bytes, keep_alive: bool, body_read: bool) -> bool:
        """Send an answer; False when the connection closes after it."""
        transport = self.transport
        if transport is None:
            return False
        transport.write(answer)
        if keep_alive:
            return True
        self._done = True
        self._waiting.clear()
        if body_read:
            transport.close()
        else:  # the client may still be sending the body: drop it for a moment so the answer is read
            transport.resume_reading()
            self._loop.call_later(self._server.linger, transport.close)
        return False

    def _hand_over(self, message: RawRequestMessage) -> None:
        """Give the connection to the aiohttp application from this request on (every answer before it
        is written): the request's head as it came, then whatever followed it."""
        transport = self.transport
        assert transport is not None
        rest = b"".join(self._after_upgrade or ())
        self._after_upgrade = None
        self._forget()
        head = [b"%s %s HTTP/%d.%d\r\n" % (message.method.encode(), message.path.encode(), *message.version)]
        head.extend(name + b": " + value + b"\r\n" for name, value in message.raw_headers)
        head.append(b"\r\n")
        protocol = self._server.hand_over()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(b"".join(head) + rest)
        if self._reading_paused or self._buffer_paused:
            transport.resume_reading()

    async def _answer(self, message: RawRequestMessage, payload: StreamReader) -> tuple[bytes, bool, bool]:
        """(the answer's bytes, whether the connection stays open, whether the body was read to its end)."""
        server = self._server
        method = message.method
        version = message.version
        keep_alive = not message.should_close
        url = message.url
        path = url.raw_path
        if path.startswith(guard.SANDBOX_PATH_PREFIXES) or (
            "%" in path and unquote(path).startswith(guard.SANDBOX_PATH_PREFIXES)
        ):
            refused = guard.check(method, message.headers, server.policy)
            if refused is not None:  # answered before the body is read: the connection stays only if it all came
                keep = keep_alive and payload.is_eof()
                return encode(_Refusal(403, refused).response(), method, version, keep), keep, payload.is_eof()
        expect = message.headers.get("Expect")
        if expect and version == (1, 1):  # as aiohttp's application did, whether the body came or not
            if expect.lower() != "100-continue":
                refusal = _plain(417, f"Unknown Expect: {expect}")
                return encode(refusal, method, version, False), False, payload.is_eof()
            assert self.transport is not None
            self.transport.write(CONTINUE)
        if payload is EMPTY_PAYLOAD:
            body = b""
        else:
            try:
                body = await self._body(message, payload)
            except _Refusal as refusal:
                return encode(refusal.response(), method, version, False), False, False
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
        try:
            return encode(response, method, version, keep_alive), keep_alive, True
        except ValueError as error:  # as aiohttp refused to write such a header
            server.logger.error("the http port cannot send this response: %s", error)
            failed = _plain(500, "500 Internal Server Error\n\nServer got itself in trouble")
            return encode(failed, method, version, False), False, True

    async def _body(self, message: RawRequestMessage, payload: StreamReader) -> bytes:
        """The whole body, in bounded time and size; a _Refusal says why not."""
        server = self._server
        declared = message.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > server.max_body:
            raise server.too_large()
        try:
            if payload.is_eof():  # all of it came with the headers: the usual case
                body = payload.read_nowait(-1)
            else:
                body = await self._read_slowly(message, payload)
        except TimeoutError:
            raise _Refusal(408, f"the body did not arrive within {server.body_timeout:g}s") from None
        except (ContentEncodingError, RequestPayloadError) as error:  # a client's broken gzip is its own error
            raise _Refusal(400, f"the request body could not be read: {error}") from None
        except ConnectionResetError:  # the client went before its body came: no one to answer, nothing to log
            raise _Refusal(400, "the client closed the connection before its body came") from None
        if len(body) > server.max_body:
            raise server.too_large()
        return body

    async def _read_slowly(self, message: RawRequestMessage, payload: StreamReader) -> bytes:
        server = self._server
        self._reading = payload
        chunks: list[bytes] = []
        total = 0
        async with asyncio.timeout(server.body_timeout):
            while chunk := await payload.readany():
                total += len(chunk)
                if total > server.max_body:
                    raise server.too_large()
                chunks.append(chunk)
        return b"".join(chunks)
