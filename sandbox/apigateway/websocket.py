"""@ws: an API Gateway WebSocket API on the http port, and its Management API (reference §2.10).

The `connect` function decides each upgrade (a 2xx `statusCode` accepts; any other status is
written and the socket closed). Each message goes to the @ws function named by its JSON body's
`action`, else to `default`; a closed socket invokes `disconnect`. Events carry API Gateway's full
`requestContext`. Functions answer a client through the Management API (`PostToConnection`,
`GetConnection`, `DeleteConnection`), served at Architect's `/_arc/ws/@connections/<id>` on the
internal port and at `/@connections/<id>` (also under the stage) where boto3's
`apigatewaymanagementapi` client posts when given the http or internal port as its endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from sandbox.apigateway.types import HttpResponse
from sandbox.clock import Clock
from sandbox.errors import HandlerNotFoundError, InvocationError
from sandbox.lambdas.invocations import new_request_id
from sandbox.model import Invoke, Json, Manifest, WsSpec

BUILT_IN = ("connect", "default", "disconnect")
MAX_MESSAGE = 128 * 1024  # API Gateway's WebSocket message limit
ID_CHARS = string.ascii_letters + string.digits
CONNECTIONS_PATH = "/@connections/{connection_id}"
ARCHITECT_PATH = "/_arc/ws/@connections/{connection_id}"
JSON_TEXT = "application/json; charset=utf-8"  # as aiohttp's json_response labels JSON
MANAGEMENT_PATH = re.compile(r"^(?:/[^/]+)?/@connections/([^/]+)$")


@dataclass
class Connection:
    id: str
    socket: web.WebSocketResponse
    connected_at: float
    source_ip: str
    user_agent: str
    headers: dict[str, str]
    multi_headers: dict[str, list[str]]
    query: dict[str, list[str]]
    last_active: float = 0.0
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # set once `disconnect` has run


def new_connection_id() -> str:
    """Shaped like API Gateway's: 15 characters and a trailing `=`, safe in a URL path."""
    return "".join(secrets.choice(ID_CHARS) for _ in range(15)) + "="


def _http_date(epoch: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


class WebSocketApi:
    def __init__(
        self,
        invoke: Invoke,
        manifest: Callable[[], Manifest],
        *,
        clock: Clock,
        stage: str,
        logger: logging.Logger | None = None,
    ) -> None:
        self._invoke = invoke
        self._manifest = manifest
        self._clock = clock
        self._stage = stage
        self._logger = logger or logging.getLogger("arc_sandbox.ws")
        self._connections: dict[str, Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the WebSocket API -------------------------------------------------------------------

    def wants(self, request: web.Request) -> bool:
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        return upgrade and request.method == "GET" and bool(self._manifest().ws)

    async def upgrade(self, request: web.Request) -> web.StreamResponse:
        routes = {spec.name: spec for spec in self._manifest().ws}
        pending = self._pending(request)
        event = self._event(pending, "$connect", "CONNECT", with_headers=True)
        if pending.query:  # API Gateway leaves both out when there is no query string
            event["queryStringParameters"] = {k: v[-1] for k, v in pending.query.items()}
            event["multiValueQueryStringParameters"] = pending.query
        started = time.perf_counter()
        status, protocol = await self._connect_status(routes["connect"], event)
        self._said("$connect", str(status), started, event)
        if not 200 <= status < 300:
            return web.Response(status=status)
        if protocol:  # the subprotocol `connect` chose answers the client's Sec-WebSocket-Protocol, as on AWS
            pending.socket = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, protocols=(protocol,))
        connection, socket = pending, pending.socket
        await socket.prepare(request)
        self._connections[connection.id] = connection
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    connection.last_active = self._clock.now()
                    self._spawn(self._message(connection, message.data))
                elif message.type == WSMsgType.BINARY:  # API Gateway refuses them so, and the client is gone
                    self._logger.warning("@ws binary frame from %s: closed with 1003, as API Gateway does "
                                         "(send text, e.g. base64)", connection.id)  # fmt: skip
                    await socket.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"Binary frames are not supported")
        finally:
            await self._disconnect(connection, routes, socket)
            self._connections.pop(connection.id, None)
            connection.finished.set()
        return socket

    def _pending(self, request: web.Request) -> Connection:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        multi: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi.setdefault(key, []).append(value)
        query: dict[str, list[str]] = {}
        for key, value in request.rel_url.query.items():
            query.setdefault(key, []).append(value)
        now = self._clock.now()
        return Connection(
            id=new_connection_id(), socket=web.WebSocketResponse(max_msg_size=MAX_MESSAGE), connected_at=now,
            last_active=now,
            source_ip=peer[0] if peer else "127.0.0.1", user_agent=request.headers.get("User-Agent", ""),
            headers={k: ", ".join(v) for k, v in multi.items()}, multi_headers=multi, query=query,
        )  # fmt: skip

    def _event(
        self, connection: Connection, route_key: str, event_type: str, *, with_headers: bool = False
    ) -> dict[str, Json]:
        now = self._clock.now()
        request_id = new_request_id()
        context: dict[str, Json] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": _http_date(now),
            "messageDirection": "IN",
            "stage": self._stage,
            "connectedAt": int(connection.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": request_id,
            "domainName": connection.headers.get("Host", "localhost"),
            "connectionId": connection.id,
            "apiId": "arcsandbox",
        }
        event: dict[str, Json] = {"requestContext": context, "isBase64Encoded": False}
        if with_headers:
            event["headers"] = dict(connection.headers)
            event["multiValueHeaders"] = {k: list(v) for k, v in connection.multi_headers.items()}
        return event

    async def _connect_status(self, spec: WsSpec, event: dict[str, Json]) -> tuple[int, str | None]:
        """The status `connect` answered, and the Sec-WebSocket-Protocol header it returned, if any."""
        try:
            result = await self._invoke(spec.function, event, request_id=str(event["requestContext"]["requestId"]))
        except InvocationError as error:
            self._logger.error("@ws connect failed: %s", error.message)
            return (502 if isinstance(error, HandlerNotFoundError) else 500), None  # Architect: no handler is a 502
        status = result.get("statusCode") if isinstance(result, dict) else None
        if isinstance(status, bool) or not isinstance(status, int):
            self._logger.error("@ws connect returned no statusCode (%r): the upgrade is refused with 502", result)
            return 502, None
        headers = result.get("headers") if isinstance(result, dict) else None
        found = {str(k).lower(): v for k, v in headers.items()} if isinstance(headers, dict) else {}
        protocol = found.get("sec-websocket-protocol")
        return status, protocol if isinstance(protocol, str) and protocol else None

    async def _message(self, connection: Connection, data: str) -> None:
        routes = {spec.name: spec for spec in self._manifest().ws}
        action = _action(data)
        name = action if action is not None and action in routes and action not in BUILT_IN else "default"
        event = self._event(connection, name if name != "default" else "$default", "MESSAGE")
        context = event["requestContext"]
        context["messageId"] = base64.b64encode(uuid.uuid4().bytes[:9]).decode()
        event["body"] = data
        request_id = str(context["requestId"])
        started = time.perf_counter()
        try:
            result = await self._invoke(routes[name].function, event, request_id=request_id)
            failed = (
                isinstance(result, dict) and isinstance(result.get("statusCode"), int) and result["statusCode"] >= 400
            )
            self._said(str(context["routeKey"]), f"answered {result['statusCode']}" if failed else "ok", started, event)
        except InvocationError as error:
            self._logger.error("@ws %s failed [%s]: %s", name, request_id, error.message)
            failed = True
        if failed and not connection.socket.closed:
            answer = {"message": "Internal server error", "connectionId": connection.id, "requestId": request_id}
            with contextlib.suppress(ConnectionError):
                await connection.socket.send_str(json.dumps(answer))

    async def _disconnect(
        self, connection: Connection, routes: dict[str, WsSpec], socket: web.WebSocketResponse
    ) -> None:
        event = self._event(connection, "$disconnect", "DISCONNECT", with_headers=True)
        event["requestContext"]["disconnectStatusCode"] = socket.close_code or 1005
        event["requestContext"]["disconnectReason"] = ""
        started = time.perf_counter()
        try:
            await self._invoke(
                routes["disconnect"].function, event, request_id=str(event["requestContext"]["requestId"])
            )
            self._said("$disconnect", "ok", started, event)
        except InvocationError as error:
            self._logger.error("@ws disconnect failed: %s", error.message)

    def _said(self, route_key: str, outcome: str, started: float, event: dict[str, Json]) -> None:
        """One line per invocation, as the bus writes for @events and @queues."""
        if self._logger.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000
            request_id = event["requestContext"]["requestId"]
            self._logger.info("@ws %s %s %.1fms [%s]", route_key, outcome, ms, request_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Return once every message received so far is handled and every closed socket's `disconnect` has run."""
        while True:
            closed = [c.finished.wait() for c in self._connections.values() if c.socket.closed]
            waits: list[asyncio.Future[Any]] = [*self._tasks, *map(asyncio.ensure_future, closed)]
            if not waits:
                return
            await asyncio.wait(waits)

    async def close_all(self) -> None:
        """On stop: close every socket (each `disconnect` runs), then let handlers finish."""
        for connection in list(self._connections.values()):
            await connection.socket.close(code=1001, message=b"Going away")
        await self.drain()

    # --- the Management API ------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        async def handle(request: web.Request) -> web.Response:
            return await self.manage(request, request.match_info["connection_id"])

        return [web.route("*", path, handle) for path in (ARCHITECT_PATH, CONNECTIONS_PATH)]

    def management_id(self, path: str) -> str | None:
        """The connection id when `path` is the Management API's, on the http port (with or without the stage)."""
        found = MANAGEMENT_PATH.match(path)
        return found.group(1) if found and self._manifest().ws else None

    async def manage(self, request: web.Request, connection_id: str) -> web.Response:
        body = await request.read() if request.method == "POST" else b""
        answer = await self.answer_management(request.method, body, connection_id)
        return web.Response(status=answer.status, body=answer.body or None, headers=answer.headers)

    async def answer_management(self, method: str, body: bytes, connection_id: str) -> HttpResponse:
        """The Management API's answer to `method` on one connection (`body`: a POST's message)."""
        connection = self._connections.get(connection_id)
        if connection is None or connection.socket.closed:
            return _error(410, "GoneException", None)
        if method == "POST":
            return await self._post(connection, body)
        if method == "GET":
            return HttpResponse(200, [("Content-Type", JSON_TEXT)], json.dumps(self._info(connection)).encode())
        if method == "DELETE":
            await connection.socket.close(code=1000)
            return HttpResponse(204, [], b"")
        return _error(405, "MethodNotAllowedException", f"{method} is not allowed on @connections")

    async def _post(self, connection: Connection, data: bytes) -> HttpResponse:
        if len(data) > MAX_MESSAGE:
            return _error(413, "PayloadTooLargeException", "Message too long")
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
        try:
            await (connection.socket.send_str(text) if text is not None else connection.socket.send_bytes(data))
        except ConnectionError:
            return _error(410, "GoneException", None)
        return HttpResponse(200, [], b"")

    def _info(self, connection: Connection) -> dict[str, Json]:
        return {
            "connectedAt": _iso(connection.connected_at),
            "lastActiveAt": _iso(connection.last_active),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        }


def _action(data: str) -> str | None:
    try:
        body = json.loads(data)
    except ValueError:
        return None
    action = body.get("action") if isinstance(body, dict) else None
    return action if isinstance(action, str) else None


def _error(status: int, code: str, message: str | None) -> HttpResponse:
    headers = [("x-amzn-ErrorType", code), ("Content-Type", "application/json")]
    return HttpResponse(status, headers, json.dumps({"message": message}).encode())
