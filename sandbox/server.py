"""aiohttp applications for every port the sandbox serves, and `Listeners`, which serves them all.

- http (3333): the app itself, through `front.HttpFront`, served by `apigateway/http_server.py`; the
  aiohttp application below takes the connections it hands over (@ws upgrades)
- events (4444): the bus listener that architect-functions posts to
- tables (5555): DynamoDB's JSON 1.0 protocol
- internal (2222): SSM discovery (`/_arc/ssm`) and the livereload socket

Every port gets the same protections (on the aiohttp applications one middleware, `_middleware`; the
tables and http ports' own servers do the same themselves): the `guard.py` checks (on the http port
only for the sandbox's own `/_arc/` and `/_sandbox/` paths), a body read timeout, 413 for a body over
the limit, a header timeout (a connection that sends no complete request in time is closed), and a
cap on open connections below the process's file limit. `Listeners.stop_accepting()`
closes every listening socket at once; `drain()` gives in-flight requests one grace period,
together; `close()` answers 503 to any still running, then closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import resource
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from sandbox import guard, http1
from sandbox.apigateway.front import FrontHost, HttpFront
from sandbox.apigateway.http_server import HttpPortServer
from sandbox.dynamodb import protocol as dynamo_protocol
from sandbox.dynamodb.http_protocol import TablesHttpServer
from sandbox.errors import PortInUseError

CLIENT_MAX_SIZE = 10 * 1024 * 1024  # above API Gateway's 10 MB so that the 6 MB Lambda limit is what answers
MAX_PORT_TRIES = 50
ACCEPT_BACKLOG = 100
LINGER_SECONDS = 1.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorResponse = Callable[[int, str, str], web.Response]  # (status, code, message)


def build_http_app(front: HttpFront) -> web.Application:
    app = web.Application(client_max_size=CLIENT_MAX_SIZE, handler_args={"max_field_size": 65536})
    app.router.add_route("*", "/{tail:.*}", front.handle)
    return app


def build_service_app(
    routes: Iterable[web.RouteDef], *, max_body: int = CLIENT_MAX_SIZE, middlewares: Iterable[Middleware] = ()
) -> web.Application:
    app = web.Application(client_max_size=max_body, middlewares=list(middlewares))
    app.add_routes(list(routes))
    return app


# --- errors in each port's own shape ---------------------------------------------------------------


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": message, "code": code}, status=status)


def _dynamo_error(status: int, code: str, message: str) -> web.Response:
    body = json.dumps({"__type": dynamo_protocol.ERROR_PREFIX + code, "message": message})
    return web.Response(status=status, text=body, content_type=dynamo_protocol.CONTENT_TYPE)


def _gateway_error(status: int, code: str, message: str) -> web.Response:
    """API Gateway answers its own refusals with {"message": ...}."""
    return web.json_response({"message": message}, status=status)


ERROR_SHAPES: dict[str, ErrorResponse] = {"tables": _dynamo_error, "http": _gateway_error}


# --- limits --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 15.0  # from connecting (or the last response) to a complete request line and headers
    body_timeout: float = 30.0  # to receive the whole body once the headers are in
    max_body: int = CLIENT_MAX_SIZE
    max_connections: int | None = None  # None: three quarters of the process's file limit

    def connection_cap(self) -> int:
        if self.max_connections is not None:
            return self.max_connections
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 10_000
        # The rest is for the database, handler processes' pipes, the files handlers open, and the
        # connections accepted in one go before the count catches up (up to the accept backlog).
        return max(8, soft - max(ACCEPT_BACKLOG + 28, soft // 4))


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed at once, so that it gives its file descriptor back."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        else:
            transport.close()


class Listeners:
    """Every port of one sandbox: accepting, the protections, and one shutdown for them all."""

    def __init__(self, *, limits: Limits, policy: guard.HostPolicy, logger: logging.Logger) -> None:
        self.limits = limits
        self.policy = policy
        self._logger = logger
        self._cap = limits.connection_cap()
        self._runners: list[web.AppRunner] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._own: list[http1.Server] = []  # the tables and http ports' own HTTP/1.1 servers
        self._awaiting_request: dict[RequestHandler, asyncio.TimerHandle] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._long_lived: set[asyncio.Task[Any]] = set()  # websockets: they never finish on their own
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._started_request = asyncio.Event()
        self._overdue = False  # the grace period is over: what still runs gets a 503
        self._at_cap = False

    @property
    def in_flight(self) -> int:
        """Requests being handled now (websockets left out)."""
        return len(self._in_flight)

    async def until_in_flight(self, count: int) -> None:
        """Return once `count` requests are being handled at the same time (for tests)."""
        while len(self._in_flight) < count:
            self._started_request.clear()
            await self._started_request.wait()

    @property
    def open_connections(self) -> int:
        apps = sum(len(runner.server.connections) for runner in self._runners if runner.server is not None)
        return apps + sum(len(server.connections) for server in self._own)

    @property
    def overdue(self) -> bool:
        return self._overdue

    def _settings(self, max_body: int) -> http1.Settings:
        """What a port's own HTTP/1.1 server is told: the protections every port has, and its body limit."""
        return http1.Settings(
            policy=self.policy,
            tracker=self,
            header_timeout=self.limits.header_timeout,
            body_timeout=self.limits.body_timeout,
            max_body=max_body,
            linger=LINGER_SECONDS,
            logger=self._logger,
        )

    async def listen_tables(
        self, endpoint: dynamo_protocol.DynamoEndpoint, *, host: str, port: int, fixed: bool = True
    ) -> int:
        """Serve DynamoDB's protocol on host:port with the tables port's own HTTP server (`http_protocol.py`),
        under the same protections, cap and shutdown as the aiohttp ports; returns the real port."""
        server = TablesHttpServer(
            endpoint, self._settings(max(self.limits.max_body, dynamo_protocol.MAX_REQUEST_BYTES))
        )
        self._own.append(server)
        return await self._bind(self._capped(server.connection), service="tables", host=host, port=port, fixed=fixed)

    async def listen_http(
        self, sandbox: FrontHost, *, logger: logging.Logger, host: str, port: int, fixed: bool = True
    ) -> int:
        """Serve the app's http port with its own HTTP server (`apigateway/http_server.py`), under the same
        protections, cap and shutdown; the connections it hands over (@ws upgrades) go to the aiohttp
        application, which `listen` sets up as it does every other port's. Returns the real port."""
        front = HttpFront(sandbox, logger=logger)
        runner = await self._runner(build_http_app(front), service="http")
        assert runner.server is not None
        server = HttpPortServer(
            front, hand_over=runner.server, settings=self._settings(max(self.limits.max_body, CLIENT_MAX_SIZE))
        )
        self._own.append(server)
        return await self._bind(self._capped(server.connection), service="http", host=host, port=port, fixed=fixed)

    async def listen(self, app: web.Application, *, service: str, host: str, port: int, fixed: bool = True) -> int:
        """Serve `app` on host:port and return the real port (port 0 asks the OS for one).

        A busy port is an error when it was asked for (`fixed`); otherwise the next ports are tried,
        as Architect does for its events, tables and internal ports.
        """
        runner = await self._runner(app, service=service)
        assert runner.server is not None
        return await self._bind(self._factory(runner.server), service=service, host=host, port=port, fixed=fixed)

    async def _runner(self, app: web.Application, *, service: str) -> web.AppRunner:
        app.middlewares.insert(0, self._middleware(service))
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self.limits.header_timeout,
            # After answering early (408, 413), aiohttp reads and drops the rest of the body for this
            # long before closing, so the client sees the answer rather than a reset; 10 s by default.
            lingering_time=LINGER_SECONDS,
            shutdown_timeout=1.0,  # by then `close()` has answered every request still running
        )
        await runner.setup()
        self._runners.append(runner)
        return runner

    async def _bind(
        self, factory: Callable[[], asyncio.BaseProtocol], *, service: str, host: str, port: int, fixed: bool
    ) -> int:
        tries = 1 if fixed or port == 0 else MAX_PORT_TRIES
        loop = asyncio.get_running_loop()
        for attempt in range(tries):
            try:
                server = await loop.create_server(
                    factory, host, port + attempt, reuse_address=True, backlog=ACCEPT_BACKLOG
                )
            except OSError as error:
                if error.errno not in (errno.EADDRINUSE, errno.EACCES) or attempt == tries - 1:
                    raise PortInUseError(service, host, port + attempt) from error
                continue
            self._servers.append(server)
            sockets = server.sockets
            return int(sockets[0].getsockname()[1]) if sockets else port + attempt
        raise PortInUseError(service, host, port)

    # --- connections ---------------------------------------------------------------------------

    def _factory(self, server: web.Server) -> Callable[[], asyncio.BaseProtocol]:
        loop = asyncio.get_running_loop()

        def handler() -> asyncio.BaseProtocol:
            protocol = server()
            # aiohttp closes a connection idle between requests (keepalive_timeout); this closes one
            # that never completes its first request (slowloris), whatever aiohttp's version does.
            timer = loop.call_later(self.limits.header_timeout, self._no_request_in_time, protocol)
            self._awaiting_request[protocol] = timer
            return protocol

        return self._capped(handler)

    def _capped(self, make: Callable[[], asyncio.BaseProtocol]) -> Callable[[], asyncio.BaseProtocol]:
        """`make`'s connections, refused over the cap shared by every port."""

        def connection() -> asyncio.BaseProtocol:
            if self.open_connections >= self._cap:
                if not self._at_cap:
                    self._at_cap = True
                    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
                    self._logger.warning(
                        "%d connections open, the most the sandbox takes (file limit %s, `ulimit -n`): "
                        "closing new connections until some finish",
                        self._cap,
                        soft,
                    )
                return _Refused()
            if self._at_cap:
                self._at_cap = False
                self._logger.warning("connections below the cap again: accepting new ones")
            return make()

        return connection

    def _no_request_in_time(self, handler: RequestHandler) -> None:
        self._awaiting_request.pop(handler, None)
        if handler.transport is not None:
            self._logger.debug("closing a connection that sent no complete request in %gs", self.limits.header_timeout)
            handler.transport.close()

    # --- requests ------------------------------------------------------------------------------

    def _middleware(self, service: str) -> Any:
        error = ERROR_SHAPES.get(service, _json_error)

        @web.middleware
        async def protect(request: web.Request, handler: Handler) -> web.StreamResponse:
            timer = self._awaiting_request.pop(request.protocol, None)
            if timer is not None:
                timer.cancel()
            if guard.guards_path(service, request.path):
                refusal = guard.check(request.method, request.headers, self.policy)
                if refusal is not None:
                    return error(403, "AccessDeniedException", refusal)
            if request.body_exists:
                refused = await self._read_body(request, error)
                if refused is not None:
                    return refused
            return await self._track(request, handler, error)

        return protect

    async def _read_body(self, request: web.Request, error: ErrorResponse) -> web.Response | None:
        """Read the whole body now, in bounded time and size; the handler gets it from aiohttp's cache."""
        # Each app's own client_max_size: DynamoDB takes bodies up to 16 MB, the other ports up to max_body.
        limit = max(self.limits.max_body, request.app._client_max_size)
        too_large = f"Request Entity Too Large: the body is over the sandbox's limit of {limit:,} bytes"
        if request.content_length is not None and request.content_length > limit:
            response = error(413, "RequestEntityTooLarge", too_large)
            response.force_close()  # the rest of the body is never read
            return response
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                await request.read()
        except TimeoutError:
            response = error(408, "RequestTimeout", f"the body did not arrive within {self.limits.body_timeout:g}s")
        except web.HTTPRequestEntityTooLarge:
            response = error(413, "RequestEntityTooLarge", too_large)
        except (ContentEncodingError, RequestPayloadError) as exc:  # a client's broken gzip is its own error
            response = error(400, "SerializationException", f"the request body could not be read: {exc}")
        else:
            return None
        response.force_close()
        return response

    async def _track(self, request: web.Request, handler: Handler, error: ErrorResponse) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        long_lived = request.headers.get("Upgrade", "").lower() == "websocket"
        if long_lived:
            self._long_lived.add(task)
        else:
            self.started(task)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            if not self._overdue or long_lived:
                raise
            task.uncancel()
            response = error(503, "ServiceUnavailable", "the sandbox stopped before this request finished")
            response.force_close()
            return response
        finally:
            if long_lived:
                self._long_lived.discard(task)
            else:
                self.finished(task)

    def started(self, task: asyncio.Task[Any]) -> None:
        """A request is being handled by `task` (the tables port reports its own)."""
        self._in_flight.add(task)
        self._quiet.clear()
        self._started_request.set()

    def finished(self, task: asyncio.Task[Any]) -> None:
        self._in_flight.discard(task)
        if not self._in_flight:
            self._quiet.set()

    # --- stopping ------------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """Close every listening socket at once; open connections and their requests carry on."""
        for server in self._servers:
            server.close()

    async def drain(self, grace: float) -> None:
        """Return once no request is in flight, or after `grace` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._quiet.wait()

    async def close(self) -> None:
        """Answer 503 to every request still running, then close every connection. Safe to call twice."""
        self.stop_accepting()
        self._overdue = True
        for task in self._in_flight | self._long_lived:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):  # the 503s are written
                await self._quiet.wait()
        for timer in self._awaiting_request.values():
            timer.cancel()
        self._awaiting_request.clear()
        for own in self._own:
            own.close_connections()
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
        servers, self._servers = self._servers, []
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
