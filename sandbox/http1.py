"""The HTTP/1.1 connection the sandbox's own servers share (the tables port's and the http port's):
aiohttp's C parser under a plain asyncio protocol, with no `web.Application` around it, which cost
more than the work of the requests it carried. A server subclasses `Connection` with what its
answers are; this module keeps what every port needs:

- a header timeout: a connection that sends no complete request within it, from connecting or from
  its last answer, is closed (slowloris, and idle keep-alive connections);
- a body timeout (408), 413 past the body limit whether announced in Content-Length or reached while
  reading a chunked body, 400 for a body that cannot be read (broken chunks) or whose client went
  before it came (`read_body`, raising `BodyRefused`); bodies as sent, never decompressed here;
- keep-alive, pipelined requests answered in order, one task at a time (reading pauses while too
  many wait), and the bytes that follow an upgrade request kept for whoever takes the connection;
- every request reported to a `RequestTracker` (the server's `Listeners`), which drains them at
  shutdown and cancels the ones still running then: those get the subclass's 503;
- an answer given before its body was read closes the connection after reading and dropping what the
  client still sends for a moment, so that it sees the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from email.utils import formatdate
from typing import Any, Protocol

from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_response import REASON_PHRASES

from sandbox import guard

READ_LIMIT = 2**16  # a body is buffered up to twice this before reading from the socket pauses
READ_BUFFER = 2**16  # what one read from a socket takes at most
MAX_WAITING = 32  # pipelined requests parsed ahead of the one being answered before reading pauses
MAX_LINE = 8190
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class RequestTracker(Protocol):
    """Who counts the requests in flight: `server.Listeners`, which drains them and stops the overdue."""

    @property
    def overdue(self) -> bool:
        """The shutdown's grace period is over: a request cancelled now is answered 503."""
        ...

    def started(self, task: asyncio.Task[Any]) -> None: ...

    def finished(self, task: asyncio.Task[Any]) -> None: ...


class BodyRefused(Exception):
    """A body that was not read, and why: each server words it in its own error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a port's server is told: who may call it, who counts its requests, and its limits."""

    policy: guard.HostPolicy
    tracker: RequestTracker
    header_timeout: float
    body_timeout: float
    max_body: int
    linger: float  # how long an early answer's connection reads and drops what the client still sends
    logger: logging.Logger


REASONS = {status: phrase.encode() for status, phrase in REASON_PHRASES.items()}  # encoded once, not per answer


def status_line(status: int, version: tuple[int, int]) -> bytes:
    return b"HTTP/%d.%d %d %s\r\n" % (version[0], version[1], status, REASONS.get(status, b""))


def connection_field(version: tuple[int, int], keep_alive: bool) -> bytes:
    """The Connection header an answer needs: HTTP/1.1 keeps connections open, HTTP/1.0 closes them."""
    if version >= (1, 1):
        return b"" if keep_alive else b"Connection: close\r\n"
    return b"Connection: keep-alive\r\n" if keep_alive else b""


class Dates:
    """The Date header's value, formatted once a second rather than once an answer."""

    def __init__(self) -> None:
        self._second = 0
        self._value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True).encode()
        return self._value


class Server:
    """What the connections of one port share: its settings, one read buffer, and the Date header."""

    def __init__(self, settings: Settings) -> None:
        self.policy = settings.policy
        self.tracker = settings.tracker
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.max_body = settings.max_body
        self.linger = settings.linger
        self.logger = settings.logger
        self.connections: set[Connection] = set()
        # One buffer every connection reads into, and copies out of at once (they share the loop's thread):
        # asyncio's own reads made a fresh 256 KiB object for every request, a third of a GetItem's time.
        self.read_buffer = memoryview(bytearray(READ_BUFFER))
        self.dates = Dates()

    def close_connections(self) -> None:
        for connection in list(self.connections):
            connection.close()

    def too_large(self) -> BodyRefused:
        message = f"Request Entity Too Large: the body is over the sandbox's limit of {self.max_body:,} bytes"
        return BodyRefused(413, "RequestEntityTooLarge", message)


class Connection(BaseProtocol, asyncio.BufferedProtocol):
    """One client connection: parses requests as they arrive and answers them in order, one task at a time."""

    port_name = "a port"  # for the log line of a request that failed on our side
    max_field_size = 8190

    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._server = server
        # Set after the base's constructor, which takes no parser before aiohttp 3.11: its flow
        # control pauses the parser along with the socket while a body's buffer is full.
        self._parser: Any = HttpRequestParser(
            self,
            loop,
            READ_LIMIT,
            max_line_size=MAX_LINE,
            max_field_size=self.max_field_size,
            payload_exception=RequestPayloadError,
            # Bodies as sent: API Gateway hands a compressed body to the function as it came, and the
            # tables port decodes its own (dynamodb/content_encoding.py), checking what aiohttp's does not.
            auto_decompress=False,
        )
        self._waiting: collections.deque[tuple[RawRequestMessage, StreamReader] | HttpProcessingError] = (
            collections.deque()
        )
        self._task: asyncio.Task[None] | None = None
        self._reading: StreamReader | None = None  # the body being read, to fail it if the client goes
        self._idle_since = loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._buffer_paused = False
        self._done = False  # no more requests are parsed: closing, lingering after an early answer, handed over
        self._after_upgrade: list[bytes] | None = None  # what came after an upgrade request, for its new owner

    # --- what a server says ------------------------------------------------------------------

    async def answer(self, message: RawRequestMessage, payload: StreamReader) -> tuple[bytes, bool, bool]:
        """(the answer's bytes, whether the connection stays open, whether the body was read to its end)."""
        raise NotImplementedError

    def unparsable(self, error: HttpProcessingError) -> bytes:
        """The answer to a request the parser refused; the connection closes after it."""
        raise NotImplementedError

    def stopped(self, message: RawRequestMessage) -> bytes:
        """The 503 of a request the sandbox's shutdown cancelled."""
        raise NotImplementedError

    def failed(self, message: RawRequestMessage) -> bytes:
        """The 500 of a request that failed on our side (logged)."""
        raise NotImplementedError

    def hands_over(self, message: RawRequestMessage) -> bool:
        """Whether this request took the connection elsewhere (every answer before it written)."""
        return False

    # --- the connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._server.connections.add(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self.forget()
        if self._reading is not None:  # the request's handler keeps running; a body still awaited never comes
            self._reading.set_exception(ConnectionResetError("the client closed the connection"))

    def forget(self) -> None:
        """No more of this connection here: gone, or given to another protocol."""
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
            return  # gone, busy (the timer is armed again once the answers are written), or closing
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
            self._after_upgrade.append(data)  # the upgraded protocol's first bytes, kept for its new owner
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

    def take_after_upgrade(self) -> bytes:
        """The bytes that followed an upgrade request, for the protocol that takes the connection."""
        rest = b"".join(self._after_upgrade or ())
        self._after_upgrade = None
        return rest

    async def read_body(self, message: RawRequestMessage, payload: StreamReader) -> bytes:
        """The whole body, in bounded time and size; BodyRefused says why not."""
        server = self._server
        declared = message.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > server.max_body:
            raise server.too_large()
        try:
            if payload.is_eof():  # all of it came with the headers: the usual case
                body = payload.read_nowait(-1)
            else:
                body = await self._read_slowly(payload)
        except TimeoutError:
            raise BodyRefused(
                408, "RequestTimeout", f"the body did not arrive within {server.body_timeout:g}s"
            ) from None
        except RequestPayloadError as error:  # a broken chunked encoding
            raise BodyRefused(400, "SerializationException", f"the request body could not be read: {error}") from None
        except ConnectionResetError:  # the client went before its body came: no one to answer, nothing to log
            raise BodyRefused(
                400, "SerializationException", "the client closed the connection before its body came"
            ) from None
        if len(body) > server.max_body:
            raise server.too_large()
        return body

    async def _read_slowly(self, payload: StreamReader) -> bytes:
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
                    self.write(self.unparsable(request), keep_alive=False, body_read=True)
                    return
                message, payload = request
                if message.version < (1, 0):  # aiohttp's parser reads a line with no version as HTTP/0.9
                    refused = BadHttpMessage(f"HTTP/{message.version[0]}.{message.version[1]} is not supported")
                    self.write(self.unparsable(refused), keep_alive=False, body_read=True)
                    return
                if self.hands_over(message):
                    return
                tracker.started(task)
                try:
                    answer, keep_alive, body_read = await self.answer(message, payload)
                except asyncio.CancelledError:
                    if not tracker.overdue:
                        raise
                    task.uncancel()
                    answer, keep_alive, body_read = self.stopped(message), False, False
                except Exception:  # a bug of ours: answered and logged
                    self._server.logger.exception("%s failed to answer a request", self.port_name)
                    answer, keep_alive, body_read = self.failed(message), False, False
                finally:
                    self._reading = None
                    tracker.finished(task)
                if not self.write(answer, keep_alive=keep_alive, body_read=body_read):
                    return
        finally:
            self._task = None
            self._idle_since = self._loop.time()
            if self.transport is not None and not self._done:
                self._arm_idle_timer()

    def write(self, answer: bytes, *, keep_alive: bool, body_read: bool) -> bool:
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
