"""`arc.http`: read a request body, write an API Gateway (v2) response."""

from __future__ import annotations

import base64
import json as _json
from typing import Any
from urllib.parse import parse_qs

NO_CACHE = "no-cache, no-store, must-revalidate, max-age=0, s-maxage=0"


def _header(event: dict[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def parse_body(event: dict[str, Any]) -> Any:
    """JSON -> its value; form-urlencoded -> dict (single values flattened); text -> str; else {"base64": ...}."""
    body = event.get("body")
    if body is None or body == "":
        return {}
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    content_type = _header(event, "content-type").split(";")[0].strip().lower()
    if content_type.endswith("json"):
        return _json.loads(raw)
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(raw.decode(), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in form.items()}
    if content_type.startswith("text/") or content_type.endswith("xml"):
        return raw.decode()
    return {"base64": base64.b64encode(raw).decode()}


def response(
    body: Any = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    json: Any = None,
    text: str | None = None,
    location: str | None = None,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An HTTP API v2 result. Exactly one of body/html/json/text; `location` makes it a redirect."""
    out_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if html is not None:
        content_type, payload, cache = "text/html; charset=utf8", html, NO_CACHE
    elif text is not None:
        content_type, payload, cache = "text/plain; charset=utf8", text, NO_CACHE
    elif json is not None or body is None:
        content_type, payload, cache = "application/json; charset=utf8", _json.dumps(json), NO_CACHE
    else:
        content_type, payload, cache = "application/json; charset=utf8", _json.dumps(body), NO_CACHE
    out_headers.setdefault("content-type", content_type)
    out_headers.setdefault("cache-control", cache)
    if location is not None:
        out_headers["location"] = location
        status = status if 300 <= status < 400 else 302
    result: dict[str, Any] = {"statusCode": status, "headers": out_headers, "body": payload}
    if cookies:
        result["cookies"] = list(cookies)
    return result


def redirect(location: str, status: int = 302) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"location": location, "cache-control": NO_CACHE}, "body": ""}
