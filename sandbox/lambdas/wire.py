"""Lambda's Invoke (REST JSON, `POST /2015-03-31/functions/{name}/invocations`) for every function of the app.

A function is found by the name its context reports (`context.function_name`), by its inventory
name (`get /notes/:id`, `background-task`), or by either inside a Lambda ARN. Handler failures
come back as Lambda returns them: 200, `X-Amz-Function-Error: Unhandled`, and a JSON payload
`{"errorMessage", "errorType", "requestId", "stackTrace"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from sandbox.errors import HandlerFailedError, HandlerNotFoundError, HandlerTimeoutError, InvocationError
from sandbox.lambdas.invocations import new_request_id
from sandbox.model import FunctionSpec, Invoke, Manifest
from sandbox.wire_errors import WireError

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 262_144
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
FRAME = re.compile(r'^  File "', re.MULTILINE)


class LambdaApi:
    def __init__(
        self,
        invoke: Invoke,
        manifest: Callable[[], Manifest],
        *,
        account_id: str,
        logger: logging.Logger | None = None,
    ) -> None:
        self._invoke = invoke
        self._manifest = manifest
        self._account_id = account_id
        self._logger = logger or logging.getLogger("arc_sandbox.lambda")
        self._background: set[asyncio.Task[Any]] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(INVOKE_PATH, self.handle)]

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
        raw = await request.read()
        limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(raw) > limit:
            raise WireError(413, "RequestEntityTooLargeException",
                            f"Request must be smaller than {limit} bytes for the Invoke operation")  # fmt: skip
        event = _event(raw)
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if kind == "DryRun":
            return web.Response(status=204, headers=headers)
        request_id = new_request_id()
        headers["x-amzn-RequestId"] = request_id
        if kind == "Event":
            self._spawn(self._run(fn, event, request_id, kind))
            return web.Response(status=202, headers=headers)
        payload, failed = await self._run(fn, event, request_id, kind)
        if failed:
            headers["X-Amz-Function-Error"] = "Unhandled"
        return web.Response(body=payload, headers=headers, content_type="application/json")

    def _find(self, name: str) -> FunctionSpec:
        candidates = _candidates(name)
        for fn in self._manifest().functions():
            if {fn.function_name, fn.name, fn.name.replace(" ", "")} & candidates:
                return fn
        wanted = name.rpartition(":function:")[2]
        region = self._manifest().aws.region
        arn = f"arn:aws:lambda:{region}:{self._account_id}:function:{wanted}"
        raise WireError(404, "ResourceNotFoundException", f"Function not found: {arn}")

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

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Return once every InvocationType=Event call accepted so far has finished."""
        while self._background:
            await asyncio.wait(set(self._background))

    async def stop(self) -> None:
        for task in set(self._background):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._background, return_exceptions=True)


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
    return {"errorMessage": error.message, "errorType": type(error).__name__, "requestId": request_id,
            "stackTrace": []}  # fmt: skip


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
