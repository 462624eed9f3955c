"""pytest plugin (entry point `pytest11`): start an app in-process for a test, drive it, settle it.

Fixtures:
    arc_app_dir   the app folder: the `arc_sandbox_app` ini option, else the folder of the rootdir
                  holding app.arc. Override the fixture to point elsewhere.
    arc_clock     the FakeClock the sandbox reads; `arc_sandbox.settle()` advances it to each next
                  due delivery, so delays of minutes pass at once.
    arc_sandbox   a started `Sandbox`: free ports, a throw-away in-memory database, no file watching.
    arc_client    an aiohttp.ClientSession on the app's URL.
    arc_sandbox_sync  the same sandbox for a test written without async: on its own loop in a thread
                  (`sandbox.threaded.ThreadedSandbox`: `.url`, `.ports`, `.settle()`, `.run(coroutine)`,
                  `.sandbox`), so that synchronous clients (boto3, requests) in the test do not block
                  the loop that answers them. Needs no pytest-asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig

if TYPE_CHECKING:  # the server's modules load when a fixture is used: a runtime-only install keeps pytest working
    import aiohttp

    from sandbox.sandbox import Sandbox
    from sandbox.threaded import ThreadedSandbox

INI_APP = "arc_sandbox_app"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_APP, "the app folder the arc_sandbox fixture starts (holds app.arc)", default="")


@pytest.fixture
def arc_app_dir(request: pytest.FixtureRequest) -> Path:
    configured = str(request.config.getini(INI_APP))
    root = request.config.rootpath
    if configured:
        return (root / configured).resolve()
    if (root / "app.arc").is_file():
        return root
    raise pytest.UsageError(
        f"arc_sandbox: set `{INI_APP} = path/to/app` in the pytest ini options, or override the arc_app_dir fixture"
    )


@pytest.fixture
def arc_clock() -> FakeClock:
    return FakeClock()


# architect-functions keeps ports, clients and discovery in module globals (`_port`, `_*_cache`):
# right for one sandbox per process, stale across tests that each start a sandbox on new ports.
_ARCHITECT_FUNCTIONS_MODULES = ("arc.services", "arc.tables", "arc.events", "arc.queues", "arc.ws")


def _reset_architect_functions() -> None:
    for module_name in _ARCHITECT_FUNCTIONS_MODULES:
        module = sys.modules.get(module_name)
        for name, value in list(vars(module).items()) if module else []:
            if name == "_port" or (name.startswith("_") and name.endswith("_cache")):
                setattr(module, name, {} if isinstance(value, dict) else None)


def _async_fixture() -> Callable[[Any], Any]:
    """pytest-asyncio's fixture decorator, loaded only when a test asks for these fixtures' module.

    Without pytest-asyncio the fixtures say what to install instead of breaking every pytest run.
    """
    try:
        import pytest_asyncio
    except ImportError:

        def missing(function: Any) -> Any:
            @pytest.fixture(name=function.__name__)
            def needs_pytest_asyncio() -> None:
                raise pytest.UsageError("the arc_sandbox fixtures need pytest-asyncio: pip install 'arc-sandbox[test]'")

            return needs_pytest_asyncio

        return missing
    return pytest_asyncio.fixture


@contextlib.contextmanager
def _test_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What either fixture sets up in the test's own process around its sandbox."""
    monkeypatch.setenv("_TESTING", "1")  # architect-functions: no discovery cache between tests
    _reset_architect_functions()
    # Handlers print through this logger: keep their lines for pytest's report of a failed test.
    output = logging.getLogger("arc_sandbox.invoke.output")
    level = output.level
    output.setLevel(logging.INFO)
    try:
        yield
    finally:
        output.setLevel(level)


def _point_clients_at(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test's own process talks to this sandbox too (sandbox.arc, architect-functions, boto3).
    for key, value in sandbox.app_environment().client().items():
        monkeypatch.setenv(key, value)


def _needs_server() -> None:
    try:
        import sandbox.sandbox  # noqa: F401
    except ImportError as error:
        raise pytest.UsageError(
            f"the arc_sandbox fixture needs the sandbox's dependencies: pip install arc-sandbox ({error})"
        ) from None


@_async_fixture()
async def arc_sandbox(
    arc_app_dir: Path, arc_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Sandbox]:
    _needs_server()
    from sandbox.loop_watch import LoopWatch
    from sandbox.sandbox import Sandbox

    config = SandboxConfig.ephemeral(arc_app_dir, watch=False)
    watch = LoopWatch(asyncio.get_running_loop())  # says so when a sync client in the test blocks this loop
    with _test_process(monkeypatch):
        async with Sandbox(config, clock=arc_clock) as sandbox:
            _point_clients_at(sandbox, monkeypatch)
            watch.start()
            try:
                yield sandbox
            finally:
                watch.stop()


@pytest.fixture
def arc_sandbox_sync(
    arc_app_dir: Path, arc_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ThreadedSandbox]:
    _needs_server()
    from sandbox.threaded import threaded_sandbox

    config = SandboxConfig.ephemeral(arc_app_dir, watch=False)
    with _test_process(monkeypatch), threaded_sandbox(config, clock=arc_clock) as running:
        _point_clients_at(running.sandbox, monkeypatch)
        yield running


@_async_fixture()
async def arc_client(arc_sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    import aiohttp

    async with aiohttp.ClientSession(arc_sandbox.url) as session:
        yield session
