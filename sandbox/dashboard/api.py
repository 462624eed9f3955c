"""The dashboard's HTTP side on the internal port: the page, its static files, a JSON API and a live stream.

Live updates are server-sent events: the recorder's started/log/finished notifications, and a
"bus" hint after anything done from here changes queues. The page refreshes what it shows when told.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from sandbox.bus import EventBus
from sandbox.dashboard import bus_state
from sandbox.dashboard.access import refusal
from sandbox.dashboard.recorder import InvocationRecorder
from sandbox.dashboard.tables import TablesView, checked_format
from sandbox.errors import NotFoundError, SandboxError, ValidationError
from sandbox.model import Json, Manifest
from sandbox.store import TableStore

API = "/_dashboard/api"
STATIC = "/_dashboard/static"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css", "favicon.svg": "image/svg+xml"}
STREAM_BACKLOG = 2000  # events a slow tab may fall behind by before it is told to reload its lists
STREAM_COALESCE = 0.1  # seconds of changes sent as one write: live to the eye, cheap under load

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Json, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


def guarded(handler: Handler) -> Handler:
    async def checked(request: web.Request) -> web.StreamResponse:
        reason = refusal(request)
        if reason is not None:
            return _json({"error": reason, "code": "Forbidden"}, status=403)
        try:
            return await handler(request)
        except SandboxError as error:
            status = error.status if error.status < 500 else 400
            return _json({"error": error.message, "code": error.aws_code}, status=status)

    return checked


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ValidationError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


class Dashboard:
    def __init__(
        self,
        *,
        recorder: InvocationRecorder,
        bus: EventBus,
        store: TableStore,
        manifest: Callable[[], Manifest],
        app_url: Callable[[], str],
    ) -> None:
        self.recorder = recorder
        self.bus = bus
        self.tables = TablesView(store)
        self._manifest = manifest
        self._app_url = app_url
        self._streams: set[asyncio.Queue[tuple[str, Json] | None]] = set()

    def routes(self) -> list[web.RouteDef]:
        g = guarded
        return [
            web.get("/", g(self.page)),
            web.get(STATIC + "/{name}", g(self.static)),
            web.get(API + "/overview", g(self.overview)),
            web.get(API + "/stream", g(self.stream)),
            web.get(API + "/invocations", g(self.invocations)),
            web.get(API + "/invocations/{key}", g(self.invocation)),
            web.get(API + "/queues", g(self.queues)),
            web.post(API + "/publish", g(self.publish)),
            web.post(API + "/dead-letters/replay", g(self.replay)),
            web.post(API + "/dead-letters/purge", g(self.purge)),
            web.get(API + "/tables", g(self.table_list)),
            web.get(API + "/tables/{table}/items", g(self.items)),
            web.post(API + "/tables/{table}/get", g(self.get_item)),
            web.put(API + "/tables/{table}/item", g(self.put_item)),
            web.delete(API + "/tables/{table}/item", g(self.delete_item)),
            web.get(API + "/schedules", g(self.schedules)),
            web.post(API + "/schedules/{name}/run", g(self.run_schedule)),
            web.get(API + "/routes", g(self.routes_list)),
        ]

    async def close(self) -> None:
        """End every live stream, so that stopping the internal port does not wait on open tabs."""
        for queue in list(self._streams):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    # --- page -----------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        body = page_html(self._overview_data())
        return web.Response(body=body, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise NotFoundError(f"no dashboard file {name!r}")
        return web.Response(body=_asset(name), content_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})

    async def overview(self, request: web.Request) -> web.StreamResponse:
        return _json(self._overview_data())

    def _overview_data(self) -> dict[str, Json]:
        m = self._manifest()
        functions = sorted({f.name for f in m.functions()})
        return {
            "app": m.app, "region": m.aws.region, "url": self._app_url(), "functions": functions,
            "tables": [t.name for t in m.tables],
            "recorded": self.recorder.recorded, "capacity": self.recorder.capacity,
        }  # fmt: skip

    # --- live stream --------------------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.StreamResponse:
        queue: asyncio.Queue[tuple[str, Json] | None] = asyncio.Queue(STREAM_BACKLOG)

        def listener(kind: str, data: Json) -> None:
            try:
                queue.put_nowait((kind, data))
            except asyncio.QueueFull:
                pass  # the tab fell behind; it reloads its lists on "resync" below

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        unsubscribe = self.recorder.subscribe(listener)
        self._streams.add(queue)
        try:
            await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
            while (batch := await _next_batch(queue)) is not None:
                counted = any(kind in ("started", "finished") for kind, _ in batch)
                tail = [("recorded", {"recorded": self.recorder.recorded})] if counted else []
                await response.write(b"".join(_event(kind, data) for kind, data in [*batch, *tail]))
                if queue.full():
                    await response.write(b"event: resync\ndata: {}\n\n")
        except ConnectionResetError:
            pass
        finally:
            unsubscribe()
            self._streams.discard(queue)
        return response

    def _tell(self, kind: str, data: Json) -> None:
        for queue in list(self._streams):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((kind, data))

    # --- invocations --------------------------------------------------------------------------

    async def invocations(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        before = int(q["before"]) if q.get("before", "").isdigit() else None
        limit = min(int(q["limit"]), 500) if q.get("limit", "").isdigit() and int(q["limit"]) > 0 else 100
        records, next_before = self.recorder.page(
            function=q.get("function") or None, status=q.get("status") or None, before=before, limit=limit
        )
        return _json({
            "invocations": [r.summary() for r in records], "next_before": next_before,
            "functions": self.recorder.functions(), "recorded": self.recorder.recorded,
        })  # fmt: skip

    async def invocation(self, request: web.Request) -> web.StreamResponse:
        """One call by its sequence number, or by request id the newest call that has it; with every kept
        call that shares its request id (an asynchronous invocation's attempts), each its own record."""
        key = request.match_info["key"]
        record = self.recorder.at(int(key)) if key.isdigit() else self.recorder.get(key)
        if record is None:
            raise NotFoundError("no recorded invocation with that number or request id (the oldest are forgotten)")
        attempts = [
            {"seq": r.seq, "attempt": r.attempt, "status": r.status, "started_at": r.started_at}
            for r in self.recorder.attempts(record.request_id)
        ]
        return _json({**record.detail(), "attempts": attempts})

    # --- events and queues ----------------------------------------------------------------------

    async def queues(self, request: web.Request) -> web.StreamResponse:
        return _json(bus_state.overview(self.bus))

    async def publish(self, request: web.Request) -> web.StreamResponse:
        message_id = await bus_state.publish(self.bus, await _body(request))
        self._tell("bus", {})
        return _json({"message_id": message_id})

    async def replay(self, request: web.Request) -> web.StreamResponse:
        ids = _ids(await _body(request), self.bus)
        replayed = [await bus_state.replay(self.bus, letter_id) for letter_id in ids]
        self._tell("bus", {})
        return _json({"replayed": len(replayed), "message_ids": replayed})

    async def purge(self, request: web.Request) -> web.StreamResponse:
        purged = await bus_state.purge(self.bus, _ids(await _body(request), self.bus))
        self._tell("bus", {})
        return _json({"purged": purged})

    # --- tables ---------------------------------------------------------------------------------

    async def table_list(self, request: web.Request) -> web.StreamResponse:
        return _json({"tables": await self.tables.list()})

    async def items(self, request: web.Request) -> web.StreamResponse:
        table = request.match_info["table"]
        page = await self.tables.page(table, request.query)
        return _json({**page, "table": self.tables.schema(table)})

    async def get_item(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        fmt = checked_format(body.get("format"))
        return _json({"item": await self.tables.get(request.match_info["table"], body.get("key"), fmt)})

    async def put_item(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        fmt = checked_format(body.get("format"))
        item = await self.tables.put(request.match_info["table"], body.get("item"), fmt, replaces=body.get("replaces"))
        return _json({"item": item})

    async def delete_item(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        fmt = checked_format(body.get("format"))
        return _json({"deleted": await self.tables.delete(request.match_info["table"], body.get("key"), fmt)})

    # --- schedules and routes -------------------------------------------------------------------

    async def schedules(self, request: web.Request) -> web.StreamResponse:
        return _json({"schedules": bus_state.schedules(self.bus, self._last_run), "now": self.bus.clock.now()})

    def _last_run(self, function: str) -> Json:
        record = self.recorder.last_of(function, "scheduled")
        return None if record is None else record.summary()

    async def run_schedule(self, request: web.Request) -> web.StreamResponse:
        result = await self.bus.invoke_now("scheduled", request.match_info["name"])
        return _json({"ok": result.ok, "request_id": result.request_id, "error": result.error})

    async def routes_list(self, request: web.Request) -> web.StreamResponse:
        m = self._manifest()
        base = self._app_url()
        routes = [
            {
                "method": r.method.upper(), "path": r.path, "function": r.function.name,
                "src": _relative(str(r.function.src_dir), str(m.root)), "url": base + _example_path(r.path),
                "kind": "http",
            }
            for r in m.http
        ]  # fmt: skip
        ws_url = "ws" + base.removeprefix("http")  # @ws upgrades share the http port, as on API Gateway
        routes += [
            {
                "method": "WS", "path": w.name, "function": w.function.name,
                "src": _relative(str(w.function.src_dir), str(m.root)), "url": ws_url, "kind": "ws",
            }
            for w in m.ws
        ]  # fmt: skip
        return _json({"routes": routes, "url": base, "ws_url": ws_url if m.ws else None})


async def _next_batch(queue: asyncio.Queue[tuple[str, Json] | None]) -> list[tuple[str, Json]] | None:
    """What happened in the next STREAM_COALESCE seconds, each call once in its latest state; None: closed.

    A busy app makes hundreds of calls a second: one write and one repaint for each would cost the
    app's own requests their CPU. Started-then-finished in one batch is sent as finished alone, after
    the batch's log lines (a call's lines come before it ends, so never in a later batch than its end).
    """
    first = await queue.get()
    if first is None:
        return None
    await asyncio.sleep(STREAM_COALESCE)
    items = [first]
    while not queue.empty():
        item = queue.get_nowait()
        if item is None:
            queue.put_nowait(None)  # send what we have, end on the next turn
            break
        items.append(item)
    latest: dict[Json, tuple[str, Json]] = {}  # by seq: an asynchronous invocation's attempts share a request id
    logs: list[tuple[str, Json]] = []
    for kind, data in items:
        if kind in ("started", "finished") and isinstance(data, dict):
            latest.pop(data.get("seq"), None)  # keep arrival order of the latest state
            latest[data.get("seq")] = (kind, data)
        else:
            logs.append((kind, data))
    return [*logs, *latest.values()]  # log lines first: a reader shows them under the call once it is finished


def _event(kind: str, data: Json) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def _ids(body: dict[str, Any], bus: EventBus) -> list[str]:
    """{"ids": [...]} or {"name": "queue-topic-or-function", "pragma"?: "events" | "queues" | "lambda"} or {"all": true}."""
    if isinstance(body.get("ids"), list) and all(isinstance(i, str) for i in body["ids"]):
        return list(body["ids"])
    if isinstance(body.get("name"), str):
        pragma = body.get("pragma")
        if pragma is not None and not isinstance(pragma, str):
            raise ValidationError("pragma must be a string")
        return bus_state.dead_letter_ids(bus, name=body["name"], pragma=pragma)
    if body.get("all") is True:
        return bus_state.dead_letter_ids(bus)
    raise ValidationError('expected {"ids": [...]}, {"name": "..."} or {"all": true}')


def _example_path(path: str) -> str:
    """A URL to open for a route: `*` and `:params` are left for the user to fill in, as written."""
    return path.replace("/*", "/")


def _relative(path: str, root: str) -> str:
    return path[len(root) + 1 :] if path.startswith(root + "/") else path


def page_html(overview: Json) -> bytes:
    """index.html with its stylesheet, the app's overview and the script inlined: the page's first
    request for data is the view's own, not three round trips later.

    The files stay separate in the package (and servable on their own) so they are edited as CSS and JS.
    """
    data = json.dumps(overview, default=str).replace("</", "<\\/")  # no "</script>" inside the script
    before, js, after = _page_template()
    return f"{before}<script>window.SANDBOX_OVERVIEW = {data};</script>\n<script>\n{js}</script>\n{after}".encode()


@functools.cache
def _page_template() -> tuple[str, str, str]:
    """The page around its inlined data, built once: (up to `</body>` with the CSS inlined, the script, the rest)."""
    html = _asset("index.html").decode()
    css, js = _asset("app.css").decode(), _asset("app.js").decode()
    html = html.replace(f'<link rel="stylesheet" href="{STATIC}/app.css">', f"<style>\n{css}</style>")
    html = html.replace(f'<script src="{STATIC}/app.js" defer></script>', "")
    before, body_end, after = html.partition("</body>")
    return before, js, body_end + after


@functools.cache
def _asset(name: str) -> bytes:
    """A file of the package's static folder, read once: it does not change while the sandbox runs."""
    return resources.files("sandbox.dashboard").joinpath("static", name).read_bytes()
