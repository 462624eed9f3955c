"""Shared by events and queues: parse records, wrap a payload handler."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any


def payloads(event: Any, field: Callable[[dict[str, Any]], str]) -> list[tuple[dict[str, Any], Any]]:
    records = (event or {}).get("Records") or []
    out = []
    for record in records:
        text = field(record)
        try:
            out.append((record, json.loads(text)))
        except (TypeError, ValueError):
            out.append((record, text))  # not JSON: hand over the raw text, as SNS/SQS carry any string
    return out


def single_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn)
