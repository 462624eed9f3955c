"""@proxy: requests no route matches go to the URL for the current environment, as Architect's sandbox does.

Architect proxies only HTTP APIs (not REST) and only what no route takes; `/_static` and the
public/ fallback come after it. The body, headers and status come back as the upstream sent them
(compressed bodies stay compressed).
"""

from __future__ import annotations

import aiohttp

from sandbox.apigateway import pages
from sandbox.apigateway.integration import HttpRequest, HttpResponse

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip


def proxy_url(urls: dict[str, str], arc_env: str) -> str | None:
    """The URL for ARC_ENV; Architect's sandbox uses `testing`, the fallback here when ARC_ENV has none."""
    return urls.get(arc_env) or urls.get("testing")


class Proxy:
    def __init__(self, *, timeout: float = 30.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def forward(self, base: str, request: HttpRequest) -> HttpResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False)
        url = base + request.path + (f"?{request.query_string}" if request.query_string else "")
        headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=request.body, allow_redirects=False
            ) as answer:
                body = await answer.read()
                kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
                return HttpResponse(answer.status, kept, body)
        except (aiohttp.ClientError, TimeoutError) as error:
            return pages.proxy_failed_page(base, str(error) or type(error).__name__)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
