"""The tables port's HTTP/1.1 server: aiohttp's C parser under a protocol that answers DynamoDB's one
route itself, without an aiohttp `web.Application` around it.

Under the raw-HTTP load a web application's request, response and middleware objects cost more than
the DynamoDB operation they carry (an app answering `{}` at once reached a quarter of the rate of a
protocol writing fixed bytes). This one keeps what the port needs and nothing else:

- `POST /` runs the request through `DynamoEndpoint` (X-Amz-Target picks the operation, DynamoDB
  Streams' included); `GET /` and `HEAD /` answer the health check; other paths 404, other methods 405.
- the `guard.py` checks, before the body is read.
- a header timeout: a connection that sends no complete request within it, from connecting or from
  its last answer, is closed (slowloris, and idle keep-alive connections).
- a body timeout (408), 413 past the body limit whether announced in Content-Length or reached
  while reading a chunked or compressed body; gzip and deflate bodies (Content-Encoding) are
  decompressed, a broken one is a 400 SerializationException.
- keep-alive, `Connection: close`, HTTP/1.0, `Expect: 100-continue`, pipelined requests answered in
  order (reading pauses while too many wait).
- every request is reported to a `RequestTracker` (the server's `Listeners`), which drains them at
  shutdown and cancels the ones still running then: those are answered 503.

An answer given before its body was read (413, 408, 403) closes the connection, after reading and
dropping what the client still sends for a moment, so that it sees the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import zlib
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestPayloadError

from sandbox import guard
from sandbox.dynamodb.protocol import CONTENT_TYPE, HEALTH
from sandbox.errors import AwsError, SerializationError

if TYPE_CHECKING:
    from sandbox.dynamodb.protocol import Answer, DynamoEndpoint

READ_LIMIT = 2**16  # a body is buffered up to twice this before reading from the socket pauses
READ_BUFFER = 2**16  # what one read from a socket takes at most
MAX_WAITING = 32  # pipelined requests parsed ahead of the one being answered before reading pauses
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
SERVER = b"Server: arc-sandbox\r\n"  # DynamoDB names itself in every answer, and clients may look
REASONS = {
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    410: b"Gone",
    413: b"Request Entity Too Large",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}


class RequestTracker(Protocol):
    """Who counts the requests in flight: `server.Listeners`, which drains them and stops the overdue."""

    @property
    def overdue(self) -> bool:
        """The shutdown's grace period is over: a request cancelled now is answered 503."""
        ...

    def started(self, task: asyncio.Task[Any]) -> None: ...

    def finished(self, task: asyncio.Task[Any]) -> None: ...


class _Refusal(AwsError):
    """An answer the HTTP layer gives on its own (403, 408, 413), in DynamoDB's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status  # type: ignore[misc]  # per instance here, not per class
        self.aws_code = code  # type: ignore[misc]


class _Dates:
    """The Date header, formatted once a second rather than once an answer."""

    def __init__(self) -> None:
        self._second = 0
        self._value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True).encode()
        return self._value


class TablesHttpServer:
    """The connections of one tables port: `connection()` is the protocol factory for `create_server`."""

    def __init__(
        self,
        endpoint: DynamoEndpoint,
        *,
        policy: guard.HostPolicy,
        tracker: RequestTracker,
        header_timeout: float,
        body_timeout: float,
        max_body: int,
        linger: float,
        logger: logging.Logger,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self.tracker = tracker
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_body = max_body
        self.linger = linger
        self.logger = logger
        self.dates = _Dates()
        self.connections: set[_Connection] = set()
        # One buffer every connection reads into, and copies out of at once (they share the loop's thread):
        # asyncio's own reads made a fresh 256 KiB object for every request, a third of a GetItem's time.
        self.read_buffer = memoryview(bytearray(READ_BUFFER))

    def connection(self) -> asyncio.BaseProtocol:
        return _Connection(self, asyncio.get_running_loop())

    def close_connections(self) -> None:
        for connection in list(self.connections):
            connection.close()

    def too_large(self) -> _Refusal:
        message = f"Request Entity Too Large: the body is over the sandbox's limit of {self.max_body:,} bytes"
        return _Refusal(413, "RequestEntityTooLarge", message)


def _head(status: int, version: tuple[int, int], fields: list[bytes]) -> bytes:
    line = b"HTTP/%d.%d %d %s\r\n" % (version[0], version[1], status, REASONS.get(status, b"Error"))
    return line + b"".join(fields) + b"\r\n"


class _Connection(BaseProtocol, asyncio.BufferedProtocol):
    """One client connection: parses requests as they arrive and answers them in order, one task at a time."""

    def __init__(self, server: TablesHttpServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._server = server
        # Set after the base's constructor, which takes no parser before aiohttp 3.11: its flow
        # control pauses the parser along with the socket while a body's buffer is full.
        self._parser: Any = HttpRequestParser(
            self, loop, READ_LIMIT, max_line_size=8190, max_field_size=8190, payload_exception=RequestPayloadError
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

    # --- the connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server.connections.add(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self._server.connections.discard(self)
        self._done = True
        self._waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._reading is not None:  # the request's handler keeps running; a body still awaited never comes
            self._reading.set_exception(ConnectionResetError("the client closed the connection"))

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
        if self.transport is None or self._task is not None:
            return  # gone, or busy: the timer is armed again once the answers are written
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
        if self._done:
            return  # lingering after an early answer: what the client still sends is dropped
        try:
            messages, _upgraded, _tail = self._parser.feed_data(data)
        except HttpProcessingError as error:
            self._done = True
            self._waiting.append(error)
        else:
            self._waiting.extend(messages)
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
                    refusal = SerializationError(f"The request could not be parsed: {request.message}")
                    self._write(self._error(refusal, (1, 1)), keep_alive=False, body_read=True)
                    return
                message, payload = request
                tracker.started(task)
                try:
                    answer, keep_alive, body_read = await self._answer(message, payload)
                except asyncio.CancelledError:
                    if not tracker.overdue:
                        raise
                    task.uncancel()
                    stopped = _Refusal(503, "ServiceUnavailable", "the sandbox stopped before this request finished")
                    answer, keep_alive, body_read = self._error(stopped, message.version), False, False
                except Exception:  # a bug of ours in reading the request: said as DynamoDB would, and logged
                    self._server.logger.exception("the tables port failed to answer a request")
                    failed = _Refusal(500, "InternalServerError", "Internal server error")
                    answer, keep_alive, body_read = self._error(failed, message.version), False, False
                finally:
                    self._reading = None
                    tracker.finished(task)
                if not self._write(answer, keep_alive=keep_alive, body_read=body_read):
                    return
        finally:
            self._task = None
            self._idle_since = self._loop.time()
            if self.transport is not None and not self._done:
                self._arm_idle_timer()

    def _write(self, answer: bytes, *, keep_alive: bool, body_read: bool) -> bool:
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

    async def _answer(self, message: RawRequestMessage, payload: StreamReader) -> tuple[bytes, bool, bool]:
        """(the answer's bytes, whether the connection stays open, whether the body was read to its end)."""
        server = self._server
        headers = message.headers
        version = message.version
        keep_alive = not message.should_close and not message.upgrade
        refused = guard.check(message.method, headers, server.policy)
        if refused is not None:
            return self._error(_Refusal(403, "AccessDeniedException", refused), version), False, payload.is_eof()
        path = message.path.partition("?")[0]
        if message.method != "POST" or path != "/":
            keep_alive = keep_alive and payload.is_eof()
            return self._other(message, path, keep_alive), keep_alive, payload.is_eof()
        try:
            body = await self._body(message, payload)
        except AwsError as error:
            return self._error(error, version), False, False
        answer = await server.endpoint.answer(
            headers.get("X-Amz-Target", ""),
            body,
            authorization=headers.get("Authorization", ""),
            host=headers.get("Host") or self._address(),
        )
        return self._response(answer, version, keep_alive), keep_alive, True

    def _address(self) -> str:
        """host:port this connection reached, for a request without Host (HTTP/1.0)."""
        name = self.transport.get_extra_info("sockname") if self.transport is not None else None
        return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else ""

    async def _body(self, message: RawRequestMessage, payload: StreamReader) -> bytes:
        """The whole body, in bounded time and size; an AwsError says why not."""
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
            raise _Refusal(408, "RequestTimeout", f"the body did not arrive within {server.body_timeout:g}s") from None
        except (ContentEncodingError, RequestPayloadError) as error:  # a client's broken gzip is its own error
            raise SerializationError(f"the request body could not be read: {error}") from None
        if len(body) > server.max_body:
            raise server.too_large()
        return body

    async def _read_slowly(self, message: RawRequestMessage, payload: StreamReader) -> bytes:
        server = self._server
        if message.version >= (1, 1) and message.headers.get("Expect", "").lower() == "100-continue":
            assert self.transport is not None
            self.transport.write(CONTINUE)
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

    # --- answers as bytes ----------------------------------------------------------------------

    def _response(self, answer: Answer, version: tuple[int, int], keep_alive: bool) -> bytes:
        fields = [
            b"Content-Type: " + CONTENT_TYPE.encode() + b"\r\n",
            b"Content-Length: %d\r\n" % len(answer.body),
            b"x-amz-crc32: %d\r\n" % zlib.crc32(answer.body),
            b"x-amzn-RequestId: " + answer.request_id.encode() + b"\r\n",
            b"Date: " + self._server.dates.now() + b"\r\n",
            SERVER,
            *self._connection_field(version, keep_alive),
        ]
        return _head(answer.status, version, fields) + answer.body

    def _error(self, error: AwsError, version: tuple[int, int]) -> bytes:
        return self._response(self._server.endpoint.refusal(error), version, keep_alive=False)

    def _other(self, message: RawRequestMessage, path: str, keep_alive: bool) -> bytes:
        """The health check, and what aiohttp answered for any other path or method."""
        version = message.version
        extra: list[bytes] = []
        if path != "/":
            status, body = 404, b"404: Not Found"
        elif message.method in ("GET", "HEAD"):
            status, body = 200, HEALTH.encode()
        else:
            status, body = 405, b"405: Method Not Allowed"
            extra = [b"Allow: GET, HEAD, POST\r\n"]
        fields = [
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Length: %d\r\n" % len(body),
            b"Date: " + self._server.dates.now() + b"\r\n",
            SERVER,
            *extra,
            *self._connection_field(version, keep_alive),
        ]
        return _head(status, version, fields) + (b"" if message.method == "HEAD" else body)

    @staticmethod
    def _connection_field(version: tuple[int, int], keep_alive: bool) -> list[bytes]:
        if version >= (1, 1):
            return [] if keep_alive else [b"Connection: close\r\n"]
        return [b"Connection: keep-alive\r\n"] if keep_alive else []
