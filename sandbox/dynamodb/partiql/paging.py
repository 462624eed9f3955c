"""NextToken for a paged SELECT: the page's LastEvaluatedKey and a digest of the statement and its
parameters, so a token can only continue the statement that issued it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sandbox.errors import ValidationError

MAX_TOKEN = 32768
INVALID = "The provided NextToken is not valid for this statement"


def _digest(statement: str, parameters: Sequence[Any]) -> str:
    text = json.dumps([statement, list(parameters)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def encode(last_key: dict[str, Any], statement: str, parameters: Sequence[Any]) -> str:
    payload = json.dumps({"key": last_key, "of": _digest(statement, parameters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode(token: object, statement: str, parameters: Sequence[Any]) -> dict[str, Any]:
    """The ExclusiveStartKey a token stands for; a token that is not ours, or is another statement's, is refused."""
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN:
        raise ValidationError(INVALID)
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeError):
        raise ValidationError(INVALID) from None
    if not isinstance(payload, dict) or payload.get("of") != _digest(statement, parameters):
        raise ValidationError(INVALID)
    key = payload.get("key")
    if not isinstance(key, dict):
        raise ValidationError(INVALID)
    return key
