"""aiohttp applications for every port the sandbox serves, and `serve()` to run one.

- http (3333): the app itself, through `front.HttpFront`
- events (4444): the bus listener that architect-functions posts to
- tables (5555): DynamoDB's JSON 1.0 protocol
- internal (2222): SSM discovery (`/_arc/ssm`) and the livereload socket
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.errors import PortInUseError
from sandbox.front import HttpFront

if TYPE_CHECKING:
    from sandbox.sandbox import Sandbox

CLIENT_MAX_SIZE = 10 * 1024 * 1024  # above API Gateway's 10 MB so that the 6 MB Lambda limit is what answers
MAX_PORT_TRIES = 50


def build_http_app(sandbox: Sandbox, *, logger: logging.Logger) -> web.Application:
    app = web.Application(client_max_size=CLIENT_MAX_SIZE, handler_args={"max_field_size": 65536})
    app.router.add_route("*", "/{tail:.*}", HttpFront(sandbox, logger=logger).handle)
    return app


def build_service_app(routes: Iterable[web.RouteDef], *, middlewares: Iterable[Middleware] = ()) -> web.Application:
    app = web.Application(client_max_size=CLIENT_MAX_SIZE, middlewares=list(middlewares))
    app.add_routes(list(routes))
    return app


@contextlib.asynccontextmanager
async def serve(app: web.Application, *, service: str, host: str, port: int, fixed: bool = True) -> AsyncIterator[int]:
    """Listen on host:port and yield the real port (port 0 asks the OS for one).

    A busy port is an error when it was asked for (`fixed`); otherwise the next ports are tried,
    as Architect does for its events, tables and internal ports.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
    await runner.setup()
    try:
        bound = await _bind(runner, service=service, host=host, port=port, fixed=fixed)
        yield bound
    finally:
        await runner.cleanup()


async def _bind(runner: web.AppRunner, *, service: str, host: str, port: int, fixed: bool) -> int:
    tries = 1 if fixed or port == 0 else MAX_PORT_TRIES
    for attempt in range(tries):
        site = web.TCPSite(runner, host, port + attempt, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            with contextlib.suppress(Exception):
                await site.stop()
            if error.errno not in (errno.EADDRINUSE, errno.EACCES) or attempt == tries - 1:
                raise PortInUseError(service, host, port + attempt) from error
            continue
        server = site._server  # the real port when 0 was asked for
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port + attempt
    raise PortInUseError(service, host, port)
