"""Who may talk to the sandbox's own endpoints: this machine, not a web page it happens to have open.

Two attacks reach a local server from a browser, and each leaves a mark the server can check:

- DNS rebinding: a page on evil.example re-points its name at 127.0.0.1 and reads the answers. Its
  requests still name evil.example in `Host`. Only loopback names (`localhost`, `127.0.0.1`,
  `[::1]`), the host given with `--host`, and IP addresses when bound to every interface (no name,
  nothing to rebind) are accepted.
- Cross-site writes: a page posts a form or a `text/plain` body, which needs no CORS preflight.
  Browsers send `Origin` (and `Sec-Fetch-Site`) with such a request: a foreign one is refused, and a
  body a page could send without asking (a form, `text/plain`, no type) is taken only from a client
  that is not a browser (no `Origin`, no `Sec-Fetch-*`, as urllib, boto3 and architect-functions
  send it) or with an AWS SigV4 `Authorization` header, which a page cannot add without a preflight.

`check()` says why a request is refused, or None; `server.py` applies it to every port it serves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})
SIMPLE_BODY_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain", ""})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGV4 = "AWS4-HMAC-SHA256 "
SANDBOX_PATH_PREFIXES = ("/_arc/", "/_sandbox/")  # the sandbox's own paths on the app's http port


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_name(header: str) -> str:
    """`Host` without its port, lowercased, IPv6 brackets removed: "[::1]:4444" -> "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") > 1:
        return header  # a bare IPv6 address: no port to strip
    name, _, port = header.rpartition(":")
    return name if name and port.isdigit() else header


@dataclass(frozen=True)
class HostPolicy:
    """The names the sandbox answers to, from the address it is bound to (`--host`)."""

    bind_host: str = "127.0.0.1"

    def allows(self, name: str) -> bool:
        name = name.rstrip(".")
        if is_loopback(name) or name == self.bind_host.strip("[]").lower():
            return True
        return self.bind_host in EVERY_INTERFACE and _is_ip(name)

    def allows_origin(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin)
        except ValueError:  # "http://[::1" and the like: not an origin anyone may write from
            return False
        return parts.scheme in ("http", "https") and parts.hostname is not None and self.allows(parts.hostname)


def check(method: str, headers: Mapping[str, str], policy: HostPolicy) -> str | None:
    """Why this request is refused, or None when it may go on."""
    host = headers.get("Host")
    if host is not None and not policy.allows(host_name(host)):
        return (
            f"Host {host!r} is not this machine: the sandbox answers to localhost, 127.0.0.1 and [::1]"
            + (f" and {policy.bind_host}" if not is_loopback(policy.bind_host) else "")
            + " (DNS rebinding protection)"
        )
    origin = headers.get("Origin")
    if origin is not None and not policy.allows_origin(origin):
        return f"cross-site request from Origin {origin!r} refused"
    if headers.get("Sec-Fetch-Site") == "cross-site":
        return "cross-site request refused (Sec-Fetch-Site: cross-site)"
    if method in SAFE_METHODS:
        return None
    content_type = headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if content_type not in SIMPLE_BODY_TYPES or headers.get("Authorization", "").startswith(SIGV4):
        return None  # a page sends neither a JSON body nor a SigV4 signature without a CORS preflight
    if origin is not None or any(k.lower().startswith("sec-fetch-") for k in headers):
        shown = content_type or "no Content-Type"
        return f"a browser's {shown} request cannot write to the sandbox: send application/json"
    return None


def guards_path(service: str, path: str) -> bool:
    """Every path of the sandbox's own ports; on the app's http port only the sandbox's own paths."""
    return service != "http" or path.startswith(SANDBOX_PATH_PREFIXES)
