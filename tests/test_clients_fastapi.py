"""FastAPI behind Mangum on an `any /*` route, through a started sandbox on real sockets, answers as it
does under FastAPI's own TestClient: path and query parameters, JSON, form and multipart bodies,
cookies set and sent back, binary and gzip bodies, percent-encoded paths, redirects, HEAD and CORS
preflight OPTIONS; under both HTTP API payload formats (2.0 and 1.0), which Mangum reads differently."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from fastapi.testclient import TestClient

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP = Path(__file__).parent / "fixtures" / "apps" / "fastapi"
HANDLER = APP / "src" / "http" / "any-catchall" / "lambda.py"
# What API Gateway and TestClient may legitimately spell differently (framing, dates) is left out.
COMPARED_HEADERS = (
    "content-type",
    "content-encoding",
    "location",
    "cache-control",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-credentials",
    "vary",
)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    form: dict[str, str] | None = None
    upload: tuple[str, bytes] | None = None  # a multipart "file" part beside the form fields
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: Any


def answer(status: int, headers: Any, cookies: list[str], body: bytes) -> Answer:
    kept = {name: headers[name] for name in COMPARED_HEADERS if name in headers}
    decoded: Any = body
    if headers.get("content-type") == "application/json" and body:
        decoded = json.loads(body)
    return Answer(status, kept, sorted(cookies), decoded)


async def through_sandbox(session: aiohttp.ClientSession, call: Call) -> Answer:
    data: Any = call.form
    if call.upload is not None:
        data = aiohttp.FormData(call.form or {})
        name, content = call.upload
        data.add_field("file", content, filename=name, content_type="application/octet-stream")
    async with session.request(
        call.method, call.path, json=call.json, data=data, headers=call.headers, allow_redirects=False
    ) as response:
        body = await response.read()
        cookies = response.headers.getall("set-cookie", [])
        return answer(response.status, {k.lower(): v for k, v in response.headers.items()}, cookies, body)


# A response without a content-type (a redirect) gets one on the way: Mangum's payload 2.0 handler adds
# `application/json` (on Lambda too); with payload 1.0 Mangum adds none and the sandbox gives API
# Gateway's default as Architect's sandbox does (reference §2.8).
ADDED_CONTENT_TYPE = {"http": "application/json", "httpv1": "application/json; charset=utf-8"}


def as_lambda_answers(expected: Answer, api_type: str) -> Answer:
    if "content-type" in expected.headers:
        return expected
    return replace(expected, headers={**expected.headers, "content-type": ADDED_CONTENT_TYPE[api_type]})


def through_test_client(client: TestClient, call: Call) -> Answer:
    files = None
    if call.upload is not None:
        name, content = call.upload
        files = {"file": (name, content, "application/octet-stream")}
    response = client.request(
        call.method,
        call.path,
        json=call.json,
        data=call.form,
        files=files,
        headers=call.headers,
        follow_redirects=False,
    )
    return answer(response.status_code, response.headers, response.headers.get_list("set-cookie"), response.content)


def load_app_module() -> ModuleType:
    # The handler file is lambda.py, a keyword: load it by path under another name.
    spec = importlib.util.spec_from_file_location("fastapi_fixture_app", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=list(ADDED_CONTENT_TYPE))
async def sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    """The app under each HTTP API payload format Mangum reads (REST APIs take no catch-all `any` route)."""
    app_dir = shutil.copytree(APP, tmp_path_factory.mktemp("fastapi") / "app")
    with (app_dir / "app.arc").open("a") as manifest:
        manifest.write(f"\n@aws\napigateway {request.param}\n")
    async with Sandbox(SandboxConfig.ephemeral(app_dir)) as sb:
        yield sb


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    return load_app_module()


@pytest.fixture
def test_client(app_module: ModuleType) -> Iterator[TestClient]:
    with TestClient(app_module.app, base_url="http://localhost") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def session(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sandbox.url) as client:
        yield client


CALLS = [
    pytest.param(Call("GET", "/items/42?q=hello%20there&tag=a&tag=b%2Cc"), id="path-and-query"),
    pytest.param(Call("GET", "/items/not-a-number"), id="validation-error"),
    pytest.param(Call("GET", "/nowhere"), id="not-found"),
    pytest.param(Call("DELETE", "/items/1"), id="method-not-allowed"),
    pytest.param(
        Call("POST", "/items", json={"name": "Ünïcode ☃", "price": 1.5, "tags": ["x"]}, headers={"x-token": "t1"}),
        id="json-body",
    ),
    pytest.param(Call("POST", "/items", json={"name": "no price"}), id="json-body-invalid"),
    pytest.param(Call("POST", "/login", form={"username": "ada", "password": "s3cr&t=1"}), id="form-sets-cookies"),
    pytest.param(
        Call("POST", "/upload", form={"note": "all bytes"}, upload=("blob.bin", bytes(range(256)) * 3)),
        id="multipart-upload",
    ),
    pytest.param(Call("GET", "/logo.png"), id="binary-response"),
    pytest.param(Call("GET", "/old-items/7"), id="redirect"),
    pytest.param(Call("GET", "/text"), id="text-utf8"),
    pytest.param(Call("GET", "/big"), id="gzip-compressed"),
    pytest.param(Call("GET", "/files/a%20b/c%C3%A9.txt"), id="encoded-path"),
    pytest.param(Call("HEAD", "/ping"), id="head"),
    pytest.param(Call("HEAD", "/items/1"), id="head-on-a-get-only-route"),
    pytest.param(
        Call(
            "OPTIONS",
            "/items",
            headers={
                "origin": "https://example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": "x-token",
            },
        ),
        id="cors-preflight",
    ),
    pytest.param(Call("GET", "/items/3", headers={"origin": "https://example.com"}), id="cors-simple"),
]


@pytest.mark.parametrize("call", CALLS)
async def test_fastapi_through_the_sandbox_answers_as_under_test_client(
    call: Call, sandbox: Sandbox, session: aiohttp.ClientSession, test_client: TestClient
) -> None:
    expected = as_lambda_answers(through_test_client(test_client, call), sandbox.manifest.aws.apigateway)
    assert await through_sandbox(session, call) == expected


async def test_fastapi_cookies_set_by_one_request_are_read_by_the_next(
    sandbox: Sandbox, test_client: TestClient
) -> None:
    login = Call("POST", "/login", form={"username": "grace", "password": "pw"})
    whoami = Call("GET", "/whoami")
    async with aiohttp.ClientSession(sandbox.url) as session:  # a fresh cookie jar
        await through_sandbox(session, login)
        through_test_client(test_client, login)
        via_sandbox = await through_sandbox(session, whoami)
    assert via_sandbox == through_test_client(test_client, whoami)
    assert via_sandbox.body == {"session": "grace:2", "theme": "dark"}


async def test_fastapi_binary_response_arrives_byte_for_byte(
    session: aiohttp.ClientSession, app_module: ModuleType
) -> None:
    got = await through_sandbox(session, Call("GET", "/logo.png"))
    assert (got.status, got.headers["content-type"], got.body) == (200, "image/png", app_module.PNG)


async def test_fastapi_redirect_is_followed_to_the_target(session: aiohttp.ClientSession) -> None:
    async with session.get("/old-items/9") as response:
        assert (response.status, await response.json()) == (200, {"item_id": 9, "q": "moved", "tags": []})
        assert [r.status for r in response.history] == [301]
