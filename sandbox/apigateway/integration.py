"""API Gateway in front of a Lambda: the event a request becomes, and the response a result becomes.

Pure functions on plain data (no aiohttp): the server reads the socket into an `HttpRequest`, picks
the route with `Router`, calls `build_event`, invokes the function and calls `build_response`.
The payload variants (HTTP API 2.0, HTTP API 1.0, REST) live in `sandbox/apigateway/` and are chosen
through the dicts below.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sandbox.apigateway import v1, v2
from sandbox.apigateway.router import Router, match_route
from sandbox.apigateway.types import HttpRequest, HttpResponse, RouteMatch
from sandbox.model import ApiType, Json

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "RouteMatch",
    "Router",
    "build_event",
    "build_response",
    "match_route",
]

EventBuilder = Callable[..., dict[str, Any]]
ResponseBuilder = Callable[[Json], HttpResponse]

EVENT_BUILDERS: dict[ApiType, EventBuilder] = {
    "http": v2.build_event,
    "httpv1": partial(v1.build_event, v1.HTTPV1),
    "rest": partial(v1.build_event, v1.REST),
}
RESPONSE_BUILDERS: dict[ApiType, ResponseBuilder] = {
    "http": v2.build_response,
    "httpv1": partial(v1.build_response, v1.HTTPV1),
    "rest": partial(v1.build_response, v1.REST),
}


def build_event(
    api_type: ApiType,
    request: HttpRequest,
    route: RouteMatch,
    *,
    request_id: str,
    now: float,
    stage: str = "$default",
) -> dict[str, Any]:
    """The event API Gateway would send the route's function for this request.

    Args:
        api_type: "http" (payload 2.0), "httpv1" (HTTP API, payload 1.0) or "rest" (REST API).
        request: the request as read from the socket.
        route: the matched route and its decoded path parameters.
        request_id: the invocation's id, also `requestContext.requestId`.
        now: seconds since the epoch, for `requestContext.time` / `timeEpoch` (milliseconds).
        stage: `requestContext.stage`.
    """
    return EVENT_BUILDERS[api_type](request, route, request_id=request_id, now=now, stage=stage)


def build_response(api_type: ApiType, result: Json) -> HttpResponse:
    """The HTTP response API Gateway would make of the function's result.

    Raises:
        InvalidResponseError: the result is one API Gateway rejects; the message says what is wrong.
    """
    return RESPONSE_BUILDERS[api_type](result)
