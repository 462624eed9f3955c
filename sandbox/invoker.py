"""Invoker: loads a function's handler and runs it as Lambda would, in-process and fast.

Sync handlers run on a thread pool and `async def` handlers on handler loops of their own, so user
code never runs on the core loop that serves the sandbox's endpoints (DESIGN.md, "Decisions").
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import logging
import sys
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sandbox._invoker.context import LambdaContext
from sandbox._invoker.exits import as_call_failure
from sandbox._invoker.loops import HandlerLoops
from sandbox._invoker.namespace import PREFIX, FunctionNamespace, NamespaceFinder
from sandbox._invoker.pool import CallTimeout, HandlerPool
from sandbox.errors import HandlerFailedError, HandlerNotFoundError, HandlerTimeoutError, InvocationError
from sandbox.invocations import InvocationObserver, NoObserver
from sandbox.model import FunctionSpec, Json
from sandbox.observed import observed
from sandbox.runtime import CURRENT_SERVICES, Services

HANDLER_FILES = ("lambda.py", "handler.py", "index.py")
HANDLER_NAME = "handler"
MAX_EVENT_CHARS = 6_000_000  # Lambda's synchronous payload limit
_SANDBOX_DIR = str(Path(__file__).resolve().parent)

Handler = Callable[[Json, LambdaContext], Any]


class Invoker:
    """Call `await invoker(fn, event)`; an Invoker is the `model.Invoke` that the server and the bus use."""

    def __init__(
        self,
        *,
        shared_dir: Path | None = None,
        views_dir: Path | None = None,
        region: str = "us-west-2",
        account_id: str = "123456789012",
        services: Callable[[], Services | None] = lambda: None,
        logger: logging.Logger | None = None,
        threads: int = 64,
        handler_loops: int = 2,
        observer: InvocationObserver | None = None,
    ) -> None:
        self.shared_dir = shared_dir
        self.views_dir = views_dir
        self.region = region
        self.account_id = account_id
        self._services = services
        self._logger = logger or logging.getLogger("sandbox.invoker")
        self._threads = threads
        self._loop_count = handler_loops
        self._id = uuid.uuid4().hex[:8]
        self._generation = 0
        self._finder = NamespaceFinder()
        self._handlers: dict[Path, Handler] = {}
        self._namespaces: dict[Path, FunctionNamespace] = {}
        self._load_locks: dict[Path, asyncio.Lock] = {}
        self._pool: HandlerPool | None = None
        self._loops: HandlerLoops | None = None
        self.observer: InvocationObserver = observer if observer is not None else NoObserver()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._pool is not None:
            return
        self._pool = HandlerPool(self._threads)
        self._loops = HandlerLoops(self._loop_count, logger=self._logger)
        self._loops.start_watchdog()
        sys.meta_path.insert(0, self._finder)

    async def stop(self) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        loops, self._loops = self._loops, None
        if loops is not None:
            await loops.stop()
        # Threads stuck in a runaway sync handler cannot be joined; don't let them hold up shutdown.
        pool.stop()
        self.invalidate()
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- reload ------------------------------------------------------------------------------

    def invalidate(self, src_dirs: set[Path] | frozenset[Path] | None = None) -> None:
        """Forget loaded code: the next invocation imports it afresh. None forgets every function."""
        targets = list(self._namespaces) if src_dirs is None else [d for d in src_dirs if d in self._namespaces]
        for src_dir in targets:
            self._namespaces.pop(src_dir).unload()
            self._handlers.pop(src_dir, None)
        self._finder.namespaces = {ns.root: ns for ns in self._namespaces.values()}

    # --- invocation --------------------------------------------------------------------------

    async def __call__(self, fn: FunctionSpec, event: Json, *, request_id: str | None = None) -> Json:
        return await self.invoke(fn, event, request_id=request_id)

    async def invoke(
        self, fn: FunctionSpec, event: Json, *, request_id: str | None = None, fresh_event: bool = False
    ) -> Json:
        """Run `fn` with `event`. `fresh_event`: the caller built the event for this call alone, from JSON
        values (the HTTP front does), so it needs no defensive copy."""
        if self._pool is None or self._loops is None:
            raise RuntimeError("the invoker is not started")
        request_id = request_id or str(uuid.uuid4())
        async with observed(self.observer, fn, event, request_id) as report:
            report.cold = fn.src_dir not in self._handlers
            report.result = await self._invoke(fn, event, request_id, fresh_event)
        return report.result

    async def _invoke(self, fn: FunctionSpec, event: Json, request_id: str, fresh_event: bool) -> Json:
        if not fresh_event:
            event = _as_lambda_json(fn, event)
        handler = await self._handler(fn)
        context = LambdaContext.for_function(fn, request_id, region=self.region, account_id=self.account_id)
        ctx = contextvars.copy_context()
        ctx.run(CURRENT_SERVICES.set, self._services())
        try:
            if inspect.iscoroutinefunction(handler):
                result = await self._run_async(fn, handler, event, context, ctx)
            else:
                result = await self._run_sync(fn, handler, event, context, ctx)
        except InvocationError:
            raise
        except Exception as error:
            raise HandlerFailedError(fn.name, error, _user_traceback(error)) from error
        return _marshal_result(fn, result)

    async def _run_sync(
        self, fn: FunctionSpec, handler: Handler, event: Json, context: LambdaContext, ctx: contextvars.Context
    ) -> Any:
        assert self._pool is not None
        try:
            return await self._pool.run(
                functools.partial(ctx.run, handler, event, context), fn.timeout, key=str(fn.src_dir)
            )
        except CallTimeout:
            raise HandlerTimeoutError(fn.name, fn.timeout) from None

    async def _run_async(
        self, fn: FunctionSpec, handler: Handler, event: Json, context: LambdaContext, ctx: contextvars.Context
    ) -> Any:
        assert self._loops is not None

        async def call() -> Any:
            CURRENT_SERVICES.set(ctx.get(CURRENT_SERVICES))
            try:
                return await handler(event, context)
            except (SystemExit, KeyboardInterrupt) as error:
                raise as_call_failure(error) from error

        deadline = asyncio.timeout(fn.timeout)
        try:
            async with deadline:
                return await self._loops.pick().run(fn.name, call())
        except TimeoutError:
            if deadline.expired():
                raise HandlerTimeoutError(fn.name, fn.timeout) from None
            raise  # the handler's own TimeoutError: a failure like any other

    # --- loading -----------------------------------------------------------------------------

    async def _handler(self, fn: FunctionSpec) -> Handler:
        handler = self._handlers.get(fn.src_dir)
        if handler is not None:
            return handler
        lock = self._load_locks.setdefault(fn.src_dir, asyncio.Lock())
        async with lock:
            handler = self._handlers.get(fn.src_dir)
            if handler is None:
                # Importing runs the module's top level: user code, so not on the core loop either.
                handler = await asyncio.to_thread(self._load, fn)
                self._handlers[fn.src_dir] = handler
        return handler

    def _load(self, fn: FunctionSpec) -> Handler:
        handler_file = find_handler_file(fn.src_dir)
        if handler_file is None:
            raise HandlerNotFoundError(fn.name, [fn.src_dir / name for name in HANDLER_FILES])
        namespace = self._namespace(fn)
        try:
            module = namespace.load(handler_file.stem)
        except Exception as error:
            namespace.unload()  # a fixed file must be re-imported, not served from a half-loaded module
            raise HandlerFailedError(fn.name, error, _user_traceback(error)) from error
        handler = getattr(module, HANDLER_NAME, None)
        if not callable(handler):
            missing = AttributeError(f"module '{handler_file.name}' has no callable '{HANDLER_NAME}'")
            raise HandlerFailedError(fn.name, missing, f"Runtime.HandlerNotFound: {missing}")
        return handler  # type: ignore[no-any-return]

    def _namespace(self, fn: FunctionSpec) -> FunctionNamespace:
        namespace = self._namespaces.get(fn.src_dir)
        if namespace is None:
            self._generation += 1
            aliases: dict[str, Path] = {}
            if fn.shared and self.shared_dir:
                aliases["shared"] = self.shared_dir
            if self.views_dir:
                aliases["views"] = self.views_dir
            root = f"{PREFIX}{self._id}_{self._generation}__"
            namespace = FunctionNamespace(root, [fn.src_dir, fn.src_dir / "vendor"], aliases)
            self._namespaces[fn.src_dir] = namespace
            self._finder.namespaces[root] = namespace
        return namespace


def find_handler_file(src_dir: Path) -> Path | None:
    for name in HANDLER_FILES:
        candidate = src_dir / name
        if candidate.is_file():
            return candidate
    return None


def _as_lambda_json(fn: FunctionSpec, event: Json) -> Json:
    """The event as the handler would get it on Lambda: freshly parsed JSON, within the size limit."""
    try:
        text = json.dumps(event)
    except (TypeError, ValueError) as error:
        raise InvocationError(f"the event for {fn.name} is not JSON: {error}") from error
    if len(text) > MAX_EVENT_CHARS:
        raise InvocationError(f"the event for {fn.name} exceeds Lambda's {MAX_EVENT_CHARS:,}-byte payload limit")
    return json.loads(text)


def _marshal_result(fn: FunctionSpec, result: Any) -> Json:
    """Lambda serialises the result as JSON; what can't be serialised there must fail here too."""
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as error:
        message = f"Runtime.MarshalError: Unable to marshal response: {error}"
        raise HandlerFailedError(fn.name, error, message) from error


def _user_traceback(error: BaseException) -> str:
    """The traceback without the sandbox's and importlib's own frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_SANDBOX_DIR) and not frame.filename.startswith("<frozen importlib")
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines)
