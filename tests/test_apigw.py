"""API Gateway emulation: events (golden fixtures for 2.0, httpv1 and REST), results, validation, routing."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from dirty_equals import IsInt, IsStr, IsUUID

from sandbox.apigateway.integration import (
    HttpRequest,
    HttpResponse,
    RouteMatch,
    Router,
    build_event,
    build_response,
    match_route,
)
from sandbox.errors import InvalidResponseError
from sandbox.model import ApiType, FunctionSpec, HttpRoute

FIXTURES = Path(__file__).parent / "fixtures" / "events"
NOW = 1584039838.123  # 12/Mar/2020:19:03:58 +0000
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
CLF_TIME = r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000"


def request(
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> HttpRequest:
    base = [("Host", "localhost:3333"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*")]
    return HttpRequest(method, path, query, base + (headers or []), body, "127.0.0.1", 3333, "localhost:3333")


def event(api_type: ApiType, req: HttpRequest, route: RouteMatch | None = None) -> dict[str, Any]:
    return build_event(api_type, req, route or RouteMatch("get", "/", {}), request_id=REQUEST_ID, now=NOW)


NOTE = RouteMatch("get", "/notes/:id", {"id": "42"})
GOLDEN: dict[str, tuple[ApiType, HttpRequest, RouteMatch]] = {
    "http-v2-get": (
        "http",
        request(
            "GET",
            "/notes/42",
            "sort=asc&tag=a&tag=b&empty=",
            [("Cookie", "theme=dark; session=abc"), ("Connection", "keep-alive"), ("X-Trace", "1"), ("x-trace", "2")],
        ),
        NOTE,
    ),
    "http-v2-post-json": (
        "http",
        request(
            "POST", "/notes", "", [("Content-Type", "application/json"), ("Content-Length", "13")], b'{"text":"hi"}'
        ),
        RouteMatch("post", "/notes", {}),
    ),
    "http-v2-post-form": (
        "http",
        request("POST", "/upload", "", [("Content-Type", "application/x-www-form-urlencoded")], b"a=1&b=%C3%A9"),
        RouteMatch("post", "/upload", {}),
    ),
    "http-v2-catchall": (
        "http",
        request("DELETE", "/files/a/b%20c.txt"),
        RouteMatch("any", "/files/*", {"proxy": "a/b c.txt"}),
    ),
    "httpv1-get": (
        "httpv1",
        request("GET", "/notes/42", "tag=a&tag=b", [("Cookie", "theme=dark"), ("X-Trace", "1"), ("X-Trace", "2")]),
        NOTE,
    ),
    "rest-post": (
        "rest",
        request(
            "POST",
            "/notes",
            "",
            [("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Content-MD5", "x")],
            b'{"text":"hi"}',
        ),
        RouteMatch("post", "/notes", {}),
    ),
}


# --- events --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_build_event_matches_golden_fixture(name: str) -> None:
    api_type, req, route = GOLDEN[name]
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    assert event(api_type, req, route) == expected


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_build_event_ids_and_times_are_fresh_per_request(name: str) -> None:
    api_type, req, route = GOLDEN[name]
    now = time.time()
    got = build_event(api_type, req, route, request_id=str(uuid.uuid4()), now=now)
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    context = expected["requestContext"]
    context["requestId"] = IsUUID(4)
    if api_type == "http":
        context.update(time=IsStr(regex=CLF_TIME), timeEpoch=IsInt(approx=int(now * 1000), delta=2))
    else:
        context.update(extendedRequestId=IsUUID(4), requestTime=IsStr(regex=CLF_TIME))
        context["requestTimeEpoch"] = IsInt(approx=int(now * 1000), delta=2)
    assert got == expected


def test_build_event_v2_has_every_field_real_api_gateway_sends() -> None:
    # AWS "Working with AWS Lambda proxy integrations for HTTP APIs", payload format 2.0 (no authorizer)
    got = event("http", request("POST", query="a=1", headers=[("Cookie", "a=1")], body=b"x"), NOTE)
    top = {"version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers", "queryStringParameters"}
    assert set(got) == top | {"requestContext", "pathParameters", "body", "isBase64Encoded"}
    context = {"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey", "stage"}
    assert set(got["requestContext"]) == context | {"time", "timeEpoch"}
    assert set(got["requestContext"]["http"]) == {"method", "path", "protocol", "sourceIp", "userAgent"}


def test_build_event_v2_time_is_api_gateway_format_and_epoch_in_milliseconds() -> None:
    context = event("http", request())["requestContext"]
    assert context["time"] == "12/Mar/2020:19:03:58 +0000"
    assert context["timeEpoch"] == 1584039838123
    assert context["stage"] == "$default"


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("localhost:3333", "localhost"),
        ("api.example.com", "api"),
        ("[::1]:3333", "[::1]"),
        ("127.0.0.1:80", "127.0.0.1"),
    ],
)
def test_build_event_domain_name_and_prefix_come_from_the_host(host: str, prefix: str) -> None:
    req = HttpRequest("GET", "/", "", [("Host", host)], b"", "::1", 3333, host)
    for api_type in ("http", "httpv1", "rest"):
        context = event(api_type, req)["requestContext"]
        assert (context["domainName"], context["domainPrefix"]) == (host, prefix)


def test_build_event_stage_can_be_set() -> None:
    got = build_event("http", request(), RouteMatch("get", "/", {}), request_id="r", now=NOW, stage="staging")
    assert got["requestContext"]["stage"] == "staging"


def test_build_event_v2_leaves_out_what_the_request_does_not_have() -> None:
    got = event("http", request())
    assert "cookies" not in got and "queryStringParameters" not in got
    assert "pathParameters" not in got and "body" not in got
    assert (got["rawQueryString"], got["isBase64Encoded"]) == ("", False)


def test_build_event_keeps_forwarded_headers_the_client_sent() -> None:
    got = event("http", request(headers=[("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-Proto", "https")]))
    assert got["headers"]["x-forwarded-for"] == "10.0.0.1"
    assert got["headers"]["x-forwarded-proto"] == "https"
    assert got["headers"]["x-forwarded-port"] == "3333"


@pytest.mark.parametrize(
    "dropped", ["Connection", "Expect", "Proxy-Authenticate", "TE", "Transfer-Encoding", "Upgrade"]
)
def test_build_event_drops_hop_by_hop_headers(dropped: str) -> None:
    got = event("http", request(headers=[(dropped, "x")]))
    assert dropped.lower() not in got["headers"] and "accept" in got["headers"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.api+json", "Application/JSON"],
)
def test_build_event_v2_passes_json_bodies_as_text(content_type: str) -> None:
    got = event("http", request("POST", headers=[("Content-Type", content_type)], body='{"é":1}'.encode()))
    assert (got["body"], got["isBase64Encoded"]) == ('{"é":1}', False)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"hello"),
        ("application/octet-stream", bytes(range(256))),
        ("application/json", b'{"a":"\xff"}'),  # claims JSON but is not UTF-8: base64 keeps it intact
        (None, b"no type"),
    ],
)
def test_build_event_v2_base64_encodes_other_bodies(content_type: str | None, body: bytes) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    got = event("http", request("POST", headers=headers, body=body))
    assert got["isBase64Encoded"] is True
    assert base64.b64decode(got["body"]) == body


@pytest.mark.parametrize(
    ("route", "route_key", "resource"),
    [
        (RouteMatch("get", "/", {}), "GET /", "/"),
        (RouteMatch("any", "/*", {"proxy": "a"}), "ANY /{proxy+}", "/{proxy+}"),
        (RouteMatch("put", "/a/:b/c/:d", {"b": "1", "d": "2"}), "PUT /a/{b}/c/{d}", "/a/{b}/c/{d}"),
        (RouteMatch("get", "/api/v1.0/my-thing", {}), "GET /api/v1.0/my-thing", "/api/v1.0/my-thing"),
    ],
)
def test_build_event_route_keys(route: RouteMatch, route_key: str, resource: str) -> None:
    v2 = event("http", request(), route)
    assert v2["routeKey"] == v2["requestContext"]["routeKey"] == route_key
    v1 = event("httpv1", request(), route)
    assert v1["resource"] == v1["requestContext"]["resourcePath"] == resource


def test_build_event_v2_reports_the_actual_method_of_an_any_route() -> None:
    got = event("http", request("PATCH"), RouteMatch("any", "/*", {"proxy": ""}))
    assert (got["routeKey"], got["requestContext"]["http"]["method"]) == ("ANY /{proxy+}", "PATCH")


def test_build_event_v2_decodes_query_values_and_joins_repeats() -> None:
    got = event("http", request(query="q=a%20b+c&q=d&flag"))
    assert got["queryStringParameters"] == {"q": "a b c,d", "flag": ""}
    assert got["rawQueryString"] == "q=a%20b+c&q=d&flag"


def test_build_event_v2_collects_every_cookie_header() -> None:
    got = event("http", request(headers=[("Cookie", "a=1;b=2"), ("cookie", " c=3 ")]))
    assert got["cookies"] == ["a=1", "b=2", "c=3"]


def test_build_event_v1_is_null_where_the_request_has_nothing() -> None:
    for api_type in ("httpv1", "rest"):
        got = event(api_type, request())
        assert got["body"] is None and got["pathParameters"] is None and got["stageVariables"] is None
        assert got["queryStringParameters"] is None and got["multiValueQueryStringParameters"] is None
        assert got["isBase64Encoded"] is False


def test_build_event_httpv1_keeps_text_json_and_rest_base64_encodes_every_body() -> None:
    req = request("POST", headers=[("Content-Type", "application/json")], body=b'{"a":1}')
    assert (event("httpv1", req)["body"], event("httpv1", req)["isBase64Encoded"]) == ('{"a":1}', False)
    assert (event("rest", req)["body"], event("rest", req)["isBase64Encoded"]) == ("eyJhIjoxfQ==", True)


def test_build_event_header_casing_per_api_type() -> None:
    req = request(headers=[("authorization", "t"), ("DATE", "d"), ("X-Custom", "c")])
    assert {"Authorization", "Date", "Host", "User-Agent", "x-custom"} <= set(event("rest", req)["headers"])
    v1 = event("httpv1", req)["headers"]
    assert {"authorization", "date", "Host", "User-Agent", "X-Forwarded-Proto", "x-custom"} <= set(v1)
    assert set(event("http", req)["headers"]) >= {"authorization", "date", "host", "user-agent"}


def test_build_event_version_field_per_api_type() -> None:
    assert event("http", request())["version"] == "2.0"
    assert event("httpv1", request())["version"] == "1.0"
    assert "version" not in event("rest", request())


# --- results: HTTP API 2.0 ------------------------------------------------------------------------


def header_values(response: HttpResponse, name: str) -> list[str]:
    return [value for key, value in response.headers if key == name]


@pytest.mark.parametrize(
    ("result", "body"),
    [
        pytest.param(None, b"null", id="none"),
        pytest.param("plain text", b"plain text", id="string-as-is"),
        pytest.param({"a": [1, "é"]}, '{"a":[1,"é"]}'.encode(), id="dict"),
        pytest.param({"body": "x", "headers": {"a": "b"}}, b'{"body":"x","headers":{"a":"b"}}', id="no-statusCode"),
        pytest.param([1, 2], b"[1,2]", id="list"),
        pytest.param(3.5, b"3.5", id="number"),
        pytest.param(True, b"true", id="bool"),
    ],
)
def test_build_response_v2_without_status_code_is_json(result: object, body: bytes) -> None:
    got = build_response("http", result)
    assert (got.status, got.headers, got.body) == (200, [("content-type", "application/json")], body)


def test_build_response_v2_with_status_code() -> None:
    got = build_response("http", {"statusCode": 201, "headers": {"X-Thing": "1"}, "body": "made"})
    assert got == HttpResponse(201, [("x-thing", "1"), ("content-type", "text/plain; charset=utf-8")], b"made")


def test_build_response_v2_keeps_the_handlers_content_type_and_drops_framing_headers() -> None:
    headers = {"Content-Type": "text/html", "Content-Length": "99", "Date": "x", "Connection": "close", "ETag": "e"}
    got = build_response("http", {"statusCode": 200, "headers": headers})
    assert got.headers == [("content-type", "text/html"), ("etag", "e")]
    assert got.body == b""


def test_build_response_v2_merges_cookies_into_set_cookie_and_rewrites_secure() -> None:
    result = {
        "statusCode": 200,
        "headers": {"Set-Cookie": "s=1; Secure; HttpOnly"},
        "cookies": ["a=1; Secure", "b=2; SameSite=Lax; secure", "c=secure"],
    }
    got = build_response("http", result)
    assert header_values(got, "set-cookie") == [
        "s=1; Path=/; HttpOnly",
        "a=1; Path=/",
        "b=2; SameSite=Lax; Path=/",
        "c=secure",
    ]


def test_build_response_v2_decodes_base64_bodies_byte_for_byte() -> None:
    raw = bytes(range(256))
    result = {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(raw).decode()}
    assert build_response("http", result).body == raw


def test_build_response_v2_encodes_text_as_utf8() -> None:
    assert build_response("http", {"statusCode": 200, "body": "héllo ✓"}).body == "héllo ✓".encode()


def test_build_response_v2_treats_null_fields_as_absent() -> None:
    got = build_response("http", {"statusCode": 204, "body": None, "headers": None, "cookies": None})
    assert (got.status, got.body) == (204, b"")


@pytest.mark.parametrize(
    ("result", "message"),
    [
        pytest.param({"statusCode": "200"}, "statusCode must be an integer, got str '200'", id="status-str"),
        pytest.param({"statusCode": 2.5}, "statusCode must be an integer, got float 2.5", id="status-float"),
        pytest.param({"statusCode": True}, "statusCode must be an integer, got bool True", id="status-bool"),
        pytest.param({"statusCode": 99}, "statusCode must be an integer from 100 to 599", id="status-range"),
        pytest.param({"statusCode": 200, "body": {"a": 1}}, "body must be a string, got dict", id="body-dict"),
        pytest.param({"statusCode": 200, "body": 5}, "body must be a string, got int 5", id="body-int"),
        pytest.param({"statusCode": 200, "body": b"x"}, "isBase64Encoded: true", id="body-bytes"),
        pytest.param({"statusCode": 200, "headers": ["a"]}, "headers must be an object", id="headers-list"),
        pytest.param({"statusCode": 200, "headers": {"a": 1}}, "headers must be an object whose values", id="hdr-int"),
        pytest.param({"statusCode": 200, "cookies": "a=1"}, "cookies must be a list of strings", id="cookies-str"),
        pytest.param({"statusCode": 200, "cookies": [1]}, "cookies must be a list of strings", id="cookies-int"),
        pytest.param({"statusCode": 200, "headers": {"a": "1\r\nb: 2"}}, "without line breaks", id="hdr-crlf"),
        pytest.param({"statusCode": 200, "headers": {"a\nb": "1"}}, "without line breaks", id="hdr-name-lf"),
        pytest.param({"statusCode": 200, "cookies": ["a=1\r\nb: 2"]}, "without line breaks", id="cookie-crlf"),
        pytest.param({"statusCode": 200, "isBase64Encoded": "yes"}, "isBase64Encoded must be a boolean", id="b64"),
        pytest.param(
            {"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"},
            "isBase64Encoded is true but body is not valid base64",
            id="b64-body",
        ),
        pytest.param({"a": object()}, "cannot be serialised to JSON", id="implicit-json"),
        pytest.param({"a": float("nan")}, "cannot be serialised to JSON", id="nan"),
        pytest.param({"statusCode": 200, "body": "x" * (6 * 1024 * 1024 + 1)}, "response limit is 6 MB", id="big"),
        pytest.param("x" * (6 * 1024 * 1024 + 1), "response limit is 6 MB", id="big-string"),
        pytest.param({"a": "x" * (6 * 1024 * 1024)}, "response limit is 6 MB", id="big-json"),
    ],
)
def test_build_response_v2_rejects_invalid_results(result: object, message: str) -> None:
    with pytest.raises(InvalidResponseError) as info:
        build_response("http", result)
    assert message in info.value.message
    assert info.value.status == 502


# --- results: payload 1.0 -------------------------------------------------------------------------


@pytest.mark.parametrize("api_type", ["httpv1", "rest"])
def test_build_response_v1_defaults(api_type: ApiType) -> None:
    got = build_response(api_type, {"body": "{}"})
    assert got == HttpResponse(200, [("content-type", "application/json; charset=utf-8")], b"{}")


@pytest.mark.parametrize("api_type", ["httpv1", "rest"])
def test_build_response_v1_merges_multi_value_headers(api_type: ApiType) -> None:
    result = {
        "statusCode": 200,
        "headers": {"X-A": "single", "X-B": "replaced", "Content-Type": "text/plain"},
        "multiValueHeaders": {"x-b": ["1", "2"], "Set-Cookie": ["a=1; Secure", "b=2"]},
    }
    got = build_response(api_type, result)
    assert header_values(got, "x-a") == ["single"]
    assert header_values(got, "x-b") == ["1", "2"]
    assert header_values(got, "set-cookie") == ["a=1; Path=/", "b=2"]
    assert header_values(got, "content-type") == ["text/plain"]


def test_build_response_rest_remaps_reserved_headers_and_httpv1_drops_them() -> None:
    result = {"statusCode": 200, "headers": {"Server": "mine", "Content-Length": "3", "Date": "d"}}
    rest = build_response("rest", result)
    assert header_values(rest, "x-amzn-remapped-server") == ["mine"]
    assert header_values(rest, "x-amzn-remapped-content-length") == ["3"]
    httpv1 = build_response("httpv1", result)
    assert [name for name, _ in httpv1.headers] == ["server", "content-type"]


def test_build_response_rest_rejects_unknown_keys_but_httpv1_ignores_them() -> None:
    result = {"statusCode": 200, "body": "x", "cookies": ["a=1"]}
    with pytest.raises(InvalidResponseError, match="unknown key\\(s\\) in the response: cookies"):
        build_response("rest", result)
    assert build_response("httpv1", result).body == b"x"


@pytest.mark.parametrize("api_type", ["httpv1", "rest"])
@pytest.mark.parametrize(
    ("result", "message"),
    [
        pytest.param(None, "returned no response", id="none"),
        pytest.param("text", "must be an object with a statusCode, got str 'text'", id="string"),
        pytest.param({"statusCode": "ok"}, "statusCode must be an integer", id="status"),
        pytest.param({"multiValueHeaders": {"a": "b"}}, "multiValueHeaders must be an object whose values", id="mvh"),
        pytest.param({"multiValueHeaders": {"a": ["1", "2\n"]}}, "without line breaks", id="mvh-lf"),
        pytest.param({"headers": {"a": "\r"}}, "without line breaks", id="hdr-cr"),
        pytest.param({"body": ["x"]}, "body must be a string", id="body"),
    ],
)
def test_build_response_v1_rejects_invalid_results(api_type: ApiType, result: object, message: str) -> None:
    with pytest.raises(InvalidResponseError) as info:
        build_response(api_type, result)
    assert message in info.value.message


def test_build_response_just_under_the_payload_limit_is_fine() -> None:
    body = "x" * (6 * 1024 * 1024)
    assert len(build_response("http", {"statusCode": 200, "body": body}).body) == len(body)
    assert len(build_response("rest", {"statusCode": 200, "body": body}).body) == len(body)


def test_build_response_v1_decodes_base64_bodies() -> None:
    raw = b"\x00\x01\xfe\xff"
    result = {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(raw).decode()}
    assert build_response("rest", result).body == raw


# --- routing --------------------------------------------------------------------------------------

FN = FunctionSpec("http", "fn", Path("/app/src/http/fn"))
# In Architect's order (reference §1.4): by method, deeper first, static before params, catch-all last.
ROUTES = [
    HttpRoute(method, path, FN)
    for method, path in [
        ("get", "/notes/:id/edit"),
        ("get", "/notes/new"),
        ("get", "/notes/:id"),
        ("get", "/files/*"),
        ("get", "/"),
        ("get", "/:page"),
        ("post", "/notes"),
        ("delete", "/notes/:id"),
        ("head", "/ping"),
        ("any", "/api/*"),
    ]
]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        pytest.param("GET", "/", ("get", "/", {}), id="root"),
        pytest.param("GET", "/notes/new", ("get", "/notes/new", {}), id="static-beats-param"),
        pytest.param("GET", "/notes/42", ("get", "/notes/:id", {"id": "42"}), id="param"),
        pytest.param("GET", "/notes/42/", ("get", "/notes/:id", {"id": "42"}), id="trailing-slash"),
        pytest.param("GET", "/notes/a%20b%2Fc", ("get", "/notes/:id", {"id": "a b/c"}), id="param-decoded"),
        pytest.param("GET", "/notes/42/edit", ("get", "/notes/:id/edit", {"id": "42"}), id="two-levels"),
        pytest.param("GET", "/about", ("get", "/:page", {"page": "about"}), id="root-param"),
        pytest.param("GET", "/files/a/b%20c.txt", ("get", "/files/*", {"proxy": "a/b c.txt"}), id="catch-all"),
        pytest.param("GET", "/files", ("get", "/files/*", {"proxy": ""}), id="catch-all-bare"),
        pytest.param("GET", "/files/", ("get", "/files/*", {"proxy": ""}), id="catch-all-slash"),
        pytest.param("POST", "/notes", ("post", "/notes", {}), id="post"),
        pytest.param("post", "/notes", ("post", "/notes", {}), id="method-any-case"),
        pytest.param("DELETE", "/notes/7", ("delete", "/notes/:id", {"id": "7"}), id="delete"),
        pytest.param("HEAD", "/notes/7", ("get", "/notes/:id", {"id": "7"}), id="head-uses-get"),
        pytest.param("HEAD", "/ping", ("head", "/ping", {}), id="head-route"),
        pytest.param("PUT", "/api/v1/x", ("any", "/api/*", {"proxy": "v1/x"}), id="any"),
        pytest.param("GET", "/api/v1", ("any", "/api/*", {"proxy": "v1"}), id="any-get"),
        pytest.param("PROPFIND", "/api/x", ("any", "/api/*", {"proxy": "x"}), id="any-other-method"),
        pytest.param("GET", "/notes/42/edit/more", None, id="too-deep"),
        pytest.param("PUT", "/notes", None, id="wrong-method"),
        pytest.param("GET", "/ping", ("get", "/:page", {"page": "ping"}), id="head-route-not-get"),
        pytest.param("PROPFIND", "/notes", None, id="other-method-no-any"),
        pytest.param("GET", "/Notes/new", None, id="case-sensitive"),
        pytest.param("GET", "/apix", ("get", "/:page", {"page": "apix"}), id="prefix-is-not-catch-all"),
        pytest.param("GET", "//", None, id="empty-part"),
    ],
)
def test_router_matches_in_architect_order(
    method: str, path: str, expected: tuple[str, str, dict[str, str]] | None
) -> None:
    found = Router(ROUTES).match(method, path)
    if expected is None:
        assert found is None
        return
    assert found is not None
    route, match = found
    assert (match.method, match.path, match.path_parameters) == expected
    assert (route.method, route.path) == (match.method, match.path)


def test_router_root_catch_all_takes_everything() -> None:
    router = Router([HttpRoute("get", "/notes", FN), HttpRoute("any", "/*", FN)])
    assert router.match("GET", "/notes") is not None
    for path, proxy in [("/", ""), ("/a", "a"), ("/a/b/", "a/b/"), ("/notes/1", "notes/1")]:
        found = router.match("OPTIONS", path)
        assert found is not None and found[1].path_parameters == {"proxy": proxy}, path


def test_router_without_routes_matches_nothing() -> None:
    assert Router([]).match("GET", "/") is None


def test_router_escapes_regex_characters_in_static_parts() -> None:
    router = Router([HttpRoute("get", "/v1.0/a", FN)])
    assert router.match("GET", "/v1.0/a") is not None
    assert router.match("GET", "/v1x0/a") is None


def test_match_route_is_the_router() -> None:
    for method, path in [("GET", "/notes/1"), ("PUT", "/api/x"), ("GET", "/nope/nope/nope/nope")]:
        assert match_route(ROUTES, method, path) == Router(ROUTES).match(method, path)
