"""The invoker: every function in execution environments of its own, failing as Lambda fails."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.errors import (
    HandlerCrashedError,
    HandlerFailedError,
    HandlerNotFoundError,
    HandlerOutOfMemoryError,
    HandlerTimeoutError,
    InvocationError,
)
from sandbox.lambdas.invocations import Finished
from sandbox.lambdas.invoker import Invoker
from sandbox.lambdas.launchers import ForkServer, Spawner
from sandbox.model import FunctionSpec, Json


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def function(
    root: Path, name: str, code: str, *, filename: str = "lambda.py", timeout: float = 5.0, memory: int = 1152
) -> FunctionSpec:
    write(root / name / filename, code)
    return FunctionSpec("events", name, root / name, timeout=timeout, memory=memory)


def minimal_environment(fn: FunctionSpec) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-west-2", "FUNCTION": fn.name}


class Recorder:
    """An InvocationObserver that keeps everything it is told."""

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.lines: list[tuple[str, str]] = []
        self.ends: list[tuple[str, Finished]] = []
        self._changed = asyncio.Event()

    async def wait_for_line(self, request_id: str, line: str) -> None:
        while (request_id, line) not in self.lines:
            self._changed.clear()
            await self._changed.wait()

    def started(self, request_id: str, fn: FunctionSpec, event: Json) -> None:
        self.starts.append(request_id)

    def log(self, request_id: str, fn: FunctionSpec, line: str) -> None:
        self.lines.append((request_id, line))
        self._changed.set()

    def finished(self, request_id: str, fn: FunctionSpec, outcome: Finished) -> None:
        self.ends.append((request_id, outcome))


@pytest.fixture(params=["fork", "spawn"])
def launcher_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def invoker(tmp_path: Path) -> AsyncIterator[Invoker]:
    async with Invoker(
        environment=minimal_environment, shared_dir=tmp_path / "shared", views_dir=tmp_path / "views"
    ) as inv:
        yield inv


async def test_invoker_runs_sync_and_async_handlers_with_either_launcher(tmp_path: Path, launcher_name: str) -> None:
    launcher = ForkServer() if launcher_name == "fork" else Spawner()
    async with Invoker(environment=minimal_environment, launcher=launcher) as invoker:
        sync_fn = function(tmp_path, "sync", "def handler(event, context):\n    return {'got': event['n'] + 1}\n")
        async_fn = function(
            tmp_path, "async", "async def handler(event, context):\n    return {'got': event['n'] * 2}\n"
        )
        assert await invoker(sync_fn, {"n": 1}) == {"got": 2}
        assert await invoker(async_fn, {"n": 4}) == {"got": 8}


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="scheduling policies are Linux's")
async def test_environments_run_as_batch_processes_that_do_not_preempt_the_sandbox(
    tmp_path: Path, launcher_name: str
) -> None:
    launcher = ForkServer() if launcher_name == "fork" else Spawner()
    async with Invoker(environment=minimal_environment, launcher=launcher) as invoker:
        fn = function(
            tmp_path, "policy", "import os\ndef handler(event, context):\n    return os.sched_getscheduler(0)\n"
        )
        assert await invoker(fn, {}) == os.SCHED_BATCH
        assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the sandbox's own process keeps the default


async def test_invoker_imports_the_handler_under_its_real_name_in_its_own_folder(
    invoker: Invoker, tmp_path: Path
) -> None:
    code = """
        import os, sys, util
        from util import NAME
        def handler(event, context):
            return [__name__, util.NAME, NAME, os.getcwd(), sys.path[0], os.environ["FUNCTION"]]
        """
    one = function(tmp_path, "one", code)
    two = function(tmp_path, "two", code, filename="index.py")
    write(tmp_path / "one" / "util.py", "NAME = 'one'\n")
    write(tmp_path / "two" / "util.py", "NAME = 'two'\n")
    root = str(tmp_path)
    assert await invoker(one, {}) == ["lambda", "one", "one", f"{root}/one", f"{root}/one", "one"]
    assert await invoker(two, {}) == ["index", "two", "two", f"{root}/two", f"{root}/two", "two"]


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


async def test_module_state_lives_as_long_as_the_environment(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path, "counter", "CALLS = 0\ndef handler(e, c):\n    global CALLS\n    CALLS += 1\n    return CALLS\n"
    )
    assert [await invoker(fn, {}) for _ in range(3)] == [1, 2, 3]
    invoker.invalidate({fn.src_dir})
    assert await invoker(fn, {}) == 1


async def test_invoker_prefers_lambda_py_and_picks_up_saved_code_after_invalidate(
    invoker: Invoker, tmp_path: Path
) -> None:
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
    assert got["arn"] == "arn:aws:lambda:us-west-2:123456789012:function:sandbox-ctx"


async def test_an_event_loop_is_set_for_libraries_that_ask_for_one(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path,
        "loopy",
        """
        import asyncio
        LOOP = asyncio.get_event_loop()  # at import, as Mangum does
        async def work():
            return 7
        def handler(event, context):
            return asyncio.get_event_loop().run_until_complete(work()) + (LOOP is asyncio.get_event_loop())
        """,
    )
    assert await invoker(fn, {}) == 8
    assert await invoker(fn, {}) == 8


async def test_invoker_reports_a_missing_handler_file_with_the_files_it_looked_for(
    invoker: Invoker, tmp_path: Path
) -> None:
    fn = FunctionSpec("http", "get /nothing", tmp_path / "nothing")
    with pytest.raises(HandlerNotFoundError) as caught:
        await invoker(fn, {})
    assert [p.name for p in caught.value.looked_for] == ["lambda.py", "handler.py", "index.py"]


async def test_invoker_turns_a_raising_handler_into_a_user_traceback(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "boom", "def handler(event, context):\n    raise ValueError('bad thing')\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert (caught.value.error_type, caught.value.error_message) == ("ValueError", "bad thing")
    assert "lambda.py" in caught.value.traceback and "ValueError: bad thing" in caught.value.traceback
    assert "sandbox/lambdas" not in caught.value.traceback


async def test_invoker_reports_an_import_error_as_lambda_does_and_recovers_once_fixed(
    invoker: Invoker, tmp_path: Path
) -> None:
    fn = function(tmp_path, "broken", "def handler(event, context)\n    return 1\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert caught.value.error_type == "Runtime.ImportModuleError"
    assert caught.value.error_message.startswith("Unable to import module 'lambda':")
    assert "SyntaxError" in caught.value.traceback
    write(tmp_path / "broken" / "lambda.py", "def handler(event, context):\n    return 1\n")
    assert await invoker(fn, {}) == 1


async def test_invoker_rejects_a_module_without_a_handler(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "nohandler", "def main(event, context):\n    return 1\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert caught.value.error_type == "Runtime.HandlerNotFound"


@pytest.mark.parametrize(
    "body",
    [
        "while True:\n        pass",
        # Catching everything cannot keep the environment alive past its timeout, unlike an injected error.
        "try:\n        time.sleep(30)\n    except BaseException:\n        time.sleep(30)",
    ],
    ids=["spin", "catches-everything"],
)
async def test_a_timeout_kills_the_environment_and_the_next_call_gets_a_fresh_one(
    invoker: Invoker, tmp_path: Path, body: str
) -> None:
    slow = function(
        tmp_path,
        "slow",
        f"import os, time\ndef handler(e, c):\n    if e.get('quick'):\n        return os.getpid()\n    {body}\n",
        timeout=0.3,
    )
    first = await invoker(slow, {"quick": True})
    with pytest.raises(HandlerTimeoutError, match=r"^Task timed out after 0\.30 seconds$"):
        await invoker(slow, {})
    assert await invoker(slow, {"quick": True}) != first


async def test_a_shorter_timeout_than_the_last_calls_still_times_out_on_time(invoker: Invoker, tmp_path: Path) -> None:
    """An environment keeps one timeout timer, due at the earliest deadline it has seen: a call whose
    deadline comes before the timer's (the timeout shortened by a reload) must bring it forward."""
    code = "import time\ndef handler(e, c):\n    time.sleep(e['sleep'])\n"
    patient = function(tmp_path, "shortened", code, timeout=120)
    await invoker(patient, {"sleep": 0})  # the environment's timer is now due in two minutes
    hasty = FunctionSpec("events", "shortened", patient.src_dir, timeout=0.3)
    async with asyncio.timeout(30):  # not two minutes: the timer came forward to this call's deadline
        with pytest.raises(HandlerTimeoutError, match=r"^Task timed out after 0\.30 seconds$"):
            await invoker(hasty, {"sleep": 60})


async def test_an_async_handler_times_out(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path, "sleepy", "import asyncio\nasync def handler(e, c):\n    await asyncio.sleep(30)\n", timeout=0.2
    )
    with pytest.raises(HandlerTimeoutError):
        await invoker(fn, {})


async def test_a_handlers_own_timeout_error_is_a_failure_not_a_timeout(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path, "upstream", "def handler(e, c):\n    raise TimeoutError('the upstream API took too long')\n"
    )
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert caught.value.error_type == "TimeoutError"


@pytest.mark.parametrize(
    ("code", "how"),
    [
        ("import sys\ndef handler(e, c):\n    sys.exit(3)\n", "exit status 3"),
        ("import sys\nasync def handler(e, c):\n    sys.exit(3)\n", "exit status 3"),
        ("import os\ndef handler(e, c):\n    os._exit(4)\n", "exit status 4"),
        ("import ctypes\ndef handler(e, c):\n    ctypes.string_at(0)\n", "signal: segmentation fault"),
        ("import os\ndef handler(e, c):\n    os.abort()\n", "signal: aborted"),
    ],
    ids=["sys.exit", "sys.exit-async", "os._exit", "segfault", "abort"],
)
async def test_a_runtime_exit_fails_the_call_and_the_next_call_gets_a_fresh_environment(
    invoker: Invoker, tmp_path: Path, code: str, how: str
) -> None:
    fn = function(tmp_path, "quits", code, timeout=5)
    with pytest.raises(HandlerCrashedError) as caught:
        await invoker(fn, {}, request_id="r-1")
    assert caught.value.error_type == "Runtime.ExitError"
    assert caught.value.message == f"RequestId: r-1 Error: Runtime exited with error: {how}"
    ok = function(tmp_path, "ok", "def handler(e, c):\n    return 'fine'\n")
    assert await asyncio.gather(*(invoker(ok, {}) for _ in range(4))) == ["fine"] * 4
    write(tmp_path / "quits" / "lambda.py", "def handler(e, c):\n    return 'fixed'\n")
    assert await invoker(fn, {}) == "fixed"  # the crashed environment is gone: fresh code, fresh process


@pytest.mark.parametrize("hold", [True, False], ids=["killed-mid-call", "over-at-the-end"])
async def test_going_over_aws_memory_stops_the_environment(invoker: Invoker, tmp_path: Path, hold: bool) -> None:
    code = """
        import time
        def handler(e, c):
            block = bytearray(400 * 1024 * 1024)
            block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not just reserved
            if e["hold"]:
                time.sleep(20)
            return "survived"
        """
    fn = function(tmp_path, "hungry", code, timeout=30, memory=256)
    with pytest.raises(HandlerOutOfMemoryError) as caught:
        await invoker(fn, {"hold": hold})
    assert caught.value.error_type == "Runtime.OutOfMemory"
    assert caught.value.used_mb > 256


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits for the process with a pidfd (Linux)")
async def test_processes_a_handler_forks_die_with_its_environment(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(
        tmp_path,
        "forker",
        "import subprocess\ndef handler(e, c):\n    return subprocess.Popen(['sleep', '60']).pid\n",
    )
    child = await invoker(fn, {})
    exited = asyncio.Event()
    pidfd = os.pidfd_open(child)
    loop = asyncio.get_running_loop()
    loop.add_reader(pidfd, exited.set)  # readable once the process has ended
    try:
        assert not exited.is_set()
        invoker.invalidate({fn.src_dir})
        await asyncio.wait_for(exited.wait(), 10)
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


async def test_concurrent_calls_get_separate_environments_up_to_the_limit(tmp_path: Path) -> None:
    """Each call holds its environment until the test answers it over a socket: the test answers only once
    two calls are inside handlers at the same time, so two environments exist, and never a third."""
    gate = str(tmp_path / "gate.sock")
    code = f"""
        import os, socket
        def handler(e, c):
            with socket.socket(socket.AF_UNIX) as s:
                s.connect({gate!r})
                s.recv(1)  # held here until the test lets this call go
            return os.getpid()
        """
    fn = function(tmp_path, "busy", code)
    arrived: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    def let_go(writer: asyncio.StreamWriter) -> None:
        writer.write(b"x")  # the transport sends the byte before it closes
        writer.close()

    server = await asyncio.start_unix_server(lambda _r, w: arrived.put_nowait(w), gate)
    async with server, Invoker(environment=minimal_environment, concurrency=2) as invoker:
        calls = asyncio.gather(*(invoker(fn, {}) for _ in range(6)))
        held = [await asyncio.wait_for(arrived.get(), 10) for _ in range(2)]  # a hang guard, not a wait
        assert arrived.empty()  # the limit: the other four wait for an environment
        for writer in held:
            let_go(writer)
        for _ in range(4):  # each waiting call reaches the gate once an environment is free
            let_go(await asyncio.wait_for(arrived.get(), 10))
        pids = await asyncio.wait_for(calls, 10)
    assert len(set(pids)) == 2


async def test_saving_code_during_a_first_import_lets_that_call_finish_and_the_next_use_the_new_code(
    invoker: Invoker, tmp_path: Path
) -> None:
    importing = asyncio.Event()
    carry_on = asyncio.Event()

    async def gate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        importing.set()
        await carry_on.wait()
        writer.write(b"go")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(gate, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    code = f"""
        import socket
        with socket.create_connection(("127.0.0.1", {port})) as gate:  # the import waits for the test
            gate.recv(2)
        def handler(e, c):
            return 'old'
        """
    fn = function(tmp_path, "slowimport", code)
    async with server:
        first = asyncio.ensure_future(invoker(fn, {}))
        await importing.wait()
        write(tmp_path / "slowimport" / "lambda.py", "def handler(e, c):\n    return 'new'\n")
        invoker.invalidate({fn.src_dir})
        carry_on.set()
        assert await first == "old"
        assert await invoker(fn, {}) == "new"


async def test_output_and_logging_reach_the_observer_with_the_request_id(tmp_path: Path) -> None:
    recorder = Recorder()
    fn = function(
        tmp_path,
        "talker",
        """
        import logging, os
        def handler(e, c):
            print("hello from print")
            logging.getLogger().warning("careful")
            os.write(1, b"straight to fd 1\\n")
            return 1
        """,
    )
    async with Invoker(environment=minimal_environment, observer=recorder) as invoker:
        await invoker(fn, {}, request_id="req-talk")
        assert ("req-talk", "hello from print") in recorder.lines
        assert any(
            rid == "req-talk" and "[WARNING]" in line and "req-talk\tcareful" in line for rid, line in recorder.lines
        )
        # What C code writes to fd 1 arrives on a pipe of its own, possibly after the result.
        await asyncio.wait_for(recorder.wait_for_line("req-talk", "straight to fd 1"), 10)
    assert recorder.starts == ["req-talk"]
    [(rid, finished)] = recorder.ends
    assert (rid, finished.outcome, finished.cold, finished.result) == ("req-talk", "ok", True, 1)
    assert finished.max_memory_mb and finished.max_memory_mb > 0


async def test_failed_results_and_events_lambda_could_not_serialise(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "dec", "from decimal import Decimal\ndef handler(e, c):\n    return Decimal('1.5')\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert caught.value.error_type == "Runtime.MarshalError"
    echo = function(tmp_path, "any", "def handler(e, c):\n    return e\n")
    with pytest.raises(InvocationError, match="not JSON"):
        await invoker(echo, {"when": object()})


async def test_invoker_gives_each_invocation_a_fresh_event(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "mutate", "def handler(e, c):\n    e['seen'] = True\n    return e\n")
    event = {"a": 1}
    assert await invoker(fn, event) == {"a": 1, "seen": True}
    assert event == {"a": 1}


async def test_a_function_that_vendors_a_preloaded_package_gets_its_own_copy(invoker: Invoker, tmp_path: Path) -> None:
    """The template preloads boto3 (and architect-functions as `arc`); a function's own copy wins."""
    probe = function(tmp_path, "probe", "import sys\ndef handler(e, c):\n    return 'arc' in sys.modules\n")
    for _ in range(500):  # new environments until one is forked after the template's preloads
        if await invoker(probe, {}):
            break
        invoker.invalidate({probe.src_dir})
    assert await invoker(probe, {}), "the template never preloaded architect-functions"
    write(tmp_path / "own" / "vendor" / "boto3" / "__init__.py", "WHOSE = 'vendored'\n")
    write(tmp_path / "own" / "arc.py", "WHOSE = 'local'\n")
    fn = function(tmp_path, "own", "import arc, boto3\ndef handler(e, c):\n    return [boto3.WHOSE, arc.WHOSE]\n")
    assert await invoker(fn, {}) == ["vendored", "local"]


async def test_idle_environments_are_retired_and_busy_ones_are_not(invoker: Invoker, tmp_path: Path) -> None:
    fn = function(tmp_path, "idler", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    first = await invoker(fn, {})
    pool = invoker.environments()[fn.src_dir]
    assert pool.retire_idle(unused_since=0.0) == 0  # used after that moment: kept warm
    assert await invoker(fn, {}) == first
    [env] = pool.idle
    assert pool.retire_idle(unused_since=env.last_used + 1) == 1
    assert await invoker(fn, {}) != first


async def test_the_most_recently_used_environment_takes_the_next_call(invoker: Invoker, tmp_path: Path) -> None:
    """Last in, first out: sequential calls stay on the warmest environment, so the others stay idle
    long enough for the idle timeout to retire them when the load falls."""
    code = """
        import os, time
        def handler(e, c):
            while e.get('until') and not os.path.exists(e['until']):
                time.sleep(0.005)
            return os.getpid()
    """
    fn = function(tmp_path, "lifo", code)
    release = tmp_path / "release"
    slow = asyncio.ensure_future(invoker(fn, {"until": str(release)}))
    fast = await invoker(fn, {})  # the slow call holds one environment: a second one starts for this one
    pool = invoker.environments()[fn.src_dir]
    assert [env.pid for env in pool.idle] == [fast]
    release.touch()
    held = await slow
    assert held != fast and [env.pid for env in pool.idle] == [fast, held]  # the slow one, released last, on top
    first_idle_since = pool.idle[0].last_used
    assert {await invoker(fn, {}) for _ in range(5)} == {held}
    assert pool.idle[0].pid == fast and pool.idle[0].last_used == first_idle_since  # untouched all along
    assert pool.retire_idle(unused_since=first_idle_since + 1e-6) == 1
    assert [env.pid for env in pool.idle] == [held]


async def test_a_template_killed_from_outside_is_replaced(tmp_path: Path) -> None:
    fn = function(tmp_path, "survivor", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    launcher = ForkServer()
    async with Invoker(environment=minimal_environment, launcher=launcher) as invoker:
        first = await invoker(fn, {})
        process = launcher._process
        assert process is not None
        process.kill()  # as the OOM killer would
        await asyncio.to_thread(process.wait)
        invoker.invalidate()
        assert await invoker(fn, {}) != first


async def test_stopping_as_a_call_starts_does_not_hang(tmp_path: Path) -> None:
    """A call that fails at once (its event is not JSON) wakes the watch as stop() cancels it; before
    Python 3.12, asyncio.wait_for swallowed that cancellation and stop() waited forever."""
    echo = function(tmp_path, "echo", "def handler(e, c):\n    return e\n")
    invoker = Invoker(environment=minimal_environment)
    for _ in range(6):  # the race is likely, not certain, on each round
        await invoker.start()
        with pytest.raises(InvocationError, match="not JSON"):
            await invoker(echo, {"when": object()})
        await asyncio.wait_for(invoker.stop(), 10)  # a hang guard, not a wait
