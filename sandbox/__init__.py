"""arc-sandbox: a local sandbox for Architect-style Python serverless apps.

The public API, for embedding the sandbox and for tests:

    from sandbox import Sandbox, SandboxConfig, FakeClock

    async with Sandbox(SandboxConfig.ephemeral(Path("my-app")), clock=FakeClock()) as sb:
        ...
        await sb.settle()

Names load on first use, so `from sandbox import arc` (the handler runtime API) stays light: it pulls
in neither aiohttp nor the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sandbox._version import __version__

_EXPORTS = {
    "Sandbox": "sandbox.sandbox",
    "SandboxConfig": "sandbox.config",
    "Clock": "sandbox.clock",
    "SystemClock": "sandbox.clock",
    "FakeClock": "sandbox.clock",
    "DeliveryResult": "sandbox.messaging.results",
    "InvocationObserver": "sandbox.lambdas.invocations",
    "Finished": "sandbox.lambdas.invocations",
    "SandboxError": "sandbox.errors",
    "StartupError": "sandbox.errors",
    "ManifestError": "sandbox.errors",
    "PortInUseError": "sandbox.errors",
    "InvocationError": "sandbox.errors",
    "HandlerFailedError": "sandbox.errors",
    "HandlerTimeoutError": "sandbox.errors",
    "HandlerCrashedError": "sandbox.errors",
    "HandlerOutOfMemoryError": "sandbox.errors",
    "HandlerNotFoundError": "sandbox.errors",
    "AwsError": "sandbox.errors",
    "ConditionalCheckFailedError": "sandbox.errors",
    "TransactionCanceledError": "sandbox.errors",
    "NotFoundError": "sandbox.errors",
}

__all__ = [
    "AwsError",
    "Clock",
    "ConditionalCheckFailedError",
    "DeliveryResult",
    "FakeClock",
    "Finished",
    "HandlerCrashedError",
    "HandlerFailedError",
    "HandlerNotFoundError",
    "HandlerOutOfMemoryError",
    "HandlerTimeoutError",
    "InvocationError",
    "InvocationObserver",
    "ManifestError",
    "NotFoundError",
    "PortInUseError",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "StartupError",
    "SystemClock",
    "TransactionCanceledError",
    "__version__",
]

if TYPE_CHECKING:
    from sandbox.clock import Clock, FakeClock, SystemClock
    from sandbox.config import SandboxConfig
    from sandbox.errors import (
        AwsError,
        ConditionalCheckFailedError,
        HandlerCrashedError,
        HandlerFailedError,
        HandlerNotFoundError,
        HandlerOutOfMemoryError,
        HandlerTimeoutError,
        InvocationError,
        ManifestError,
        NotFoundError,
        PortInUseError,
        SandboxError,
        StartupError,
        TransactionCanceledError,
    )
    from sandbox.lambdas.invocations import Finished, InvocationObserver
    from sandbox.messaging.results import DeliveryResult
    from sandbox.sandbox import Sandbox


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
