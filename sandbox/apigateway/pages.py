"""The HTML pages the sandbox answers with when a request cannot reach a working handler.

It is a development server, so the pages say what went wrong and where, tracebacks included.
Every value is HTML-escaped: messages and paths come from user code and from the URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from pathlib import Path

from sandbox.apigateway.types import HttpResponse

HTML_TYPE = "text/html; charset=utf-8"
# Error pages must never be cached: the next save usually fixes them.
NO_CACHE = "no-cache, no-store, must-revalidate, max-age=0, s-maxage=0"

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}"
    "h1{font-size:1.6rem}code,pre{font-family:ui-monospace,monospace}"
    "pre{background:#f5f5f5;padding:1rem;overflow-x:auto;white-space:pre-wrap}"
)


def _page(status: int, title: str, *paragraphs: str) -> HttpResponse:
    """`paragraphs` are HTML fragments already escaped by the caller."""
    body = "".join(paragraphs)
    html = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )
    headers = [("content-type", HTML_TYPE), ("cache-control", NO_CACHE)]
    return HttpResponse(status, headers, html.encode("utf-8"))


def _code(text: object) -> str:
    return f"<code>{escape(str(text))}</code>"


def _items(values: Iterable[object]) -> str:
    return "<ul>" + "".join(f"<li>{_code(value)}</li>" for value in values) + "</ul>"


def handler_error_page(
    function_name: str, src_dir: Path, error_type: str, message: str, traceback: str
) -> HttpResponse:
    """500: the handler raised (or could not be imported)."""
    return _page(
        500,
        "Lambda error",
        f"<h2>{escape(error_type)}: {escape(message)}</h2>",
        f"<p>Function {_code(function_name)} in {_code(src_dir)}</p>",
        f"<pre>{escape(traceback)}</pre>" if traceback else "",
    )


def timeout_page(function_name: str, timeout: float) -> HttpResponse:
    """500: the handler ran past its timeout."""
    return _page(
        500,
        "Lambda timed out",
        f"<p>{_code(function_name)} timed out after {timeout:g} s.</p>",
        "<p>Raise the limit with <code>@aws timeout</code> in the function's <code>config.arc</code>.</p>",
    )


def invalid_response_page(function_name: str, problem: str) -> HttpResponse:
    """502: the handler returned something API Gateway would reject."""
    return _page(
        502,
        "Invalid Lambda response",
        f"<p>{_code(function_name)} returned a response API Gateway would reject:</p>",
        f"<pre>{escape(problem)}</pre>",
    )


def handler_not_found_page(
    function_name: str, looked_for: list[Path], other_runtime: str | None = None
) -> HttpResponse:
    """502: no handler file in the function's folder (and what it holds instead, if another runtime's)."""
    instead = (
        f"<p>The folder has a {escape(other_runtime)} handler: arc-sandbox runs Python handlers only.</p>"
        if other_runtime
        else ""
    )
    return _page(
        502,
        "Lambda handler not found",
        f"<p>No handler for {_code(function_name)}. Looked for:</p>",
        _items(looked_for),
        instead,
        "<p>Create one of them with a <code>handler(event, context)</code> function.</p>",
    )


def endpoint_not_found_page(method: str, path: str) -> HttpResponse:
    """403, as Architect answers a request that no route takes."""
    route = f"{method.lower()} {path}"
    return _page(
        403,
        "Endpoint does not exist",
        f"<p>Endpoint does not exist for {_code(route)}.</p>",
        f"<p>Add {_code('@http ' + route)} to your project's <code>app.arc</code> to create it.</p>",
    )


def static_not_found_page(path: str | None = None) -> HttpResponse:
    """404: no static file for this path."""
    what = _code(path) if path else "The requested file"
    return _page(404, "Not found", f"<p>NoSuchKey: {what} was not found.</p>")


def proxy_failed_page(url: str, problem: str) -> HttpResponse:
    """502: the @proxy URL did not answer."""
    return _page(502, "Bad gateway", f"<p>The @proxy URL {_code(url)} did not answer: {_code(problem)}</p>")
