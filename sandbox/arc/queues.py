"""`arc.queues`: send to an @queues queue, and subscribe a handler with partial batch failure."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from sandbox.arc._backends import backend
from sandbox.arc._records import is_async, payloads, single_or_list
from sandbox.errors import SandboxError

_log = logging.getLogger("arc_sandbox.arc.queues")


def publish(name: str, payload: Any, *, delay_seconds: float = 0, group_id: str | None = None) -> str:
    """Send `payload` to the queue `name` (stored before this returns); returns the message id."""
    try:
        return backend().send_message(name, payload, delay_seconds, group_id)
    except SandboxError as error:  # its traceback starts here: the caller need not read the bridging below
        raise error.with_traceback(None) from error.__cause__


async def publish_async(name: str, payload: Any, *, delay_seconds: float = 0, group_id: str | None = None) -> str:
    try:
        return await backend().send_message_async(name, payload, delay_seconds, group_id)
    except SandboxError as error:
        raise error.with_traceback(None) from error.__cause__


def _body(record: dict[str, Any]) -> str:
    return str(record.get("body", "{}"))


def parse(event: Any) -> Any:
    return single_or_list([p for _, p in payloads(event, _body)])


def _failure(record: dict[str, Any], error: BaseException) -> dict[str, str]:
    _log.error("queue message %s failed:\n%s", record.get("messageId"), "".join(traceback.format_exception(error)))
    return {"itemIdentifier": str(record.get("messageId", ""))}


def subscribe(fn: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """Wrap `fn(payload)` as an @queues handler: records that raise are reported as batch item
    failures (only they are retried), the others are done."""
    if is_async(fn):

        async def async_handler(event: Any, context: Any) -> dict[str, Any]:
            failures = []
            for record, payload in payloads(event, _body):
                try:
                    await fn(payload)
                except Exception as error:  # noqa: BLE001 - any failure of one record is that record's failure
                    failures.append(_failure(record, error))
            return {"batchItemFailures": failures}

        return async_handler

    def handler(event: Any, context: Any) -> dict[str, Any]:
        failures = []
        for record, payload in payloads(event, _body):
            try:
                fn(payload)
            except Exception as error:  # noqa: BLE001 - any failure of one record is that record's failure
                failures.append(_failure(record, error))
        return {"batchItemFailures": failures}

    return handler
