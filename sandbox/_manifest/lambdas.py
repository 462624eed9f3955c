"""Lambda pragmas: @http, @events, @queues, @scheduled and @ws into model specs."""

from __future__ import annotations

from sandbox._manifest import values as v
from sandbox._manifest.functions import FunctionFactory
from sandbox._manifest.nodes import ArcDoc, Item, MapEntry
from sandbox._manifest.routes import route_folder, route_problem, sort_routes
from sandbox.model import EventSpec, HttpRoute, QueueSpec, WsSpec

HTTP_KEYS = ("method", "src")
EVENT_KEYS = ("src",)
WS_BUILT_IN = ("connect", "default", "disconnect")  # Architect adds these three to every @ws
QUEUE_KEYS = ("src", "fifo", "batchSize", "batchWindow", "visibility", "visibilityTimeout")
MAX_BATCH = 10000
MAX_WINDOW = 300


def _check_keys(doc: ArcDoc, item: Item, what: str, known: tuple[str, ...]) -> None:
    for entry in item.entries:
        if entry.key not in known:
            raise v.unknown(doc, entry, what, known)


def _route(doc: ArcDoc, item: Item) -> tuple[str, str]:
    if item.kind == "map":
        _check_keys(doc, item, f"@http {item.name}", HTTP_KEYS)
        method = item.entry("method")
        if method is None:
            raise doc.error(item.line, f"@http {item.name}: add a `method get` (or post, put, …) line under it")
        return str(v.one(doc, method, "method")).lower(), item.name
    if item.kind != "array" or len(item.values) != 2:
        shown = item.name if item.kind == "vector" else " ".join(item.texts)
        raise doc.error(item.line, f"@http {shown!r}: expected `method /path`")
    return item.texts[0].lower(), item.texts[1]


def http_routes(doc: ArcDoc, factory: FunctionFactory, views: set[tuple[str, str]] | None) -> tuple[HttpRoute, ...]:
    section = doc.get("http")
    seen: dict[tuple[str, str], Item] = {}
    for item in section.items if section else ():
        route = _route(doc, item)
        problem = route_problem(*route)
        if problem:
            raise doc.error(item.line, problem)
        if route in seen:
            first = seen[route].line
            raise doc.error(item.line, f"duplicate route {' '.join(route)}{v.first_on(first)}")
        seen[route] = item
    routes = []
    for method, path in sort_routes(list(seen)):
        item = seen[(method, path)]
        src_dir = factory.src_dir("http", route_folder(method, path), item.entry("src"))
        gets_views = method in ("get", "any") and (views is None or (method, path) in views)
        spec = factory.build("http", f"{method} {path}", src_dir, views=gets_views).spec
        routes.append(HttpRoute(method, path, spec))
    return tuple(routes)


def _named_items(doc: ArcDoc, pragma: str, what: str, known: tuple[str, ...]) -> list[tuple[str, Item]]:
    section = doc.get(pragma)
    seen: dict[str, Item] = {}
    for item in section.items if section else ():
        name = v.name(doc, item, what)
        if item.kind == "vector":
            raise doc.error(item.line, f"{what} {name!r}: expected `key value` lines under it")
        if name in seen:
            raise doc.error(item.line, f"duplicate {what} {name!r}{v.first_on(seen[name].line)}")
        _check_keys(doc, item, f"@{pragma} {name}", known)
        seen[name] = item
    return list(seen.items())


def events(doc: ArcDoc, factory: FunctionFactory) -> tuple[EventSpec, ...]:
    found = []
    for name, item in _named_items(doc, "events", "event", EVENT_KEYS):
        src_dir = factory.src_dir("events", name, item.entry("src"))
        found.append(EventSpec(name, factory.build("events", name, src_dir).spec))
    return tuple(found)


def _queue_option(doc: ArcDoc, entry: MapEntry, name: str) -> tuple[str, object]:
    what = f"@queues {name} {entry.key}"
    if entry.key == "fifo":
        return "fifo", v.boolean(doc, entry, what)
    if entry.key == "batchSize":
        return "batch_size", v.integer(doc, entry, what, 1, MAX_BATCH)
    if entry.key == "batchWindow":
        window = v.one(doc, entry, what)
        if isinstance(window, bool) or not isinstance(window, int | float) or not 0 <= window <= MAX_WINDOW:
            raise doc.error(entry.line, f"{what} must be a number of seconds from 0 to {MAX_WINDOW}, not {window!r}")
        return "batch_window", float(window)
    return "visibility_timeout", v.positive_number(doc, entry, what)


def queues(doc: ArcDoc, factory: FunctionFactory) -> tuple[QueueSpec, ...]:
    found = []
    for name, item in _named_items(doc, "queues", "queue", QUEUE_KEYS):
        src_dir = factory.src_dir("queues", name, item.entry("src"))
        built = factory.build("queues", name, src_dir)
        options = dict(_queue_option(doc, e, name) for e in item.entries if e.key != "src")
        if built.fifo is not None and "fifo" not in options:
            options["fifo"] = built.fifo
        found.append(QueueSpec(name, built.spec, **options))  # type: ignore[arg-type]
    return tuple(found)


def ws(doc: ArcDoc, factory: FunctionFactory) -> tuple[WsSpec, ...]:
    if doc.get("ws") is None:
        return ()
    items = dict(_named_items(doc, "ws", "ws route", EVENT_KEYS))
    names = [*WS_BUILT_IN, *(n for n in items if n not in WS_BUILT_IN)]
    found = []
    for name in names:
        item = items.get(name)
        src_dir = factory.src_dir("ws", name, item.entry("src") if item else None)
        found.append(WsSpec(name, factory.build("ws", name, src_dir).spec))
    return tuple(found)
