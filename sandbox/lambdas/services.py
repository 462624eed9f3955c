"""`sandbox.arc` inside an execution environment: calls to the bus and the store over a private socket.

The worker side (`ServicesChannel`) is a blocking request/reply client, safe to share between the
handler's threads. The sandbox side (`serve_call`) runs each call on the core loop against the
sandbox's own bus and store, so results are the same as in the sandbox's process: a publish returns
the message id, a DynamoDB call returns the wire response, errors are the same error types.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from sandbox import errors
from sandbox.lambdas import frames
from sandbox.lambdas.frames import Message

if TYPE_CHECKING:
    import socket

    from sandbox.runtime import Services


class ServicesChannel:
    """The worker's end: `call("publish_event", name=..., payload=...)` blocks until the sandbox answers."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._replies = frames.FrameReader(sock)
        self._lock = threading.Lock()
        self._count = 0

    def call(self, op: str, **args: Any) -> Any:
        with self._lock:
            self._count += 1
            frames.send(self._sock, {"n": self._count, "op": op, "args": args})
            reply = self._replies.receive()
        failure = reply.get("error")
        if failure is not None:
            raise rebuild_error(failure)
        return reply.get("value")


async def serve_call(services: Services, message: Message) -> Message:
    """Run one call from a worker; the reply carries its value or its error, never raises."""
    op, args = message.get("op"), message.get("args") or {}
    try:
        value = await _dispatch(services, str(op), args)
    except errors.SandboxError as error:
        return {"n": message.get("n"), "error": describe_error(error)}
    except Exception as error:  # noqa: BLE001 - the handler gets the failure, the sandbox stays up
        return {
            "n": message.get("n"),
            "error": {"class": "SandboxError", "message": f"{type(error).__name__}: {error}"},
        }
    return {"n": message.get("n"), "value": value}


async def _dispatch(services: Services, op: str, args: dict[str, Any]) -> Any:
    if op == "publish_event":
        return str(await services.bus.publish(args["name"], args["payload"]))
    if op == "send_message":
        return await services.bus.send_message(
            args["name"], args["payload"], delay_seconds=args.get("delay_seconds", 0), group_id=args.get("group_id")
        )
    if op == "dynamo":
        return await services.store.call(args["operation"], args["request"])
    if op == "table_names":
        return dict(services.store.logical_tables())
    if op == "ws":
        return await _ws(services, args["method"], args["connection_id"], args.get("data", ""))
    raise errors.SandboxError(f"unknown sandbox.arc call {op!r}")


async def _ws(services: Services, method: str, connection_id: str, data: str) -> Any:
    """`arc.ws` in a worker: the Management API's answer, as over HTTP (a gone connection is GoneError)."""
    answer = await services.ws.answer_management(method, data.encode(), connection_id)
    if answer.status == errors.GoneError.status:
        raise errors.GoneError(f"connection {connection_id!r} is gone")
    if answer.status >= 400:
        raise errors.SandboxError(f"the Management API answered {answer.status}: {answer.body!r}")
    return json.loads(answer.body) if answer.body else {}


def describe_error(error: errors.SandboxError) -> Message:
    described: Message = {"class": type(error).__name__, "message": error.message}
    if isinstance(error, errors.TransactionCanceledError):
        described["reasons"] = error.reasons
    if isinstance(error, errors.ConditionalCheckFailedError) and error.item is not None:
        described["item"] = error.item
    return described


def rebuild_error(described: Message) -> errors.SandboxError:
    """The same error type on the worker's side, so `except ConditionalCheckFailedError` works there."""
    cls = getattr(errors, str(described.get("class")), None)
    message = str(described.get("message", ""))
    if not (isinstance(cls, type) and issubclass(cls, errors.SandboxError)):
        return errors.SandboxError(message)
    if cls is errors.TransactionCanceledError:
        return errors.TransactionCanceledError(list(described.get("reasons") or []))
    if cls is errors.ConditionalCheckFailedError:
        return errors.ConditionalCheckFailedError(message, described.get("item"))
    try:
        return cls(message)
    except TypeError:  # an error type with a richer constructor: keep the message, lose the type
        return errors.SandboxError(message)
