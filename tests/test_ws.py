"""@ws (`sandbox.apigateway.websocket`): a real WebSocket client against the http port, the Management API through boto3,
architect-functions' `arc.ws` and `sandbox.arc.ws` in handlers."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest

from sandbox.config import SandboxConfig
from sandbox.errors import GoneError
from sandbox.pytest_plugin import _reset_architect_functions
from sandbox.sandbox import Sandbox
from tests import wire_app

APP = "@app\nws-app\n\n@ws\nping\nboom\nplain\n"
RECORD = """
import json, pathlib

def record(event):
    with open(pathlib.Path(__file__).parent / "seen.jsonl", "a") as out:
        out.write(json.dumps(event) + "\\n")
"""
HANDLERS = {
    "connect": RECORD
    + """
def handler(event, context):
    record(event)
    query = event.get("queryStringParameters") or {}
    if "deny" in query:
        return {"statusCode": int(query["deny"])}
    if "nothing" in query:
        return None
    if "proto" in query:  # the subprotocol the client asked for, chosen as API Gateway lets `connect` choose it
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": query["proto"]}}
    return {"statusCode": 200}
""",
    "default": RECORD
    + """
import arc  # architect-functions, unchanged

def handler(event, context):
    record(event)
    context_ = event["requestContext"]
    arc.ws.send(context_["connectionId"], {"echo": event["body"], "route": context_["routeKey"]})
    return {"statusCode": 200}
""",
    "ping": """
import json
from sandbox import arc
from sandbox.errors import GoneError

def handler(event, context):
    connection = event["requestContext"]["connectionId"]
    try:
        arc.ws.send("NeverConnected=", {})
        gone = False
    except GoneError:
        gone = True
    via = type(arc.ws.management()).__name__  # the worker's own channel to its sandbox, not HTTP
    info = sorted(arc.ws.info(connection))
    arc.ws.send(connection, {"pong": json.loads(event["body"]), "info": info, "via": via, "gone": gone})
    if json.loads(event["body"]).get("close"):
        arc.ws.close(connection)
    return {"statusCode": 200}
""",
    "boom": "def handler(event, context):\n    raise RuntimeError('boom')\n",
    "plain": """
import os
import boto3  # no endpoint given: AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, as the sandbox sets it

def handler(event, context):
    api = boto3.client("apigatewaymanagementapi")
    data = "plain boto3 " + os.environ["ARC_WSS_URL"]
    api.post_to_connection(ConnectionId=event["requestContext"]["connectionId"], Data=data.encode())
    return {"statusCode": 200}
""",
    "disconnect": RECORD + "\ndef handler(event, context):\n    record(event)\n",
}


def seen(sandbox: Sandbox, name: str) -> list[Any]:
    return wire_app.seen(sandbox.manifest.root, f"ws/{name}")


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    monkeypatch.setenv("_TESTING", "1")
    _reset_architect_functions()  # arc.ws keeps the internal port of the last sandbox in a module global
    app = tmp_path / "app"
    for name, source in HANDLERS.items():
        (app / "src" / "ws" / name).mkdir(parents=True)
        (app / "src" / "ws" / name / "lambda.py").write_text(source)
    (app / "app.arc").write_text(APP)
    async with Sandbox(SandboxConfig.ephemeral(app)) as sb:
        yield sb


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def ws_url(sandbox: Sandbox, query: str = "") -> str:
    return f"ws://127.0.0.1:{sandbox.ports['http']}/{query}"


async def test_ws_connect_event_and_default_route(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(ws_url(sandbox, "?team=red&team=blue"), headers={"X-Trace": "t1"}) as ws:
        await ws.send_str("hello")
        assert json.loads((await ws.receive(timeout=5)).data) == {"echo": "hello", "route": "$default"}
        await ws.send_str(json.dumps({"action": "unknown"}))
        assert json.loads((await ws.receive(timeout=5)).data)["route"] == "$default"
    [connect] = seen(sandbox, "connect")
    context = connect["requestContext"]
    assert (context["routeKey"], context["eventType"], context["stage"]) == ("$connect", "CONNECT", "testing")
    assert context["domainName"] == f"127.0.0.1:{sandbox.ports['http']}"
    assert {"connectionId", "connectedAt", "requestId", "requestTimeEpoch", "identity"} <= set(context)
    assert connect["headers"]["X-Trace"] == "t1"
    assert connect["queryStringParameters"] == {"team": "blue"}
    assert connect["multiValueQueryStringParameters"] == {"team": ["red", "blue"]}
    messages = seen(sandbox, "default")
    assert [m["body"] for m in messages] == ["hello", '{"action": "unknown"}']
    for message in messages:
        inside = message["requestContext"]
        assert (inside["eventType"], inside["messageDirection"], inside["stage"]) == ("MESSAGE", "IN", "testing")
        assert (inside["connectionId"], inside["connectedAt"]) == (context["connectionId"], context["connectedAt"])
        assert inside["messageId"] and inside["requestId"] != context["requestId"]
        assert inside["domainName"] == context["domainName"] and inside["identity"]["sourceIp"] == "127.0.0.1"
        assert "headers" not in message and message["isBase64Encoded"] is False
    assert "messageId" not in context  # API Gateway gives one to messages only


async def test_ws_action_routes_and_sandbox_arc_ws(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(ws_url(sandbox)) as ws:
        await ws.send_str(json.dumps({"action": "ping", "n": 1}))
        answer = json.loads((await ws.receive(timeout=5)).data)
        assert answer == {
            "pong": {"action": "ping", "n": 1},
            "info": ["connectedAt", "identity", "lastActiveAt"],
            "via": "ChannelManagement",
            "gone": True,
        }
        await ws.send_str(json.dumps({"action": "ping", "close": True}))
        await ws.receive(timeout=5)
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE  # arc.ws.close from the handler
    await sandbox.settle()
    [disconnect] = seen(sandbox, "disconnect")
    assert disconnect["requestContext"]["eventType"] == "DISCONNECT"
    assert disconnect["requestContext"]["routeKey"] == "$disconnect"


async def test_ws_plain_boto3_in_a_function_finds_the_management_api(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(sandbox)) as ws:
        await ws.send_str(json.dumps({"action": "plain"}))
        # ARC_WSS_URL as Architect's sandbox sets it (reference §2.3)
        assert (await ws.receive(timeout=5)).data == f"plain boto3 ws://localhost:{sandbox.ports['http']}"


async def test_ws_failing_route_answers_internal_server_error(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(ws_url(sandbox)) as ws:
        await ws.send_str(json.dumps({"action": "boom"}))
        answer = json.loads((await ws.receive(timeout=5)).data)
    assert answer["message"] == "Internal server error"
    assert set(answer) == {"message", "connectionId", "requestId"}


async def test_ws_connect_chooses_the_subprotocol(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    async with session.ws_connect(ws_url(sandbox, "?proto=chat.v2"), protocols=("chat.v1", "chat.v2")) as ws:
        assert ws.protocol == "chat.v2"
    [connect] = seen(sandbox, "connect")
    assert [p.strip() for p in connect["headers"]["Sec-WebSocket-Protocol"].split(",")] == ["chat.v1", "chat.v2"]
    async with session.ws_connect(ws_url(sandbox)) as ws:
        assert ws.protocol is None


async def test_ws_binary_frame_closes_the_connection_as_api_gateway_does(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(sandbox)) as ws:
        await ws.send_bytes(b"\x00\x01")
        closing = await ws.receive(timeout=5)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1003)
    await sandbox.settle()
    assert seen(sandbox, "default") == []
    assert len(seen(sandbox, "disconnect")) == 1


@pytest.mark.parametrize(("query", "status"), [("?deny=403", 403), ("?nothing=1", 502), ("?deny=oops", 500)])
async def test_ws_connect_refuses(sandbox: Sandbox, session: aiohttp.ClientSession, query: str, status: int) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await session.ws_connect(ws_url(sandbox, query))
    assert err.value.status == status
    await sandbox.settle()
    assert seen(sandbox, "disconnect") == []


@pytest.mark.parametrize("where", ["internal", "http"])
async def test_ws_management_api_with_boto3(sandbox: Sandbox, session: aiohttp.ClientSession, where: str) -> None:
    # architect-functions' endpoint on the internal port; on the http port, where API Gateway has it
    endpoint = f"http://127.0.0.1:{sandbox.ports['_arc']}/_arc/ws" if where == "internal" else sandbox.url
    api: Any = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, region_name="us-west-2",
                            aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    async with session.ws_connect(ws_url(sandbox)) as ws:
        connection = seen(sandbox, "connect")[0]["requestContext"]["connectionId"]
        await asyncio.to_thread(api.post_to_connection, ConnectionId=connection, Data=b"raw text")
        assert (await ws.receive(timeout=5)).data == "raw text"
        found = await asyncio.to_thread(api.get_connection, ConnectionId=connection)
        assert found["Identity"]["SourceIp"] == "127.0.0.1" and found["ConnectedAt"].year >= 2000
        await asyncio.to_thread(api.delete_connection, ConnectionId=connection)
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    await sandbox.settle()
    with pytest.raises(api.exceptions.GoneException):
        await asyncio.to_thread(api.post_to_connection, ConnectionId=connection, Data=b"late")
    assert len(seen(sandbox, "disconnect")) == 1


@pytest.mark.parametrize("where", ["internal", "http"])
async def test_ws_management_api_unknown_connection_is_gone(sandbox: Sandbox, where: str) -> None:
    endpoint = f"http://127.0.0.1:{sandbox.ports['_arc']}/_arc/ws" if where == "internal" else sandbox.url
    api: Any = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, region_name="us-west-2",
                            aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    calls = [
        (api.post_to_connection, {"Data": b"hello"}),
        (api.get_connection, {}),
        (api.delete_connection, {}),
    ]
    for method, params in calls:
        with pytest.raises(api.exceptions.GoneException) as err:
            await asyncio.to_thread(method, ConnectionId="NeverConnected=", **params)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "https://evil.example", "Content-Type": "text/plain"}, id="cross-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, id="sec-fetch-site"),
        pytest.param({"Host": "evil.example"}, id="dns-rebinding"),
    ],
)
async def test_ws_management_api_on_the_http_port_is_closed_to_web_pages(
    sandbox: Sandbox, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    """API Gateway keeps it behind IAM: a page the developer visits cannot post to a connection."""
    async with session.ws_connect(ws_url(sandbox)) as ws:
        connection = seen(sandbox, "connect")[0]["requestContext"]["connectionId"]
        url = f"{sandbox.url}/@connections/{connection}"
        async with session.post(url, data=b"from a page", headers=headers) as refused:
            assert refused.status == 403
            assert "refused" in (await refused.json())["message"] or "not this machine" in await refused.text()
        async with session.post(url, data=b"from a script", headers={"Content-Type": "application/json"}) as sent:
            assert sent.status == 200
        assert (await ws.receive(timeout=5)).data == "from a script"


async def test_ws_functions_can_be_invoked_over_lambda_invoke(sandbox: Sandbox) -> None:
    lam = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{sandbox.ports['events']}", region_name="us-west-2",
                       aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    event = {"requestContext": {"connectionId": "c="}, "queryStringParameters": {"deny": "401"}}
    answer = await asyncio.to_thread(lam.invoke, FunctionName="connect", Payload=json.dumps(event))
    assert json.loads(answer["Payload"].read()) == {"statusCode": 401}


async def test_sandbox_arc_ws_from_a_script(sandbox: Sandbox, session: aiohttp.ClientSession, monkeypatch) -> None:
    """Outside any function (a script or a test), with the sandbox's client environment."""
    from sandbox import arc as native

    for key, value in sandbox.app_environment().client().items():
        monkeypatch.setenv(key, value)
    async with session.ws_connect(ws_url(sandbox)) as ws:
        connection = seen(sandbox, "connect")[0]["requestContext"]["connectionId"]
        await native.ws.send_async(connection, {"from": "script"})
        assert json.loads((await ws.receive(timeout=5)).data) == {"from": "script"}
        info = await native.ws.info_async(connection)  # the keys the AWS backend gives too (tests/test_arc_aws.py)
        assert info["identity"]["sourceIp"] == "127.0.0.1" and set(info["identity"]) == {"sourceIp", "userAgent"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["connectedAt"])
        await native.ws.close_async(connection)
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    await sandbox.settle()
    with pytest.raises(GoneError):
        await native.ws.send_async(connection, {"late": True})


async def test_ws_connect_without_a_handler_is_a_502(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    (sandbox.manifest.root / "src" / "ws" / "connect" / "lambda.py").unlink()
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await session.ws_connect(ws_url(sandbox))
    assert err.value.status == 502


async def test_ws_invocations_are_logged_one_line_each(
    sandbox: Sandbox, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "arc_sandbox")
    async with session.ws_connect(ws_url(sandbox)) as ws:
        await ws.send_str("hello")
        await ws.receive(timeout=5)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await session.ws_connect(ws_url(sandbox, "?deny=403"))
    await sandbox.settle()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("@ws ")]
    assert sorted(line.rsplit(" ", 2)[0] for line in lines) == [
        "@ws $connect 200",
        "@ws $connect 403",
        "@ws $default ok",
        "@ws $disconnect ok",
    ]  # fmt: skip (the disconnect may finish after the next connect)
