"""@proxy (`sandbox.apigateway.proxy`): what no route takes goes to the environment's URL; routes still win."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox


async def upstream_answer(request: web.Request) -> web.Response:
    seen = {
        "method": request.method,
        "path": request.path_qs,
        "body": (await request.read()).decode(),
        "trace": request.headers.get("X-Trace"),
    }
    return web.json_response(seen, status=201, headers={"X-Upstream": "yes"})


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream_answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def write_app(root: Path, proxy_lines: str, aws: str = "") -> Path:
    app = root / "app"
    (app / "src" / "http" / "get-here").mkdir(parents=True)
    (app / "src" / "http" / "get-here" / "lambda.py").write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'local'}\n"
    )
    (app / "app.arc").write_text(f"@app\nproxied\n{aws}\n@http\nget /here\n\n@proxy\n{proxy_lines}\n")
    return app


async def test_proxy_forwards_unmatched_requests(tmp_path: Path, upstream: str) -> None:
    app = write_app(tmp_path, f"testing {upstream}\nstaging http://127.0.0.1:9\nproduction http://127.0.0.1:9")
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox, aiohttp.ClientSession(sandbox.url) as client:
        async with client.get("/here") as resp:
            assert await resp.text() == "local"
        async with client.post("/elsewhere/x?a=1", data=b"payload", headers={"X-Trace": "t"}) as resp:
            assert resp.status == 201 and resp.headers["X-Upstream"] == "yes"
            assert json.loads(await resp.text()) == {
                "method": "POST", "path": "/elsewhere/x?a=1", "body": "payload", "trace": "t"
            }  # fmt: skip


async def test_proxy_uses_the_current_environment_and_says_when_it_is_down(tmp_path: Path, upstream: str) -> None:
    app = write_app(tmp_path, f"testing {upstream}\nstaging http://127.0.0.1:9\nproduction http://127.0.0.1:9")
    config = SandboxConfig.ephemeral(app, arc_env="staging")
    async with (
        Sandbox(config) as sandbox,
        aiohttp.ClientSession(sandbox.url) as client,
        client.get("/nowhere") as resp,
    ):
        assert resp.status == 502
        assert "http://127.0.0.1:9" in await resp.text()


async def test_proxy_is_for_http_apis_only(tmp_path: Path, upstream: str) -> None:
    app = write_app(
        tmp_path, f"testing {upstream}\nstaging {upstream}\nproduction {upstream}", aws="\n@aws\napigateway rest\n"
    )
    async with (
        Sandbox(SandboxConfig.ephemeral(app)) as sandbox,
        aiohttp.ClientSession(sandbox.url) as client,
        client.get("/nowhere") as resp,
    ):
        assert resp.status == 404 and "X-Upstream" not in resp.headers  # the public/ fallback answers
