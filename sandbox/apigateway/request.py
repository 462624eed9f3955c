"""Pieces of an API Gateway event shared by every payload version."""

from __future__ import annotations

import base64
import functools
import ipaddress
import re
import time
from urllib.parse import parse_qsl

from sandbox.apigateway.types import HttpRequest

# The AWS documentation's example account, also moto's default: recognisably not a real one.
ACCOUNT_ID = "123456789012"
API_ID = "arcsandbox"  # ten lower-case characters, like a real API id
PROTOCOL = "HTTP/1.1"

# Hop-by-hop and framing headers API Gateway never passes to the function (reference §2.6).
DROPPED_REQUEST_HEADERS = frozenset(
    {"connection", "expect", "proxy-authenticate", "te", "transfer-encoding", "upgrade"}
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_JSON_TYPE = re.compile(r"application/.*json", re.IGNORECASE)


def clf_time(now: float) -> str:
    """API Gateway's `time`: "12/Mar/2020:19:03:58 +0000" (month names never localised)."""
    return _clf_second(int(now))


@functools.lru_cache(maxsize=4)  # every request in the same second has the same text
def _clf_second(second: int) -> str:
    t = time.gmtime(second)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def epoch_ms(now: float) -> int:
    return int(now * 1000)


@functools.lru_cache(maxsize=256)  # pure, and called with the same few hosts on every request
def domain_prefix(host: str) -> str:
    """The first label of the host name, without the port: "localhost:3333" -> "localhost".

    An IP address has no labels, so it is its own prefix.
    """
    if host.startswith("["):  # IPv6 literal
        return host[: host.find("]") + 1] or host
    name = host.split(":", 1)[0]
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name.split(".", 1)[0]
    return name


def header(request: HttpRequest, name: str) -> str | None:
    """The first value of a request header, by case-insensitive name."""
    lower = name.lower()
    return next((value for key, value in request.headers if key.lower() == lower), None)


def forwarded_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """The x-forwarded-* headers API Gateway adds, for the ones the client did not send."""
    wanted = [
        ("x-forwarded-for", request.source_ip),
        ("x-forwarded-port", str(request.local_port)),
        ("x-forwarded-proto", "http"),
    ]
    present = {key.lower() for key, _ in request.headers}
    return [(name, value) for name, value in wanted if name not in present]


def query_pairs(query_string: str) -> list[tuple[str, str]]:
    return parse_qsl(query_string, keep_blank_values=True)


def is_json(content_type: str | None) -> bool:
    return content_type is not None and _JSON_TYPE.match(content_type.strip()) is not None


def encode_body(body: bytes, *, as_text: bool) -> tuple[str | None, bool]:
    """The event's (`body`, `isBase64Encoded`): text when asked for and valid UTF-8, else base64."""
    if not body:
        return None, False
    if as_text:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not text after all: base64 keeps it intact
    return base64.b64encode(body).decode("ascii"), True
