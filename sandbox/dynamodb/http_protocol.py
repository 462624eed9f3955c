"""The tables port's HTTP/1.1 server: the connection of `sandbox/http1.py` answering DynamoDB's one
route itself, without an aiohttp `web.Application` around it.

Under the raw-HTTP load a web application's request, response and middleware objects cost more than
the DynamoDB operation they carry (an app answering `{}` at once reached a quarter of the rate of a
protocol writing fixed bytes). What this port adds to the shared connection:

- `POST /` runs the request through `DynamoEndpoint` (X-Amz-Target picks the operation, DynamoDB
  Streams' included); `GET /` and `HEAD /` answer the health check; other paths 404, other methods 405.
- the `guard.py` checks, before the body is read.
- gzip and deflate bodies (Content-Encoding) decompressed whole before anything runs (`content_encoding.py`):
  a broken, truncated or unknown one a 400 SerializationException, one too large once inflated a 413;
  `Expect: 100-continue` answered before a body is read; HTTP/1.0.
- the refusals of the HTTP layer (403, 408, 413, 503) in DynamoDB's error shape.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader

from sandbox import guard, http1
from sandbox.dynamodb import content_encoding
from sandbox.dynamodb.protocol import CONTENT_TYPE, HEALTH
from sandbox.errors import AwsError, SerializationError

if TYPE_CHECKING:
    from sandbox.dynamodb.protocol import Answer, DynamoEndpoint

SERVER = b"Server: arc-sandbox\r\n"  # DynamoDB names itself in every answer, and clients may look


class _Refusal(AwsError):
    """An answer the HTTP layer gives on its own (403, 408, 413), in DynamoDB's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status  # type: ignore[misc]  # per instance here, not per class
        self.aws_code = code  # type: ignore[misc]


class TablesHttpServer(http1.Server):
    """The connections of one tables port: `connection()` is the protocol factory for `create_server`."""

    def __init__(self, endpoint: DynamoEndpoint, settings: http1.Settings) -> None:
        super().__init__(settings)
        self.endpoint = endpoint

    def connection(self) -> asyncio.BaseProtocol:
        return _Connection(self, asyncio.get_running_loop())


def _head(status: int, version: tuple[int, int], fields: list[bytes]) -> bytes:
    return http1.status_line(status, version) + b"".join(fields) + b"\r\n"


class _Connection(http1.Connection):
    """One client connection of the tables port."""

    port_name = "the tables port"
    _server: TablesHttpServer

    def unparsable(self, error: HttpProcessingError) -> bytes:
        return self._error(SerializationError(f"The request could not be parsed: {error.message}"), (1, 1))

    def stopped(self, message: RawRequestMessage) -> bytes:
        return self._error(
            _Refusal(503, "ServiceUnavailable", "the sandbox stopped before this request finished"), message.version
        )

    def failed(self, message: RawRequestMessage) -> bytes:
        return self._error(_Refusal(500, "InternalServerError", "Internal server error"), message.version)

    async def answer(self, message: RawRequestMessage, payload: StreamReader) -> tuple[bytes, bool, bool]:
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
        if not payload.is_eof() and version >= (1, 1) and headers.get("Expect", "").lower() == "100-continue":
            assert self.transport is not None
            self.transport.write(http1.CONTINUE)
        try:
            body = content_encoding.decoded(
                await self.read_body(message, payload), headers.get("Content-Encoding"), server.max_body
            )
        except http1.BodyRefused as problem:
            return self._error(_Refusal(problem.status, problem.code, problem.message), version), False, False
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

    # --- answers as bytes ----------------------------------------------------------------------

    def _response(self, answer: Answer, version: tuple[int, int], keep_alive: bool) -> bytes:
        fields = [
            b"Content-Type: " + CONTENT_TYPE.encode() + b"\r\n",
            b"Content-Length: %d\r\n" % len(answer.body),
            b"x-amz-crc32: %d\r\n" % zlib.crc32(answer.body),
            b"x-amzn-RequestId: " + answer.request_id.encode() + b"\r\n",
            b"Date: " + self._server.dates.now() + b"\r\n",
            SERVER,
            http1.connection_field(version, keep_alive),
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
            http1.connection_field(version, keep_alive),
        ]
        return _head(status, version, fields) + (b"" if message.method == "HEAD" else body)
