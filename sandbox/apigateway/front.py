"""The app's HTTP front: what API Gateway does for an HTTP request, then the Lambda, then the reply.

One catch-all aiohttp handler: route with the app's router (it changes on reload), build the
API Gateway event, invoke, turn the result (or the failure) into a response, log one line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from aiohttp import web

from sandbox.apigateway import pages
from sandbox.apigateway.integration import HttpRequest, HttpResponse, Router, build_event, build_response
from sandbox.apigateway.livereload import inject_script
from sandbox.apigateway.proxy import Proxy, proxy_url
from sandbox.apigateway.static import resolve_static, static_response
from sandbox.apigateway.websocket import WebSocketApi
from sandbox.clock import Clock
from sandbox.errors import (
    HandlerFailedError,
    HandlerNotFoundError,
    HandlerTimeoutError,
    InvalidResponseError,
    InvocationError,
)
from sandbox.lambdas.invocations import new_request_id
from sandbox.lambdas.invoker import Invoker
from sandbox.model import Manifest

STATIC_PREFIX = "/_static"
REQUEST_LINE = "%s %s %d %.1fms %s"  # method, path, status, duration, request id


@dataclass(slots=True)  # one per request: slotted, not frozen (see sandbox.apigateway.types)
class Outcome:
    response: HttpResponse
    function: str | None = None


class FrontHost(Protocol):
    """What the front reads from the sandbox that owns it, at each request: the manifest, the router and
    the environment change when app.arc is edited, so the front keeps the owner, not copies."""

    @property
    def manifest(self) -> Manifest: ...
    @property
    def router(self) -> Router: ...
    @property
    def arc_env(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def invoker(self) -> Invoker: ...
    @property
    def proxy(self) -> Proxy: ...
    @property
    def ws(self) -> WebSocketApi: ...
    @property
    def serves_static_root(self) -> bool: ...
    @property
    def livereload_port(self) -> int | None: ...


class HttpFront:
    def __init__(self, sandbox: FrontHost, *, logger: logging.Logger) -> None:
        self._sandbox = sandbox
        self._logger = logger
        self._first_line: logging.LogRecord | None = None  # what every request line's record shares

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp application's way in: the connections the http port's own server hands over
        (`sandbox.apigateway.http_server`), @ws upgrades first among them."""
        ws = self._sandbox.ws  # @ws upgrades and the Management API share the http port, as on API Gateway
        if ws.wants(request):
            return await ws.upgrade(request)
        response = await self.answer(await _read_request(request))
        return _web_response(response, request.method)

    async def answer(self, request: HttpRequest) -> HttpResponse:
        """The response to one request, logged; a HEAD's keeps its body, whose length the server sends."""
        connection_id = self._sandbox.ws.management_id(unquote(request.path) if "%" in request.path else request.path)
        if connection_id is not None:
            return await self._sandbox.ws.answer_management(request.method, request.body, connection_id)
        started = time.perf_counter()
        request_id = new_request_id()
        outcome = await self._respond(request, request_id)
        response = self._with_livereload(outcome.response)
        if self._logger.isEnabledFor(logging.INFO):
            self._log(request, response.status, outcome, started, request_id)
        return response

    def _log(self, request: HttpRequest, status: int, outcome: Outcome, started: float, request_id: str) -> None:
        ms = (time.perf_counter() - started) * 1000
        # The record made and handled directly, as Logger.info would, less its search of the stack for
        # the caller's file and line (which no handler here shows): 40% of a request line's cost. And
        # not through LogRecord's constructor, which looks up again what every request line shares
        # (the logger, the level, this file, the thread and the process): a third of what was left.
        first = self._first_line
        if first is None:
            logger = self._logger
            first = self._first_line = logger.makeRecord(logger.name, logging.INFO, __file__, 0, REQUEST_LINE, (), None)
        record = logging.LogRecord.__new__(logging.LogRecord)
        fields = record.__dict__
        fields.update(first.__dict__)
        now = time.time()
        fields["created"] = now
        fields["msecs"] = int((now - int(now)) * 1000) + 0.0
        fields["relativeCreated"] = first.relativeCreated + (now - first.created) * 1000
        fields["args"] = (request.method, request.path, status, ms, request_id)
        fields["kind"] = "request"
        fields["status"] = status
        fields["function"] = outcome.function
        self._logger.handle(record)

    async def _respond(self, request: HttpRequest, request_id: str) -> Outcome:
        sandbox = self._sandbox
        manifest = sandbox.manifest
        if manifest.static is not None and (
            request.path == STATIC_PREFIX or request.path.startswith(STATIC_PREFIX + "/")
        ):
            return Outcome(await self._static(request, request.path[len(STATIC_PREFIX) :], spa=False))
        found = sandbox.router.match(request.method, request.path)
        if found is None:
            upstream = proxy_url(manifest.proxy, sandbox.arc_env) if manifest.aws.apigateway != "rest" else None
            if upstream is not None:
                return Outcome(await sandbox.proxy.forward(upstream, request))
            if manifest.static is not None and request.method in ("GET", "HEAD") and sandbox.serves_static_root:
                return Outcome(await self._static(request, request.path, spa=manifest.static.spa))
            return Outcome(pages.endpoint_not_found_page(request.method.lower(), request.path))
        route, match = found
        fn = route.function
        api_type = manifest.aws.apigateway
        event = build_event(api_type, request, match, request_id=request_id, now=sandbox.clock.now())
        try:
            result = await sandbox.invoker.invoke(fn, event, request_id=request_id)
            return Outcome(build_response(api_type, result), fn.name)
        except InvocationError as error:
            return Outcome(self._failure_page(fn.name, error, request_id), fn.name)

    def _failure_page(self, name: str, error: InvocationError, request_id: str) -> HttpResponse:
        if isinstance(error, HandlerFailedError):
            # The function's output (INFO lines) has shown the traceback already, unless the console is quiet.
            shown = self._logger.isEnabledFor(logging.INFO)
            detail = f"{error.error_type}: {error.error_message}" if shown else error.traceback.rstrip()
            self._logger.error("%s failed [%s]\n%s", name, request_id, detail)
            return pages.handler_error_page(
                name, self._sandbox.manifest.root, error.error_type, error.error_message, error.traceback
            )
        if isinstance(error, HandlerTimeoutError):
            self._logger.warning("%s timed out after %g s [%s]", name, error.timeout, request_id)
            return pages.timeout_page(name, error.timeout)
        if isinstance(error, HandlerNotFoundError):
            self._logger.error("%s [%s]", error.message, request_id)
            return pages.handler_not_found_page(name, error.looked_for, error.other_runtime)
        if isinstance(error, InvalidResponseError):
            self._logger.error("%s returned an invalid response: %s [%s]", name, error.message, request_id)
            return pages.invalid_response_page(name, error.message)
        self._logger.error("%s: %s [%s]", name, error.message, request_id)
        return pages.handler_error_page(name, self._sandbox.manifest.root, error.error_type, error.error_message, "")

    async def _static(self, request: HttpRequest, url_path: str, *, spa: bool) -> HttpResponse:
        static = self._sandbox.manifest.static
        assert static is not None
        folder = self._sandbox.manifest.root / static.folder
        if static.prefix and url_path.startswith(f"/{static.prefix}/"):
            url_path = url_path[len(static.prefix) + 1 :]
        if_none_match = next((v for k, v in request.headers if k.lower() == "if-none-match"), None)

        def read() -> HttpResponse:
            path = resolve_static(folder, url_path or "/", spa=spa)
            return static_response(path, if_none_match=if_none_match, folder=folder)

        # Disk reads and hashing a large file must not hold up the loop serving the other endpoints.
        return await asyncio.to_thread(read)

    def _with_livereload(self, response: HttpResponse) -> HttpResponse:
        livereload_port = self._sandbox.livereload_port
        if not livereload_port:
            return response
        headers = response.headers
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if not content_type.startswith("text/html"):
            return response
        encoding = next((v for k, v in headers if k.lower() == "content-encoding"), None)
        body = inject_script(response.body, content_encoding=encoding, port=livereload_port)
        return HttpResponse(response.status, headers, body)


def _web_response(response: HttpResponse, method: str) -> web.Response:
    body = response.body
    out = web.Response(status=response.status, body=b"" if method == "HEAD" else body)
    for key, value in response.headers:
        if key.lower() != "content-length":
            out.headers.add(key, value)
    if method == "HEAD":
        out.headers["Content-Length"] = str(len(body))
    return out


async def _read_request(request: web.Request) -> HttpRequest:
    # Without a body there is nothing to wait for (a GET): no trip through aiohttp's empty reader.
    body = await request.read() if request.body_exists else b""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport else None
    sockname = transport.get_extra_info("sockname") if transport else None
    local_port = sockname[1] if sockname else 0
    return HttpRequest(
        method=request.method,
        path=request.rel_url.raw_path,
        query_string=request.rel_url.raw_query_string,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
        body=body,
        source_ip=peer[0] if peer else "127.0.0.1",
        local_port=local_port,
        host=request.headers.get("Host", f"localhost:{local_port}"),
    )
