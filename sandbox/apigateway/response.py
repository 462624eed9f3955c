"""Turning a validated handler result into the bytes and headers that go back to the client."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable

from sandbox.apigateway.types import HttpResponse
from sandbox.errors import InvalidResponseError

# Framing and hop-by-hop headers a handler may not set (reference §2.8); the server computes them.
DROPPED_RESPONSE_HEADERS = frozenset({"connection", "content-length", "date", "upgrade", "transfer-encoding"})
JSON_TYPE = "application/json"
MAX_BODY = 6 * 1024 * 1024  # Lambda's synchronous response payload limit

# Browsers drop Secure cookies over plain http; Architect rewrites the attribute so local logins work.
_SECURE = re.compile(r";\s*secure\s*(?=;|$)", re.IGNORECASE)


def localhost_cookie(cookie: str) -> str:
    return _SECURE.sub("; Path=/", cookie)


def to_json(value: object) -> bytes:
    """JSON as JavaScript's JSON.stringify writes it (compact, non-ASCII kept)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidResponseError(f"the response cannot be serialised to JSON: {error}") from None
    if len(text) > MAX_BODY:
        raise InvalidResponseError(
            f"the response is {len(text):,} bytes; Lambda's response limit is 6 MB ({MAX_BODY:,})"
        )
    return text


def json_response(value: object) -> HttpResponse:
    return HttpResponse(200, [("content-type", JSON_TYPE)], to_json(value))


def decode_body(body: str | None, *, base64_encoded: bool) -> bytes:
    if body is None:
        return b""
    if len(body) > MAX_BODY:
        raise InvalidResponseError(f"body is {len(body):,} characters; Lambda's response limit is 6 MB ({MAX_BODY:,})")
    if not base64_encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidResponseError("isBase64Encoded is true but body is not valid base64") from None


def assemble(
    status: int,
    headers: Iterable[tuple[str, str]],
    cookies: Iterable[str],
    body: bytes,
    *,
    default_type: str,
    dropped: frozenset[str] = DROPPED_RESPONSE_HEADERS,
    remapped: frozenset[str] = frozenset(),
) -> HttpResponse:
    """Lower-case the names, drop or remap the reserved ones, merge Set-Cookie, add a content-type."""
    out: list[tuple[str, str]] = []
    set_cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            set_cookies.append(value)
        elif lower in remapped:
            out.append((f"x-amzn-remapped-{lower}", value))
        elif lower not in dropped:
            out.append((lower, value))
    if not any(name == "content-type" for name, _ in out):
        out.append(("content-type", default_type))
    out.extend(("set-cookie", localhost_cookie(cookie)) for cookie in (*set_cookies, *cookies))
    return HttpResponse(status, out, body)
