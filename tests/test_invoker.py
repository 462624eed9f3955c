"""The invoker: loading handlers, module isolation, context, failures, timeouts, and the blocking-call case."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sandbox.errors import HandlerFailedError, HandlerNotFoundError, HandlerTimeoutError, InvocationError
from sandbox.invoker import Invoker
from sandbox.model import FunctionSpec


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def function(root: Path, name: str, code: str, *, filename: str = "lambda.py", timeout: float = 5.0) -> FunctionSpec:
    write(root / name / filename, code)
    return FunctionSpec("events", name, root / name, timeout=timeout)


@pytest.fixture
async def invoker(tmp_path: Path) -> AsyncIterator[Invoker]:
    async with Invoker(shared_dir=tmp_path / "shared", views_dir=tmp_path / "views") as inv:
        yield inv


async def test_invoker_runs_sync_and_async_handlers(invoker: Invoker, tmp_path: Path) -> None:
    sync_fn = function(tmp_path, "sync", "def handler(event, context):\n    return {'got': event['n'] + 1}\n")
    async_fn = function(tmp_path, "async", "async def handler(event, context):\n    return {'got': event['n'] * 2}\n")
    assert await invoker(sync_fn, {"n": 1}) == {"got": 2}
    assert await invoker(async_fn, {"n": 4}) == {"got": 8}


async def test_invoker_gives_each_function_its_own_modules(invoker: Invoker, tmp_path: Path) -> None:
    code = "import util\nfrom util import NAME\ndef handler(event, context):\n    return [util.NAME, NAME]\n"
    one = function(tmp_path, "one", code)
    two = function(tmp_path, "two", code)
    write(tmp_path / "one" / "util.py", "NAME = 'one'\n")
    write(tmp_path / "two" / "util.py", "NAME = 'two'\n")
    assert await invoker(one, {}) == ["one", "one"]
    assert await invoker(two, {}) == ["two", "two"]


async def test_invoker_makes_shared_views_and_vendor_importable(invoker: Invoker, tmp_path: Path) -> None:
    write(tmp_path / "shared" / "helpers.py", "def greet(n):\n    return f'hi {n}'\n")
    write(tmp_path / "views" / "layout" / "__init__.py", "TITLE = 'layout'\n")
    write(tmp_path / "fn" / "vendor" / "vendored.py", "VALUE = 42\n")
    fn = function(
        tmp_path,
        "fn",
        """
        from shared.helpers import greet
        import views.layout
        import vendored
        def handler(event, context):
            return [greet('x'), views.layout.TITLE, vendored.VALUE]
        """,
    )
    assert await invoker(fn, {}) == ["hi x", "layout", 42]


async def test_invoker_prefers_lambda_py_over_handler_and_index(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "fn", "def handler(e, c):\n    return 'index'\n", filename="index.py")
    assert await invoker(fn, {}) == "index"
    write(tmp_path / "fn" / "lambda.py", "def handler(e, c):\n    return 'lambda'\n")
    invoker.invalidate({fn.src_dir})
    assert await invoker(fn, {}) == "lambda"


async def test_invoker_context_is_lambdas(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path,
        "ctx",
        """
        def handler(event, context):
            return {
                "id": context.aws_request_id,
                "name": context.function_name,
                "remaining": context.get_remaining_time_in_millis(),
                "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn,
            }
        """,
        timeout=3,
    )
    got = await invoker(fn, {}, request_id="req-1")
    assert got["id"] == "req-1"
    assert got["name"] == "sandbox-ctx"
    assert 0 < got["remaining"] <= 3000
    assert got["memory"] == 1152
    assert got["arn"].startswith("arn:aws:lambda:us-west-2:123456789012:function:")


async def test_invoker_reports_a_missing_handler_file_with_the_files_it_looked_for(
    invoker: Invoker, tmp_path: Path
) -> None:
    fn = FunctionSpec("http", "get /nothing", tmp_path / "nothing")
    with pytest.raises(HandlerNotFoundError) as caught:
        await invoker(fn, {})
    assert [p.name for p in caught.value.looked_for] == ["lambda.py", "handler.py", "index.py"]
    assert "lambda.py" in caught.value.message


async def test_invoker_turns_a_raising_handler_into_a_user_traceback(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "boom", "def handler(event, context):\n    raise ValueError('bad thing')\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert isinstance(caught.value.error, ValueError)
    assert "lambda.py" in caught.value.traceback and "ValueError: bad thing" in caught.value.traceback
    assert "sandbox/invoker.py" not in caught.value.traceback


async def test_invoker_reports_a_syntax_error_and_recovers_once_fixed(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "broken", "def handler(event, context)\n    return 1\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert isinstance(caught.value.error, SyntaxError)
    write(tmp_path / "broken" / "lambda.py", "def handler(event, context):\n    return 1\n")
    assert await invoker(fn, {}) == 1


async def test_invoker_rejects_a_module_without_a_handler(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "nohandler", "def main(event, context):\n    return 1\n")
    with pytest.raises(HandlerFailedError, match="has no callable 'handler'"):
        await invoker(fn, {})


async def test_invoker_times_out_a_runaway_sync_handler_and_stays_healthy(invoker: Invoker, tmp_path: Path) -> None:
    slow = function(tmp_path, "spin", "def handler(e, c):\n    while True:\n        pass\n", timeout=0.2)
    with pytest.raises(HandlerTimeoutError, match="timed out after 0.2 s"):
        await invoker(slow, {})
    ok = function(tmp_path, "ok", "def handler(e, c):\n    return 'fine'\n")
    assert await invoker(ok, {}) == "fine"


async def test_invoker_times_out_an_async_handler(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path, "sleepy", "import asyncio\nasync def handler(e, c):\n    await asyncio.sleep(30)\n", timeout=0.2
    )
    with pytest.raises(HandlerTimeoutError):
        await invoker(fn, {})


@pytest.mark.parametrize("kind", ["def", "async def"])
async def test_invoker_reports_a_handlers_own_timeout_error_as_a_failure(
    invoker: Invoker, tmp_path: Path, kind: str
) -> None:
    code = f"{kind} handler(e, c):\n    raise TimeoutError('the upstream API took too long')\n"
    fn = function(tmp_path, f"upstream-{kind.replace(' ', '-')}", code)
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert isinstance(caught.value.error, TimeoutError)
    assert "the upstream API took too long" in caught.value.traceback


@pytest.mark.parametrize("kind", ["def", "async def"])
async def test_invoker_fails_a_handler_that_calls_sys_exit_and_keeps_serving(
    invoker: Invoker, tmp_path: Path, kind: str
) -> None:
    name = kind.replace(" ", "-")
    fn = function(tmp_path, f"quits-{name}", f"import sys\n{kind} handler(e, c):\n    sys.exit(3)\n", timeout=3)
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert "the handler raised SystemExit: 3" in str(caught.value.error)
    assert "lambda.py" in caught.value.traceback  # the handler's own frame, where it exited
    ok = function(tmp_path, f"ok-{name}", f"{kind} handler(e, c):\n    return 'fine'\n", timeout=3)
    # Every handler loop and thread still serves: more calls than there are loops.
    assert await asyncio.gather(*(invoker(ok, {}) for _ in range(4))) == ["fine"] * 4


async def test_invoker_fails_results_lambda_could_not_serialise(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "dec", "from decimal import Decimal\ndef handler(e, c):\n    return Decimal('1.5')\n")
    with pytest.raises(HandlerFailedError, match="not JSON serializable"):
        await invoker(fn, {})


async def test_invoker_rejects_an_event_that_is_not_json(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "any", "def handler(e, c):\n    return e\n")
    with pytest.raises(InvocationError, match="not JSON"):
        await invoker(fn, {"when": object()})


async def test_invoker_gives_each_invocation_a_fresh_event(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "mutate", "def handler(e, c):\n    e['seen'] = True\n    return e\n")
    event = {"a": 1}
    assert await invoker(fn, event) == {"a": 1, "seen": True}
    assert event == {"a": 1}


async def test_invoker_lets_an_async_handler_block_on_a_call_back_into_the_core_loop(
    invoker: Invoker, tmp_path: Path
) -> None:
    """DESIGN.md: a blocking call from `async def` to the sandbox's own endpoints must not deadlock."""

    async def pong(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/ping", pong)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        fn = function(
            tmp_path,
            "caller",
            f"""
            import urllib.request
            async def handler(event, context):
                with urllib.request.urlopen("http://127.0.0.1:{port}/ping", timeout=5) as r:
                    return r.read().decode()
            """,
        )
        assert await asyncio.wait_for(invoker(fn, {}), 10) == "pong"
        sync_fn = function(
            tmp_path,
            "sync_caller",
            f"""
            import urllib.request
            def handler(event, context):
                with urllib.request.urlopen("http://127.0.0.1:{port}/ping", timeout=5) as r:
                    return r.read().decode()
            """,
        )
        assert await asyncio.wait_for(invoker(sync_fn, {}), 10) == "pong"
    finally:
        await runner.cleanup()
