"""Route matching: every route of one method compiled once into a single ordered regex.

Python's `re` tries alternatives left to right, so one alternation over the routes (already in
Architect's order, reference §1.4) returns the first route that matches, as Architect's router does,
with a single call into the regex engine per request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from sandbox.apigateway.types import RouteMatch
from sandbox.model import HttpRoute

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
OTHER = ""  # any other request method: only `any` routes can take it


@dataclass(frozen=True)
class _Compiled:
    route: HttpRoute
    names: tuple[str, ...]  # parameter names, in group order
    first_group: int  # index of the route's first parameter group


@dataclass(frozen=True)
class _Table:
    regex: re.Pattern[str]
    by_group: dict[int, _Compiled]  # the outer group of each alternative -> its route


def _route_pattern(path: str) -> tuple[str, tuple[str, ...]]:
    """The regex for one app.arc path (no outer group) and its parameter names."""
    if path == "/":
        return "/", ()
    parts = path[1:].split("/")
    names: list[str] = []
    pieces: list[str] = []
    for part in parts:
        if part == "*":
            names.append("proxy")
            # a catch-all also takes the bare prefix and the prefix with a trailing slash (proxy "")
            pieces.append("(?:/(.*))?" if pieces else "/(.*)")
            return "".join(pieces), tuple(names)
        if part.startswith(":"):
            names.append(part[1:])
            pieces.append("/([^/]+)")
        else:
            pieces.append("/" + re.escape(part))
    return "".join(pieces) + "/?", tuple(names)


def _candidates(routes: Sequence[HttpRoute], request_method: str) -> list[HttpRoute]:
    """The routes that take a method, in the order they are tried."""
    if request_method == "HEAD":
        # HEAD falls back to GET: an explicit head route is tried first, then get, then any
        rank = {"HEAD": 0, "GET": 1, "ANY": 2}
        taking = [route for route in routes if route.method.upper() in rank]
        return sorted(taking, key=lambda route: rank[route.method.upper()])
    return [route for route in routes if route.method.upper() in ("ANY", request_method)]


def _table(routes: Sequence[HttpRoute], request_method: str) -> _Table | None:
    alternatives: list[str] = []
    by_group: dict[int, _Compiled] = {}
    group = 1
    for route in _candidates(routes, request_method):
        pattern, names = _route_pattern(route.path)
        alternatives.append(f"({pattern})")
        by_group[group] = _Compiled(route, names, group + 1)
        group += 1 + len(names)
    if not alternatives:
        return None
    return _Table(re.compile("|".join(alternatives)), by_group)


class Router:
    """Matches a request against the app's routes.

    Args:
        routes: the manifest's routes, already in Architect's order.

    Example:
        Router(manifest.http).match("GET", "/notes/42")  # -> (route, RouteMatch(..., {"id": "42"}))
    """

    def __init__(self, routes: Sequence[HttpRoute]) -> None:
        self.routes = tuple(routes)
        self._tables = {method: _table(self.routes, method) for method in (*METHODS, OTHER)}

    def match(self, method: str, path: str) -> tuple[HttpRoute, RouteMatch] | None:
        """The first route that takes `method` (any case) on the raw, percent-encoded `path`."""
        upper = method.upper()
        table = self._tables.get(upper, self._tables[OTHER])
        if table is None:
            return None
        found = table.regex.fullmatch(path)
        if found is None or found.lastindex is None:
            return None
        compiled = table.by_group[found.lastindex]
        first = compiled.first_group
        params = {name: unquote(found.group(first + i) or "") for i, name in enumerate(compiled.names)}
        route = compiled.route
        return route, RouteMatch(method=route.method, path=route.path, path_parameters=params)


def match_route(routes: Sequence[HttpRoute], method: str, path: str) -> tuple[HttpRoute, RouteMatch] | None:
    """One-off matching; build a `Router` once instead when matching many requests."""
    return Router(routes).match(method, path)


@functools.lru_cache(maxsize=1024)  # pure, and asked for the same few routes on every request
def route_resource(path: str) -> str:
    """API Gateway's spelling of an app.arc path: `/notes/:id` -> `/notes/{id}`, `/*` -> `/{proxy+}`."""
    if path == "/":
        return "/"
    return "/" + "/".join(_resource_part(part) for part in path[1:].split("/"))


def _resource_part(part: str) -> str:
    if part == "*":
        return "{proxy+}"
    return f"{{{part[1:]}}}" if part.startswith(":") else part
