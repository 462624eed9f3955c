"""HTTP API payload format 2.0: the event a function gets and how its result is read."""

from __future__ import annotations

from typing import Any

from sandbox.apigateway import request as req
from sandbox.apigateway.response import JSON_TYPE, assemble, decode_body, json_response
from sandbox.apigateway.router import route_resource
from sandbox.apigateway.types import HttpRequest, HttpResponse, RouteMatch
from sandbox.apigateway.validation import V2_CHECKS, check
from sandbox.model import Json

DEFAULT_TYPE = "text/plain; charset=utf-8"


def route_key(route: RouteMatch) -> str:
    return f"{route.method.upper()} {route_resource(route.path)}"


def _headers_and_cookies(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif lower not in req.DROPPED_REQUEST_HEADERS:
            # format 2.0 has no multi-value maps: repeated headers are joined with commas
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    # The x-forwarded-* headers API Gateway adds, for the ones the client did not send (as
    # `forwarded_headers` gives them, without building the list and the set of names per request).
    if "x-forwarded-for" not in headers:
        headers["x-forwarded-for"] = request.source_ip
    if "x-forwarded-port" not in headers:
        headers["x-forwarded-port"] = str(request.local_port)
    if "x-forwarded-proto" not in headers:
        headers["x-forwarded-proto"] = "http"
    return headers, cookies


def _query(query_string: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in req.query_pairs(query_string):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def build_event(request: HttpRequest, route: RouteMatch, *, request_id: str, now: float, stage: str) -> dict[str, Any]:
    headers, cookies = _headers_and_cookies(request)
    key = route_key(route)
    event: dict[str, Any] = {"version": "2.0", "routeKey": key, "rawPath": request.path}
    event["rawQueryString"] = request.query_string
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query_string:
        event["queryStringParameters"] = _query(request.query_string)
    event["requestContext"] = {
        "accountId": req.ACCOUNT_ID,
        "apiId": req.API_ID,
        "domainName": request.host,
        "domainPrefix": req.domain_prefix(request.host),
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": req.PROTOCOL,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": key,
        "stage": stage,
        "time": req.clf_time(now),
        "timeEpoch": req.epoch_ms(now),
    }
    if route.path_parameters:
        event["pathParameters"] = dict(route.path_parameters)
    body, base64_encoded = req.encode_body(request.body, as_text=req.is_json(headers.get("content-type")))
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    return event


def build_response(result: Json) -> HttpResponse:
    # Without a statusCode API Gateway treats the whole result as a JSON body (reference §2.8).
    if not isinstance(result, dict) or result.get("statusCode") is None:
        if isinstance(result, str):
            return HttpResponse(200, [("content-type", JSON_TYPE)], decode_body(result, base64_encoded=False))
        return json_response(result)
    check(result, V2_CHECKS)
    body = decode_body(result.get("body"), base64_encoded=bool(result.get("isBase64Encoded")))
    headers = (result.get("headers") or {}).items()
    return assemble(result["statusCode"], headers, result.get("cookies") or (), body, default_type=DEFAULT_TYPE)
