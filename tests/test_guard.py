"""The sandbox's own endpoints take requests from this machine's programs, not from web pages:
DNS rebinding (a foreign Host) and cross-site writes (a foreign Origin, a browser's form or text
body) are refused on every port; the app's own routes stay as the app wants them."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import boto3
import pytest

from sandbox.config import SandboxConfig
from sandbox.guard import HostPolicy, check, host_name
from sandbox.sandbox import Sandbox

APP = "@app\nguard-test\n\n@http\nget /\n\n@events\nping\n\n@tables\nthings\n  id *String\n"
EVIL = "evil.example"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    (tmp_path / "app.arc").write_text(APP)
    for kind, name in (("http", "get-index"), ("events", "ping")):
        (tmp_path / "src" / kind / name).mkdir(parents=True)
        (tmp_path / "src" / kind / name / "lambda.py").write_text(
            "def handler(event, context):\n    return {'statusCode': 200, 'body': 'app'}\n"
        )
    async with Sandbox(SandboxConfig.ephemeral(tmp_path)) as sb:
        yield sb


def url(sb: Sandbox, service: str, path: str = "/") -> str:
    return f"http://127.0.0.1:{sb.ports[service]}{path}"


async def test_a_foreign_host_is_refused_on_every_sandbox_port(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        for service, path in (("events", "/_sandbox/messages"), ("tables", "/"), ("internal", "/_arc/ssm")):
            async with session.get(url(sandbox, service, path), headers={"Host": f"{EVIL}:80"}) as r:
                assert r.status == 403, service
                assert "DNS rebinding" in await r.text()
        async with session.get(url(sandbox, "http", "/_sandbox/messages"), headers={"Host": EVIL}) as r:
            assert r.status == 403  # the sandbox's own paths on the app's port too
        async with session.get(url(sandbox, "http", "/"), headers={"Host": EVIL}) as r:
            assert (r.status, await r.text()) == (200, "app")  # the app's routes are the app's business


async def test_loopback_names_with_the_port_are_accepted(sandbox: Sandbox) -> None:
    port = sandbox.ports["events"]
    async with aiohttp.ClientSession() as session:
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost"):
            async with session.get(url(sandbox, "events", "/_sandbox/messages"), headers={"Host": host}) as r:
                assert r.status == 200, host


async def test_the_tables_port_refuses_in_dynamodbs_error_shape(sandbox: Sandbox) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url(sandbox, "tables"), data=b"{}", headers={"Host": EVIL}) as r,
    ):
        assert r.status == 403
        body = json.loads(await r.read())
    assert body["__type"].endswith("#AccessDeniedException") and "evil.example" in body["message"]


async def test_a_text_plain_publish_from_a_foreign_page_is_refused_and_publishes_nothing(sandbox: Sandbox) -> None:
    body = json.dumps({"name": "ping", "payload": {"from": "evil"}})
    async with aiohttp.ClientSession() as session:
        headers = {"Content-Type": "text/plain", "Origin": f"https://{EVIL}", "Sec-Fetch-Site": "cross-site"}
        async with session.post(url(sandbox, "events", "/events"), data=body, headers=headers) as r:
            assert r.status == 403
        # a page served from this machine cannot send a body that skips the CORS preflight either
        local = {"Content-Type": "text/plain", "Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"}
        async with session.post(url(sandbox, "events", "/events"), data=body, headers=local) as r:
            assert r.status == 403
        invoke = json.dumps({"pragma": "events", "name": "ping"})
        async with session.post(url(sandbox, "events", "/_sandbox/invoke"), data=invoke, headers=headers) as r:
            assert r.status == 403
    assert sandbox.bus.published == []


async def test_json_from_this_machine_and_plain_clients_still_publish(sandbox: Sandbox) -> None:
    body = json.dumps({"name": "ping", "payload": {"n": 1}}).encode()
    async with aiohttp.ClientSession() as session:
        headers = {"Content-Type": "application/json", "Origin": "http://localhost:3333"}
        async with session.post(url(sandbox, "events", "/events"), data=body, headers=headers) as r:
            assert r.status == 200

    def like_architect_functions() -> int:
        """urllib's default form Content-Type and no Origin: not a browser."""
        with urllib.request.urlopen(url(sandbox, "events", "/events"), body, timeout=10) as response:
            return int(response.status)

    assert await asyncio.to_thread(like_architect_functions) == 200
    assert [p.payload for p in sandbox.bus.published] == [{"n": 1}, {"n": 1}]


async def test_boto3_reaches_the_tables_port(sandbox: Sandbox) -> None:
    client = boto3.client(
        "dynamodb", endpoint_url=url(sandbox, "tables"), region_name="us-west-2",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    assert (await asyncio.to_thread(client.list_tables))["TableNames"]


def test_a_signed_form_body_passes_where_an_unsigned_one_from_a_browser_does_not() -> None:
    policy = HostPolicy()
    form = {"Host": "localhost:4444", "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Mode": "cors"}
    assert check("POST", form, policy) is not None
    signed = {**form, "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/sns/aws4_request, ..."}
    assert check("POST", signed, policy) is None
    assert check("POST", {**signed, "Origin": f"http://{EVIL}"}, policy) is not None  # a foreign page, signed or not


def test_binding_every_interface_accepts_ip_addresses_but_never_other_names() -> None:
    policy = HostPolicy("0.0.0.0")
    assert policy.allows("192.168.1.20") and policy.allows("localhost")
    assert not policy.allows(EVIL)
    assert HostPolicy("devbox.local").allows("devbox.local") and not HostPolicy().allows("192.168.1.20")
    assert [host_name(h) for h in ("[::1]:4444", "LocalHost:1", "::1", "a.b")] == ["::1", "localhost", "::1", "a.b"]


def test_a_malformed_origin_is_refused_not_an_error() -> None:
    from sandbox.guard import HostPolicy

    assert HostPolicy("127.0.0.1").allows_origin("http://[::1") is False
