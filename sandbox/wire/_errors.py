"""The error every wire module raises; each protocol writes it in its own shape."""

from __future__ import annotations


class WireError(Exception):
    """An AWS error answer: HTTP status, error code, message; `query_code` for SQS's query-compatible header."""

    def __init__(self, status: int, code: str, message: str, *, query_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.query_code = query_code or code
