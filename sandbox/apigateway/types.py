"""Plain data passed between the server and the API Gateway emulation (no aiohttp here).

One of each is made per HTTP request, so they are slotted rather than frozen (a frozen dataclass sets
each field through object.__setattr__: 2.2 us for an HttpRequest, 0.3 us slotted). Read-only all the
same: nothing changes them after they are made.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class HttpRequest:
    """What the server hands over, taken from the socket."""

    method: str  # upper case as received
    path: str  # raw URL path (still percent-encoded)
    query_string: str  # raw, without '?'
    headers: list[tuple[str, str]]  # in order, original case, repeats kept
    body: bytes
    source_ip: str
    local_port: int
    host: str  # Host header value or "localhost:<port>"


@dataclass(slots=True)
class RouteMatch:
    """The route a request matched and the parameters taken from its path."""

    method: str  # the route's method from app.arc (lower case; may be "any")
    path: str  # the route's path from app.arc ("/notes/:id", "/*")
    path_parameters: dict[str, str]  # decoded values; catch-all -> {"proxy": "a/b"}


@dataclass(slots=True)
class HttpResponse:
    """What goes back on the wire."""

    status: int
    headers: list[tuple[str, str]]  # repeats allowed (Set-Cookie)
    body: bytes
