"""Lambda's Invoke (REST JSON, `POST /2015-03-31/functions/{name}/invocations`) for every function of the app.

A function is found by the name its context reports (`context.function_name`), by its inventory
name (`get /notes/:id`, `background-task`), or by either inside a Lambda ARN. Handler failures
come back as Lambda returns them: 200, `X-Amz-Function-Error: Unhandled`, and a JSON payload
`{"errorMessage", "errorType", "requestId", "stackTrace"}`.

An `InvocationType=Event` call is answered 202 once the bus has stored it (`EventBus.invoke_async`):
from there it is the bus's, retried and dead-lettered as Lambda's asynchronous invocations are, and
delivered after a restart if the sandbox stopped first.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from sandbox.errors import (
    HandlerFailedError,
    HandlerNotFoundError,
    HandlerTimeoutError,
    InvocationError,
    NotFoundError,
)
from sandbox.lambdas.invocations import new_request_id
from sandbox.lambdas.log_tail import LogTails
from sandbox.model import FunctionSpec, Invoke, Json, Manifest
from sandbox.wire_errors import WireError

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
OTHER_OPERATIONS = r"/{version:20\d\d-\d\d-\d\d}/{operation:.*}"
MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 262_144
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LOG_TYPES = ("None", "Tail")
FRAME = re.compile(r'^  File "', re.MULTILINE)

InvokeAsync = Callable[[str, Json], Awaitable[str]]
"""A function's inventory name and the event -> the request id, once the invocation is stored."""


class LambdaApi:
    def __init__(
        self,
        invoke: Invoke,
        manifest: Callable[[], Manifest],
        *,
        invoke_async: InvokeAsync,
        account_id: str,
        tails: LogTails,
        logger: logging.Logger | None = None,
    ) -> None:
        self._invoke = invoke
        self._tails = tails  # must also hear the invoker's calls (one of its observers)
        self._invoke_async = invoke_async
        self._manifest = manifest
        self._account_id = account_id
        self._logger = logger or logging.getLogger("arc_sandbox.lambda")

    def routes(self) -> list[web.RouteDef]:
        # Lambda's other operations live under dated paths too (2015-03-31/functions/, 2017-03-31/tags/...):
        # say that they are not emulated, in Lambda's error shape, rather than a bare 404 boto3 cannot name.
        return [web.post(INVOKE_PATH, self.handle), web.route("*", OTHER_OPERATIONS, self.not_emulated)]

    async def not_emulated(self, request: web.Request) -> web.Response:
        return _error_response(
            WireError(
                404,
                "UnknownOperationException",
                f"{request.method} {request.path} is a Lambda operation arc-sandbox does not emulate: "
                f"it serves Invoke (POST {INVOKE_PATH})",
            )
        )

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except WireError as error:
            return _error_response(error)

    async def _handle(self, request: web.Request) -> web.Response:
        fn = self._find(unquote(request.match_info["name"]))
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in INVOCATION_TYPES:
            raise WireError(400, "InvalidParameterValueException", f"Unsupported invocation type {kind!r}")
        log_type = request.headers.get("X-Amz-Log-Type", "None")
        if log_type not in LOG_TYPES:
            raise WireError(400, "InvalidParameterValueException", f"Unsupported log type {log_type!r}: None or Tail")
        raw = await request.read()
        limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(raw) > limit:
            raise WireError(413, "RequestEntityTooLargeException",
                            f"Request must be smaller than {limit} bytes for the Invoke operation")  # fmt: skip
        event = _event(raw)
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if kind == "DryRun":
            return web.Response(status=204, headers=headers)
        if kind == "Event":
            try:
                headers["x-amzn-RequestId"] = await self._invoke_async(fn.name, event)
            except NotFoundError:  # the bus has not heard of a reload's new function yet
                raise self._not_found(fn.name) from None
            return web.Response(status=202, headers=headers)
        request_id = new_request_id()
        headers["x-amzn-RequestId"] = request_id
        if log_type == "Tail":  # a synchronous call's log only, as Lambda gives it
            self._tails.watch(request_id)
            try:
                payload, failed = await self._run(fn, event, request_id, kind)
            finally:
                headers["X-Amz-Log-Result"] = self._tails.take(request_id)
        else:
            payload, failed = await self._run(fn, event, request_id, kind)
        if failed:
            headers["X-Amz-Function-Error"] = "Unhandled"
        return web.Response(body=payload, headers=headers, content_type="application/json")

    def _find(self, name: str) -> FunctionSpec:
        candidates = _candidates(name)
        for fn in self._manifest().functions():
            if {fn.function_name, fn.name, fn.name.replace(" ", "")} & candidates:
                return fn
        raise self._not_found(name.rpartition(":function:")[2])

    def _not_found(self, wanted: str) -> WireError:
        arn = f"arn:aws:lambda:{self._manifest().aws.region}:{self._account_id}:function:{wanted}"
        return WireError(404, "ResourceNotFoundException", f"Function not found: {arn}")

    async def _run(self, fn: FunctionSpec, event: Any, request_id: str, kind: str) -> tuple[bytes, bool]:
        started = time.perf_counter()
        payload, failed = await self._answer(fn, event, request_id)
        ms = (time.perf_counter() - started) * 1000
        # One console line per Invoke, as the bus writes one per delivery: a failure with Lambda's error payload.
        if failed:
            self._logger.error("Invoke %s (%s) failed %.1fms [%s]: %s", fn.name, kind, ms, request_id, payload.decode())
        else:
            self._logger.info("Invoke %s (%s) ok %.1fms [%s]", fn.name, kind, ms, request_id)
        return payload, failed

    async def _answer(self, fn: FunctionSpec, event: Any, request_id: str) -> tuple[bytes, bool]:
        try:
            result = await self._invoke(fn, event, request_id=request_id)
        except InvocationError as error:
            return json.dumps(_error_payload(error, request_id)).encode(), True
        try:
            return json.dumps(result).encode(), False
        except (TypeError, ValueError) as error:
            failure = {"errorMessage": f"Unable to marshal response: {error}", "errorType": "Runtime.MarshalError",
                       "requestId": request_id, "stackTrace": []}  # fmt: skip
            return json.dumps(failure).encode(), True


def _candidates(name: str) -> set[str]:
    """The name as given, or out of a full or partial ARN, with or without a qualifier (`:$LATEST`)."""
    if ":function:" not in name:
        return {name}
    tail = name.rpartition(":function:")[2]
    return {tail, tail.rpartition(":")[0]}


def _event(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as error:
        raise WireError(400, "InvalidRequestContentException",
                        f"Could not parse request body into json: Could not parse payload into json: {error}") from None  # fmt: skip


def _error_payload(error: InvocationError, request_id: str) -> dict[str, Any]:
    if isinstance(error, HandlerFailedError):
        return {"errorMessage": error.error_message, "errorType": error.error_type, "requestId": request_id,
                "stackTrace": _frames(error.traceback)}  # fmt: skip
    if isinstance(error, HandlerTimeoutError):
        return {"errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {error.timeout:.2f} seconds"}  # fmt: skip
    if isinstance(error, HandlerNotFoundError):
        return {"errorMessage": f"Unable to import module: {error.message}", "errorType": "Runtime.ImportModuleError",
                "requestId": request_id, "stackTrace": []}  # fmt: skip
    # The runtime gone (exited, killed for memory): Lambda's own error, with no stack of the handler's.
    return {"errorMessage": error.message, "errorType": error.error_type}


def _frames(traceback: str) -> list[str]:
    """Python's Lambda runtime gives the stack as one string per frame: '  File "...", line n, in f\\n    code\\n'."""
    starts = [m.start() for m in FRAME.finditer(traceback)]
    frames = [traceback[a:b] for a, b in zip(starts, [*starts[1:], len(traceback)], strict=True)]
    if frames:
        last = frames[-1]
        cut = last.find("\n", last.find("\n") + 1)  # a frame is two lines; what follows is the exception line
        frames[-1] = last[: cut + 1] if cut != -1 else last
    return frames


def _error_response(error: WireError) -> web.Response:
    return web.Response(
        status=error.status,
        body=json.dumps({"Type": "User", "message": error.message}).encode(),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error.code},
    )
