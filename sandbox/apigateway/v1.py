"""Payload format 1.0, in its two flavours: HTTP API `httpv1` and REST API `rest`.

They differ only in data (which headers are Pascal-cased, dropped or remapped, whether text bodies
stay text, whether unknown result keys are an error), so each flavour is a `Flavor` value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.apigateway import request as req
from sandbox.apigateway.response import DROPPED_RESPONSE_HEADERS, assemble, decode_body
from sandbox.apigateway.router import route_resource
from sandbox.apigateway.types import HttpRequest, HttpResponse, RouteMatch
from sandbox.apigateway.validation import REST_KEYS, V1_CHECKS, check, check_known_keys, check_mapping
from sandbox.errors import InvalidResponseError
from sandbox.model import Json

DEFAULT_TYPE = "application/json; charset=utf-8"
_PASCAL = frozenset({"host", "user-agent", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"})
_REST_REMAPPED = frozenset(
    [
        "authorization",
        "connection",
        "content-length",
        "content-md5",
        "date",
        "expect",
        "host",
        "max-forwards",
        "proxy-authenticate",
        "server",
        "trailer",
        "user-agent",
        "www-authenticate",
    ]
)
_IDENTITY_UNKNOWN = [
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
]


@dataclass(frozen=True)
class Flavor:
    version: str | None  # the event's `version` field; REST events have none
    pascal_headers: frozenset[str]
    dropped_request_headers: frozenset[str]
    text_bodies: bool  # JSON bodies as text (httpv1) or every body base64 (rest)
    known_result_keys: frozenset[str] | None  # None: unknown keys are ignored
    dropped_response_headers: frozenset[str]
    remapped_response_headers: frozenset[str]


HTTPV1 = Flavor(
    version="1.0",
    pascal_headers=_PASCAL,
    dropped_request_headers=req.DROPPED_REQUEST_HEADERS,
    text_bodies=True,
    known_result_keys=None,
    dropped_response_headers=DROPPED_RESPONSE_HEADERS,
    remapped_response_headers=frozenset(),
)
REST = Flavor(
    version=None,
    pascal_headers=_PASCAL | {"authorization", "date"},
    dropped_request_headers=req.DROPPED_REQUEST_HEADERS
    | {"content-md5", "max-forwards", "server", "trailer", "www-authenticate"},
    text_bodies=False,
    known_result_keys=REST_KEYS,
    dropped_response_headers=frozenset({"transfer-encoding", "upgrade"}),
    remapped_response_headers=_REST_REMAPPED,
)


def _cased(name: str, flavor: Flavor) -> str:
    lower = name.lower()
    return "-".join(part.capitalize() for part in lower.split("-")) if lower in flavor.pascal_headers else lower


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """(last value of each key, every value of each key), both None when there are no pairs."""
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return {key: values[-1] for key, values in multi.items()}, multi


def _headers(request: HttpRequest, flavor: Flavor) -> list[tuple[str, str]]:
    return [
        (_cased(name, flavor), value)
        for name, value in (*request.headers, *req.forwarded_headers(request))
        if name.lower() not in flavor.dropped_request_headers
    ]


def _request_context(
    request: HttpRequest, resource: str, *, request_id: str, now: float, stage: str, user_agent: str | None
) -> dict[str, Any]:
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_UNKNOWN)
    identity.update(sourceIp=request.source_ip, userAgent=user_agent)
    return {
        "accountId": req.ACCOUNT_ID,
        "apiId": req.API_ID,
        "domainName": request.host,
        "domainPrefix": req.domain_prefix(request.host),
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": dict(sorted(identity.items())),
        "path": request.path,
        "protocol": req.PROTOCOL,
        "requestId": request_id,
        "requestTime": req.clf_time(now),
        "requestTimeEpoch": req.epoch_ms(now),
        "resourceId": None,
        "resourcePath": resource,
        "stage": stage,
    }


def build_event(
    flavor: Flavor, request: HttpRequest, route: RouteMatch, *, request_id: str, now: float, stage: str
) -> dict[str, Any]:
    resource = route_resource(route.path)
    headers, multi_headers = _multi(_headers(request, flavor))
    query, multi_query = _multi(req.query_pairs(request.query_string))
    text = flavor.text_bodies and req.is_json(req.header(request, "content-type"))
    body, base64_encoded = req.encode_body(request.body, as_text=text)
    event: dict[str, Any] = {} if flavor.version is None else {"version": flavor.version}
    event.update(resource=resource, path=request.path, httpMethod=request.method)
    event.update(headers=headers, multiValueHeaders=multi_headers)
    event.update(queryStringParameters=query, multiValueQueryStringParameters=multi_query)
    user_agent = req.header(request, "user-agent")
    event["requestContext"] = _request_context(
        request, resource, request_id=request_id, now=now, stage=stage, user_agent=user_agent
    )
    event.update(pathParameters=dict(route.path_parameters) or None, stageVariables=None)
    event.update(body=body, isBase64Encoded=base64_encoded)
    return event


def _merged_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    # API Gateway: a key in multiValueHeaders replaces the same key in headers (case-insensitively)
    multi: dict[str, list[str]] = result.get("multiValueHeaders") or {}
    multi_names = {name.lower() for name in multi}
    single: dict[str, str] = result.get("headers") or {}
    merged = [(name, value) for name, value in single.items() if name.lower() not in multi_names]
    merged.extend((name, value) for name, values in multi.items() for value in values)
    return merged


def build_response(flavor: Flavor, result: Json) -> HttpResponse:
    if result is None:
        raise InvalidResponseError("the handler returned no response (None); return an object with a statusCode")
    mapping = dict(check_mapping(result))
    if flavor.known_result_keys is not None:
        check_known_keys(mapping, flavor.known_result_keys)
    check(mapping, V1_CHECKS)
    body = decode_body(mapping.get("body"), base64_encoded=bool(mapping.get("isBase64Encoded")))
    status = mapping.get("statusCode") or 200
    return assemble(
        status,
        _merged_headers(mapping),
        (),
        body,
        default_type=DEFAULT_TYPE,
        dropped=flavor.dropped_response_headers,
        remapped=flavor.remapped_response_headers,
    )
