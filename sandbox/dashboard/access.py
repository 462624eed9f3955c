"""Who may use the dashboard's API: the same rule as the other internal endpoints.

Reads need a loopback Host (a page on another site cannot reach us through DNS rebinding); writes
also need `Content-Type: application/json` (no plain HTML form can send it cross-site) and, when
the browser sends an Origin, our own. One function, to be swapped for the shared guard once it lands.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _hostname(host: str) -> str:
    return (urlsplit(f"//{host}").hostname or "").lower()


def refusal(request: web.Request) -> str | None:
    """Why this request is refused, or None when it may go ahead."""
    host = request.headers.get("Host", "")
    if _hostname(host) not in LOOPBACK_HOSTS:
        return f"the dashboard answers only on a loopback host name, not {host!r}"
    if request.method in SAFE_METHODS:
        return None
    if request.content_type != "application/json":
        return "writes must be sent as Content-Type: application/json"
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        return f"cross-site request from {origin} refused"
    return None
