"""`arc.ws`: answer @ws clients through API Gateway's Management API, as @architect/functions' `arc.ws` does.

    arc.ws.send(connection_id, payload)   # payload as JSON text to the client
    arc.ws.close(connection_id)
    arc.ws.info(connection_id)            # {"connectedAt", "lastActiveAt" (ISO times), "identity": {...}}

In a sandbox's function the calls go over the function's own channel to the sandbox; from a script
(ARC_SANDBOX set) to its Management API on the internal port; on AWS to `ARC_WSS_URL` through boto3.
A connection that is gone raises `GoneError`.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from typing import Any, Protocol

from sandbox.arc._backends import Aws, InWorker, backend
from sandbox.errors import GoneError, SandboxError
from sandbox.runtime import ServicesChannel


class Management(Protocol):
    def ws_call(self, method: str, connection_id: str, data: bytes = b"") -> dict[str, Any]: ...


class LocalManagement:
    """The sandbox's Management API at /_arc/ws/@connections/<id> on the internal port."""

    def __init__(self, port: int) -> None:
        self.port = port

    def ws_call(self, method: str, connection_id: str, data: bytes = b"") -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/_arc/ws/@connections/{connection_id}"
        request = urllib.request.Request(url, data=data if method == "POST" else None, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            with error:  # an HTTPError holds the response's socket until it is closed
                if error.code == GoneError.status:
                    raise GoneError(f"connection {connection_id!r} is gone") from None
                raise SandboxError(f"the Management API answered {error.code}: {error.read()!r}") from None
        return dict(json.loads(body)) if body else {}


class ChannelManagement:
    """Inside an execution environment: the worker's own channel to its sandbox, no HTTP connection."""

    def __init__(self, channel: ServicesChannel) -> None:
        self.channel = channel

    def ws_call(self, method: str, connection_id: str, data: bytes = b"") -> dict[str, Any]:
        answer = self.channel.call("ws", method=method, connection_id=connection_id, data=data.decode())
        return dict(answer) if isinstance(answer, dict) else {}


def management() -> Management:
    chosen = backend()
    if isinstance(chosen, Aws):
        return chosen
    if isinstance(chosen, InWorker):
        return ChannelManagement(chosen.channel)
    try:
        port = int(json.loads(os.environ["ARC_SANDBOX"])["ports"]["_arc"])
    except (KeyError, ValueError, TypeError) as error:
        raise SandboxError(f"arc.ws needs ARC_SANDBOX with ports._arc: {error}") from None
    return LocalManagement(port)


def send(connection_id: str, payload: Any) -> None:
    """Send `payload` (anything JSON) to the client of `connection_id`."""
    try:
        management().ws_call("POST", connection_id, json.dumps(payload).encode())
    except SandboxError as error:  # its traceback starts here: the caller need not read urllib or boto3
        raise error.with_traceback(None) from error.__cause__


def close(connection_id: str) -> None:
    try:
        management().ws_call("DELETE", connection_id)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__


def info(connection_id: str) -> dict[str, Any]:
    try:
        return management().ws_call("GET", connection_id)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__


async def send_async(connection_id: str, payload: Any) -> None:
    try:
        await asyncio.to_thread(send, connection_id, payload)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__


async def close_async(connection_id: str) -> None:
    try:
        await asyncio.to_thread(close, connection_id)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__


async def info_async(connection_id: str) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(info, connection_id)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__
