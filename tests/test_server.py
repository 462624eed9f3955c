"""The HTTP front on a real socket: routing, API Gateway events, results, static files, every failure."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.apigateway import front, static
from sandbox.apigateway.integration import HttpResponse
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

APP = """
@app
front-test

@http
get /
get /echo/:id
post /echo
get /files/*
get /boom
get /slow
get /invalid
get /missing
get /syntax
get /cookies
get /binary
get /blocking
"""

HANDLERS = {
    "get-index": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'home'}\n",
    "get-echo-000id": "def handler(event, context):\n    return event\n",
    "post-echo": "def handler(event, context):\n    return event\n",
    "get-files-catchall": "def handler(event, context):\n    return event['pathParameters']\n",
    "get-boom": "def handler(event, context):\n    raise RuntimeError('kaboom')\n",
    "get-slow": "import asyncio\nasync def handler(event, context):\n    await asyncio.sleep(30)\n",
    "get-invalid": "def handler(event, context):\n    return {'statusCode': 'two hundred'}\n",
    "get-syntax": "def handler(event, context)\n    return 1\n",
    "get-cookies": (
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'cookies': ['a=1; Secure', 'b=2'], 'body': 'ok'}\n"
    ),
    "get-binary": (
        "import base64\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'headers': {'content-type': 'application/octet-stream'},\n"
        "            'isBase64Encoded': True, 'body': base64.b64encode(bytes(range(256))).decode()}\n"
    ),
    # Quick unless asked to call the app's own /echo route back, with a blocking client.
    "get-blocking": (
        "import json, urllib.request\n"
        "def handler(event, context):\n"
        "    n = (event.get('queryStringParameters') or {}).get('call')\n"
        "    if n is None:\n"
        "        return {'statusCode': 200, 'body': 'quick'}\n"
        "    url = f\"http://{event['headers']['host']}/echo/{n}\"\n"
        "    with urllib.request.urlopen(url, timeout=10) as r:\n"
        "        return {'statusCode': 200, 'body': json.loads(r.read())['pathParameters']['id']}\n"
    ),
}


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    app = tmp_path / "app"
    (app / "src" / "http").mkdir(parents=True)
    (app / "app.arc").write_text(APP)
    for folder, code in HANDLERS.items():
        (app / "src" / "http" / folder).mkdir()
        (app / "src" / "http" / folder / "lambda.py").write_text(code)
    (app / "src" / "http" / "get-slow" / "config.arc").write_text("@aws\ntimeout 1\n")
    (app / "public").mkdir()
    (app / "public" / "hello.txt").write_text("static hello")
    (tmp_path / "secret.txt").write_text("do not serve")
    config = SandboxConfig.ephemeral(app)
    async with Sandbox(config) as sb:
        yield sb


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sandbox.url) as session:
        yield session


async def test_server_routes_to_the_handler(client: aiohttp.ClientSession) -> None:
    async with client.get("/") as r:
        assert (r.status, await r.text()) == (200, "home")
        assert r.headers["content-type"].startswith("text/plain")


async def test_server_builds_a_v2_event_with_path_parameters_and_query(client: aiohttp.ClientSession) -> None:
    async with client.get("/echo/42?x=1&x=2&y=3", headers={"Cookie": "c=1; d=2"}) as r:
        assert r.status == 200
        event = await r.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /echo/{id}"
    assert event["rawPath"] == "/echo/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"x": "1,2", "y": "3"}
    assert event["cookies"] == ["c=1", "d=2"]
    assert "cookie" not in event["headers"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["stage"] == "$default"
    assert context["requestId"] and context["timeEpoch"] > 1_000_000_000_000


async def test_server_passes_json_bodies_raw_and_others_as_base64(client: aiohttp.ClientSession) -> None:
    async with client.post("/echo", json={"a": 1}) as r:
        event = await r.json()
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)
    async with client.post("/echo", data={"background": "x"}) as r:
        event = await r.json()
    assert event["isBase64Encoded"] is True


async def test_server_catch_all_gives_the_proxy_parameter(client: aiohttp.ClientSession) -> None:
    async with client.get("/files/a/b/c.txt") as r:
        assert await r.json() == {"proxy": "a/b/c.txt"}


async def test_server_shows_a_500_page_with_the_traceback(client: aiohttp.ClientSession) -> None:
    async with client.get("/boom") as r:
        body = await r.text()
        assert r.status == 500
        assert r.headers["content-type"].startswith("text/html")
    assert "kaboom" in body and "RuntimeError" in body and "lambda.py" in body


async def test_server_times_out_and_stays_healthy(client: aiohttp.ClientSession) -> None:
    async with client.get("/slow") as r:
        assert r.status == 500
        assert "timed out after 1 s" in await r.text()
    async with client.get("/") as r:
        assert r.status == 200


async def test_server_502s_an_invalid_result_saying_what_is_wrong(client: aiohttp.ClientSession) -> None:
    async with client.get("/invalid") as r:
        assert r.status == 502
        assert "statusCode" in await r.text()


async def test_server_502s_a_missing_handler_naming_the_files(client: aiohttp.ClientSession) -> None:
    async with client.get("/missing") as r:
        body = await r.text()
        assert r.status == 502
    assert "get-missing" in body and "lambda.py" in body and "index.py" in body


async def test_server_500s_a_syntax_error_instead_of_crashing(client: aiohttp.ClientSession) -> None:
    async with client.get("/syntax") as r:
        assert r.status == 500
        assert "SyntaxError" in await r.text()


async def test_server_403s_an_unknown_route_like_architect(client: aiohttp.ClientSession) -> None:
    async with client.delete("/nowhere") as r:
        assert r.status == 403
        assert "/nowhere" in await r.text()


async def test_server_merges_cookies_and_rewrites_secure(client: aiohttp.ClientSession) -> None:
    async with client.get("/cookies") as r:
        cookies = r.headers.getall("set-cookie")
    assert cookies == ["a=1; Path=/", "b=2"]


async def test_server_decodes_base64_bodies(client: aiohttp.ClientSession) -> None:
    async with client.get("/binary") as r:
        assert await r.read() == bytes(range(256))


async def test_server_serves_static_files_and_never_outside_the_folder(client: aiohttp.ClientSession) -> None:
    async with client.get("/_static/hello.txt") as r:
        assert (r.status, await r.text()) == (200, "static hello")
    for attempt in ("/_static/../secret.txt", "/_static/%2e%2e/secret.txt", "/_static/..%2fsecret.txt"):
        async with client.get(attempt) as r:
            assert r.status in (403, 404), attempt
            assert "do not serve" not in await r.text()


async def test_server_reads_static_files_off_the_core_loop(
    client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers: list[int] = []

    def recording(*args: Any, **kwargs: Any) -> HttpResponse:
        readers.append(threading.get_ident())
        return static.static_response(*args, **kwargs)

    monkeypatch.setattr(front, "static_response", recording)
    async with client.get("/_static/hello.txt") as r:
        assert (r.status, await r.text()) == (200, "static hello")
    assert readers and threading.get_ident() not in readers


async def test_server_lets_sync_handlers_call_the_app_back_with_a_blocking_client(
    client: aiohttp.ClientSession,
) -> None:
    for _ in range(5):  # the handler pool now knows get /blocking as quick, and would batch its calls
        async with client.get("/blocking") as r:
            assert await r.text() == "quick"

    async def call_back(n: int) -> str:
        async with client.get(f"/blocking?call={n}") as r:
            assert r.status == 200
            return await r.text()

    # Each call waits on a request that needs a handler thread of its own: none may wait behind another.
    assert await asyncio.gather(*(call_back(n) for n in range(8))) == [str(n) for n in range(8)]


async def test_server_handles_concurrent_requests(client: aiohttp.ClientSession) -> None:
    async def one(i: int) -> dict[str, object]:
        async with client.get(f"/echo/{i}") as r:
            return dict(await r.json())

    events = await asyncio.gather(*(one(i) for i in range(50)))
    assert sorted(int(str(e["pathParameters"]["id"])) for e in events) == list(range(50))  # type: ignore[index]


async def test_sandbox_without_a_manifest_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("<p>default</p>")
    async with (
        Sandbox(SandboxConfig.ephemeral(tmp_path)) as sandbox,
        aiohttp.ClientSession(sandbox.url) as client,
        client.get("/") as resp,
    ):
        assert await resp.text() == "<p>default</p>"
    [warning] = [r.getMessage() for r in caplog.records if "No Architect manifest" in r.getMessage()]
    assert str(tmp_path) in warning
