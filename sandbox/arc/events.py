"""`arc.events`: publish to an @events topic, and subscribe a handler to its parsed payloads."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from sandbox.arc._backends import backend
from sandbox.arc._records import is_async, payloads, single_or_list
from sandbox.errors import SandboxError


def publish(name: str, payload: Any) -> str:
    """Publish `payload` (anything JSON) to the @events topic `name`; returns the message id."""
    try:
        return backend().publish_event(name, payload)
    except SandboxError as error:  # its traceback starts here: the caller need not read the bridging below
        raise error.with_traceback(None) from error.__cause__


async def publish_async(name: str, payload: Any) -> str:
    try:
        return await backend().publish_event_async(name, payload)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__


def _message(record: dict[str, Any]) -> str:
    return str(record.get("Sns", {}).get("Message", "{}"))


def parse(event: Any) -> Any:
    """The JSON payload(s) of an SNS event: one record gives its payload, several give a list."""
    return single_or_list([p for _, p in payloads(event, _message)] or [{}])


def subscribe(fn: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """Wrap `fn(payload)` as a Lambda handler for @events; an async `fn` gives an async handler."""
    if is_async(fn):

        @functools.wraps(fn)
        async def async_handler(event: Any, context: Any) -> None:
            await asyncio.gather(*(fn(p) for _, p in payloads(event, _message) or [({}, {})]))

        return async_handler

    @functools.wraps(fn)
    def handler(event: Any, context: Any) -> None:
        for _, payload in payloads(event, _message) or [({}, {})]:
            fn(payload)

    return handler
