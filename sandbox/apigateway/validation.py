"""Checks on a handler's result, each failure a sentence that says exactly what is wrong (a 502)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard

from sandbox.errors import InvalidResponseError

Check = Callable[[Any], str | None]  # None when the value is fine, else what it must be

REST_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


def _describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _status(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "an integer"
    return None if 100 <= value <= 599 else "an integer from 100 to 599"


def _body(value: object) -> str | None:
    if isinstance(value, bytes | bytearray):
        return "a string (base64-encode binary data and set isBase64Encoded: true)"
    return None if isinstance(value, str) else "a string"


# A line break in a header would end it there and start another header, or the body (response splitting).
NO_BREAKS = " without line breaks (a header cannot hold one)"


def _str_map(value: object) -> str | None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return "an object whose values are strings"
    return None if all(_one_line(k) and _one_line(v) for k, v in value.items()) else "strings" + NO_BREAKS


def _str_list_map(value: object) -> str | None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and _is_str_list(v) for k, v in value.items()):
        return "an object whose values are lists of strings"
    lines_only = all(_one_line(k) and all(_one_line(item) for item in v) for k, v in value.items())
    return None if lines_only else "strings" + NO_BREAKS


def _is_str_list(value: object) -> TypeGuard[list[str] | tuple[str, ...]]:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _str_list(value: object) -> str | None:
    if not _is_str_list(value):
        return "a list of strings"
    return None if all(_one_line(item) for item in value) else "strings" + NO_BREAKS


def _one_line(text: str) -> bool:
    return "\r" not in text and "\n" not in text


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "a boolean"


V2_CHECKS: dict[str, Check] = {
    "statusCode": _status,
    "body": _body,
    "headers": _str_map,
    "cookies": _str_list,
    "isBase64Encoded": _boolean,
}
V1_CHECKS: dict[str, Check] = {
    "statusCode": _status,
    "body": _body,
    "headers": _str_map,
    "multiValueHeaders": _str_list_map,
    "isBase64Encoded": _boolean,
}


def check(result: Mapping[str, Any], checks: Mapping[str, Check]) -> None:
    """Raise `InvalidResponseError` for the first field of `result` that is not what API Gateway accepts.

    A field set to None counts as absent (it is `null` once Lambda serialises the result).
    """
    for key, rule in checks.items():
        value = result.get(key)
        if value is None:
            continue
        problem = rule(value)
        if problem is not None:
            raise InvalidResponseError(f"{key} must be {problem}, got {_describe(value)}")


def check_known_keys(result: Mapping[str, Any], known: Iterable[str]) -> None:
    unknown = sorted(str(key) for key in result if key not in known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise InvalidResponseError(f"unknown key(s) in the response: {', '.join(unknown)} (allowed: {allowed})")


def check_mapping(result: object) -> Mapping[str, Any]:
    if not isinstance(result, Mapping):
        raise InvalidResponseError(f"the response must be an object with a statusCode, got {_describe(result)}")
    return result
