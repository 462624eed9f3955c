"""Who may use the dashboard's API, on top of the `guard.py` checks every internal port already gets.

The dashboard is stricter than the rest of the internal port: it answers only to a loopback host name
(even when the sandbox is bound to another address), every write must be sent as
`Content-Type: application/json` (no plain HTML form can send it cross-site, and the dashboard has no
non-browser client to spare), and a browser's Origin must be exactly our own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from sandbox.guard import LOOPBACK_NAMES, SAFE_METHODS, host_name


def refusal(request: web.Request) -> str | None:
    """Why this request is refused, or None when it may go ahead."""
    host = request.headers.get("Host", "")
    if host_name(host) not in LOOPBACK_NAMES:
        return f"the dashboard answers only on a loopback host name, not {host!r}"
    if request.method in SAFE_METHODS:
        return None
    if request.content_type != "application/json":
        return "writes must be sent as Content-Type: application/json"
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        return f"cross-site request from {origin} refused"
    return None
