"""Where a call goes: the sandbox in this process, a sandbox in another process, or AWS.

Every backend answers the same four questions; the public modules only convert values and pick one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from sandbox.arc._names import stack_name
from sandbox.errors import AwsError, GoneError, NotFoundError, SandboxError, TransactionCanceledError
from sandbox.runtime import Services, ServicesChannel, call_async, call_sync, current_services, worker_channel

DYNAMO_TARGET = "DynamoDB_20120810."


class Backend(Protocol):
    def publish_event(self, name: str, payload: Any) -> str: ...
    async def publish_event_async(self, name: str, payload: Any) -> str: ...
    def send_message(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str: ...
    async def send_message_async(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str: ...
    def dynamo(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...
    async def dynamo_async(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...
    def table_names(self) -> dict[str, str]: ...


def backend() -> Backend:
    channel = worker_channel()
    if channel is not None:
        return InWorker(channel)
    services = current_services()
    if services is not None:
        return InProcess(services)
    if os.environ.get("ARC_SANDBOX"):
        return LocalHttp.from_environ(os.environ["ARC_SANDBOX"], os.environ.get("ARC_APP_NAME", "arc-app"))
    return Aws()


class InProcess:
    def __init__(self, services: Services) -> None:
        self.services = services

    def publish_event(self, name: str, payload: Any) -> str:
        return str(call_sync(self.services, self.services.bus.publish(name, payload)))

    async def publish_event_async(self, name: str, payload: Any) -> str:
        return str(await call_async(self.services, self.services.bus.publish(name, payload)))

    def send_message(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        coro = self.services.bus.send_message(name, payload, delay_seconds=delay_seconds, group_id=group_id)
        return call_sync(self.services, coro)

    async def send_message_async(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        coro = self.services.bus.send_message(name, payload, delay_seconds=delay_seconds, group_id=group_id)
        return await call_async(self.services, coro)

    def dynamo(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return call_sync(self.services, self.services.store.call(operation, request))

    async def dynamo_async(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return await call_async(self.services, self.services.store.call(operation, request))

    def table_names(self) -> dict[str, str]:
        return dict(self.services.store.logical_tables())


class InWorker:
    """Inside an execution environment: the worker's private channel to the sandbox that runs it."""

    def __init__(self, channel: ServicesChannel) -> None:
        self.channel = channel

    def publish_event(self, name: str, payload: Any) -> str:
        return str(self.channel.call("publish_event", name=name, payload=payload))

    def send_message(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        args = {"name": name, "payload": payload, "delay_seconds": delay_seconds, "group_id": group_id}
        return str(self.channel.call("send_message", **args))

    def dynamo(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.channel.call("dynamo", operation=operation, request=request)
        return answer

    def table_names(self) -> dict[str, str]:
        names: dict[str, str] = self.channel.call("table_names")
        return names

    # The channel answers in well under a millisecond; an async handler runs alone in its process.
    async def publish_event_async(self, name: str, payload: Any) -> str:
        return self.publish_event(name, payload)

    async def send_message_async(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        return self.send_message(name, payload, delay_seconds, group_id)

    async def dynamo_async(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return self.dynamo(operation, request)


class _ThreadedAsync:
    """Async forms for backends whose calls block: run them on a worker thread."""

    def publish_event(self, name: str, payload: Any) -> str:
        raise NotImplementedError

    def send_message(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        raise NotImplementedError

    def dynamo(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def publish_event_async(self, name: str, payload: Any) -> str:
        return await asyncio.to_thread(self.publish_event, name, payload)

    async def send_message_async(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        return await asyncio.to_thread(self.send_message, name, payload, delay_seconds, group_id)

    async def dynamo_async(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.dynamo, operation, request)


class LocalHttp(_ThreadedAsync):
    """A sandbox in another process, over the ports in ARC_SANDBOX (what architect-functions uses too)."""

    def __init__(self, ports: dict[str, int], app_name: str) -> None:
        self.ports = ports
        self.app_name = app_name

    @classmethod
    def from_environ(cls, arc_sandbox: str, app_name: str) -> LocalHttp:
        try:
            ports = json.loads(arc_sandbox)["ports"]
        except (ValueError, KeyError, TypeError) as error:
            raise SandboxError(f"ARC_SANDBOX is not the sandbox's JSON with ports: {error}") from None
        return cls({k: int(v) for k, v in ports.items()}, app_name)

    def _post(self, port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        status, text, _ = self._post_with_headers(port, path, body, headers)
        return status, text

    def _post_with_headers(
        self, port: int, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status), response.read(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            with error:  # an HTTPError holds the response's socket until it is closed
                return error.code, error.read(), {}
        except urllib.error.URLError as error:
            raise SandboxError(
                f"the sandbox at 127.0.0.1:{port} (ARC_SANDBOX) does not answer: {error.reason}"
            ) from None

    def _bus(self, path: str, body: dict[str, Any], name: str) -> str:
        """The message id of what was published or sent, as in every other backend."""
        json_body = json.dumps(body).encode()
        status, text, headers = self._post_with_headers(
            self.ports["events"], path, json_body, {"Content-Type": "application/json"}
        )
        if status == 404:
            raise NotFoundError(f"no {path.strip('/')[:-1]} named {name!r} in this app")
        if status != 200:
            raise SandboxError(f"the sandbox's bus answered {status}: {text.decode(errors='replace')}")
        return headers.get("x-arc-message-id") or text.decode()

    def publish_event(self, name: str, payload: Any) -> str:
        return self._bus("/events", {"name": name, "payload": payload}, name)

    def send_message(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        body: dict[str, Any] = {"name": name, "payload": payload, "delaySeconds": delay_seconds}
        if group_id is not None:
            body["groupID"] = group_id
        return self._bus("/queues", body, name)

    def dynamo(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Amz-Target": DYNAMO_TARGET + operation, "Content-Type": "application/x-amz-json-1.0"}
        status, body = self._post(self.ports["tables"], "/", json.dumps(request).encode(), headers)
        answer: dict[str, Any] = json.loads(body or b"{}")
        if status != 200:
            raise _aws_error(answer)
        return answer

    def table_names(self) -> dict[str, str]:
        listed = self.dynamo("ListTables", {})
        prefix = f"{self.app_name}-staging-"
        return {n[len(prefix) :]: n for n in listed.get("TableNames", []) if n.startswith(prefix)}


class Aws(_ThreadedAsync):
    """Deployed: SNS, SQS and DynamoDB through boto3, names from SSM as architect-functions finds them."""

    def publish_event(self, name: str, payload: Any) -> str:
        topic = _services()["events"].get(name)
        if topic is None:
            raise NotFoundError(f"no event named {name!r} in this app")
        return str(_client("sns").publish(TopicArn=topic, Message=json.dumps(payload))["MessageId"])

    def send_message(self, name: str, payload: Any, delay_seconds: float, group_id: str | None) -> str:
        url = _services()["queues"].get(name)
        if url is None:
            raise NotFoundError(f"no queue named {name!r} in this app")
        params: dict[str, Any] = {"QueueUrl": url, "MessageBody": json.dumps(payload)}
        if url.endswith(".fifo"):  # a group and a deduplication id, as architect-functions sends them
            params["MessageGroupId"] = group_id or name
            params["MessageDeduplicationId"] = str(uuid.uuid4())
        else:
            params["DelaySeconds"] = int(delay_seconds)
        return str(_client("sqs").send_message(**params)["MessageId"])

    def dynamo(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        client = _client("dynamodb")
        method = getattr(client, "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_"))
        try:
            return dict(method(**request))
        except client.exceptions.ClientError as error:
            info = error.response.get("Error", {})
            raise _aws_error({"__type": info.get("Code", "InternalFailure"), "message": info.get("Message")}) from None

    def table_names(self) -> dict[str, str]:
        return dict(_services().get("tables", {}))

    def ws_call(self, method: str, connection_id: str, data: bytes = b"") -> dict[str, Any]:
        """API Gateway's Management API at ARC_WSS_URL (wss:// read as https://), as architect-functions does."""
        client = _ws_client(os.environ.get("ARC_WSS_URL", ""))
        try:
            if method == "POST":
                client.post_to_connection(ConnectionId=connection_id, Data=data)
            elif method == "DELETE":
                client.delete_connection(ConnectionId=connection_id)
            else:
                return _connection_info(client.get_connection(ConnectionId=connection_id))
        except client.exceptions.GoneException:
            raise GoneError(f"connection {connection_id!r} is gone") from None
        return {}


def _connection_info(found: dict[str, Any]) -> dict[str, Any]:
    """GetConnection as the sandbox answers it (the API's own JSON), not boto3's parsed form, so that
    `arc.ws.info` gives a handler the same keys and values in both places."""
    identity = found.get("Identity") or {}
    return {
        "connectedAt": _iso(found["ConnectedAt"]),
        "lastActiveAt": _iso(found.get("LastActiveAt") or found["ConnectedAt"]),
        "identity": {"sourceIp": identity.get("SourceIp", ""), "userAgent": identity.get("UserAgent", "")},
    }


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@cache
def _client(service: str) -> Any:
    import boto3  # only deployed code pays for boto3

    return boto3.client(service)  # type: ignore[call-overload]


@cache
def _ws_client(wss_url: str) -> Any:
    import boto3

    if not wss_url:
        raise SandboxError("arc.ws on AWS needs ARC_WSS_URL (Architect sets it for apps with @ws)")
    return boto3.client("apigatewaymanagementapi", endpoint_url=re.sub(r"^ws", "http", wss_url))


def _services() -> dict[str, dict[str, str]]:
    app = os.environ.get("ARC_APP_NAME", "arc-app")
    env = os.environ.get("ARC_ENV", "staging")
    return _discover(os.environ.get("ARC_STACK_NAME") or stack_name(app, env))


@cache  # once per cold start, as architect-functions caches its discovery
def _discover(stack: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    paginator = _client("ssm").get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=f"/{stack}", Recursive=True):
        for parameter in page["Parameters"]:
            parts = parameter["Name"].split("/")
            if len(parts) >= 4:
                found.setdefault(parts[2], {})[parts[3]] = parameter["Value"]
    return found


def _aws_error(answer: dict[str, Any]) -> AwsError:
    code = str(answer.get("__type", "InternalFailure")).rpartition("#")[2]
    message = str(answer.get("message") or answer.get("Message") or code)
    if code == TransactionCanceledError.aws_code:
        return TransactionCanceledError(list(answer.get("CancellationReasons") or []))
    for cls in _error_classes(AwsError):
        if cls.aws_code == code:
            return cls(message)
    return AwsError(f"{code}: {message}")


def _error_classes(base: type[AwsError]) -> list[type[AwsError]]:
    found: list[type[AwsError]] = []
    for sub in base.__subclasses__():
        found += [sub, *_error_classes(sub)]
    return found
