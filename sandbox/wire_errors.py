"""The error every wire module raises; each protocol writes it in its own shape."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


class WireError(Exception):
    """An AWS error answer: HTTP status, error code, message; `query_code` for SQS's query-compatible header."""

    def __init__(self, status: int, code: str, message: str, *, query_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.query_code = query_code or code


async def each_entry(calls: Iterable[Awaitable[T]]) -> list[T | WireError]:
    """A batch's entries run together, so that their writes share one commit; in order, each one's
    answer or its WireError. Any other error is the whole request's."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, WireError):
            raise outcome
    return outcomes  # type: ignore[return-value]
