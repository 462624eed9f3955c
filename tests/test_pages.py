"""HTML error pages: status, headers, what they say, and that user text is escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.apigateway.integration import HttpResponse
from sandbox.apigateway.pages import (
    endpoint_not_found_page,
    handler_error_page,
    handler_not_found_page,
    invalid_response_page,
    static_not_found_page,
    timeout_page,
)

NO_CACHE = "no-cache, no-store, must-revalidate, max-age=0, s-maxage=0"
HOSTILE = "<script>alert('x')</script>"


def text(response: HttpResponse) -> str:
    return response.body.decode("utf-8")


PAGES = {
    "handler-error": (
        handler_error_page("get /boom", Path("/app/src/http/get-boom"), "RuntimeError", "kaboom", "Traceback..."),
        500,
    ),
    "timeout": (timeout_page("get /slow", 1.0), 500),
    "invalid": (invalid_response_page("get /bad", "statusCode must be an integer"), 502),
    "not-found": (handler_not_found_page("get /gone", [Path("/app/src/http/get-gone/lambda.py")]), 502),
    "endpoint": (endpoint_not_found_page("get", "/nowhere"), 403),
    "static": (static_not_found_page("/x.css"), 404),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_status_and_headers(name: str) -> None:
    response, status = PAGES[name]
    assert response.status == status
    assert dict(response.headers) == {"content-type": "text/html; charset=utf-8", "cache-control": NO_CACHE}
    assert text(response).startswith("<!DOCTYPE html>")


def test_handler_error_page_shows_the_error_and_the_traceback() -> None:
    traceback = 'Traceback (most recent call last):\n  File "lambda.py", line 2, in handler\nRuntimeError: kaboom\n'
    page = text(handler_error_page("get /boom", Path("/app/src/http/get-boom"), "RuntimeError", "kaboom", traceback))
    assert "<h1>Lambda error</h1>" in page
    assert "RuntimeError: kaboom" in page
    assert "get /boom" in page and "/app/src/http/get-boom" in page
    assert "<pre>Traceback (most recent call last):\n  File &quot;lambda.py&quot;, line 2" in page


def test_handler_error_page_without_a_traceback_has_no_empty_block() -> None:
    assert "<pre>" not in text(handler_error_page("f", Path("/src"), "ImportError", "no module", ""))


@pytest.mark.parametrize(("timeout", "words"), [(1.0, "timed out after 1 s"), (2.5, "timed out after 2.5 s")])
def test_timeout_page_says_how_long(timeout: float, words: str) -> None:
    page = text(timeout_page("get /slow", timeout))
    assert words in page and "get /slow" in page


def test_invalid_response_page_says_what_is_wrong() -> None:
    page = text(invalid_response_page("get /bad", "statusCode must be an integer, got str 'x'"))
    assert "statusCode must be an integer, got str &#x27;x&#x27;" in page


def test_handler_not_found_page_names_every_file_looked_for() -> None:
    looked_for = [Path("/app/src/http/get-gone") / name for name in ("lambda.py", "handler.py", "index.py")]
    page = text(handler_not_found_page("get /gone", looked_for))
    assert all(f"<code>{path}</code>" in page for path in looked_for)


def test_endpoint_not_found_page_is_like_architects() -> None:
    page = text(endpoint_not_found_page("GET", "/nowhere"))
    assert "Endpoint does not exist for <code>get /nowhere</code>" in page
    assert "<code>@http get /nowhere</code>" in page


def test_static_not_found_page_names_the_path() -> None:
    assert "/x.css" in text(static_not_found_page("/x.css"))
    assert "NoSuchKey" in text(static_not_found_page())


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(lambda s: handler_error_page(s, Path(s), s, s, s), id="handler-error"),
        pytest.param(lambda s: timeout_page(s, 1), id="timeout"),
        pytest.param(lambda s: invalid_response_page(s, s), id="invalid"),
        pytest.param(lambda s: handler_not_found_page(s, [Path(s)]), id="not-found"),
        pytest.param(lambda s: endpoint_not_found_page("get", "/" + s), id="endpoint"),
        pytest.param(lambda s: static_not_found_page(s), id="static"),
    ],
)
def test_pages_escape_user_text(page: object) -> None:
    assert callable(page)
    html = text(page(HOSTILE))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
