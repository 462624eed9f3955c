"""DynamoDB's expression languages: parsed once per text, evaluated many times.

Placeholders (#n, :v) stay in the parsed form and are resolved through `Names` at each use, so one
cached parse serves every request that sends the same text.
"""

from __future__ import annotations

from sandbox.dynamodb.expressions.evaluate import evaluate
from sandbox.dynamodb.expressions.keyplan import KeyPlan, key_condition_plan
from sandbox.dynamodb.expressions.names import Names
from sandbox.dynamodb.expressions.nodes import Condition, Projection, Update
from sandbox.dynamodb.expressions.parser import parse_condition, parse_projection, parse_update
from sandbox.dynamodb.expressions.projection import project, project_paths
from sandbox.dynamodb.expressions.update import apply_update, check_update, updated_paths

__all__ = [
    "Condition",
    "ExpressionCache",
    "KeyPlan",
    "Names",
    "Projection",
    "Update",
    "apply_update",
    "check_update",
    "evaluate",
    "key_condition_plan",
    "project",
    "project_paths",
    "updated_paths",
]

MAX_CACHED = 10_000


class ExpressionCache:
    """One per store: each expression text is parsed once.

    `limited` False is for expressions the sandbox wrote itself from legacy parameters (which
    DynamoDB does not hold to the 4 KB and 300-operator limits of expressions a client writes).
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, bool], object] = {}

    def _get(self, kind: str, text: str, parse: object, limited: bool) -> object:
        key = (kind, text, limited)
        found = self._cache.get(key)
        if found is None:
            found = parse(text, limited)  # type: ignore[operator]
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[key] = found
        return found

    def condition(self, text: str, *, limited: bool = True) -> Condition:
        return self._get("condition", text, lambda t, lim: parse_condition(t, limited=lim), limited)  # type: ignore[return-value]

    def filter(self, text: str, *, limited: bool = True) -> Condition:
        return self._get(  # type: ignore[return-value]
            "filter", text, lambda t, lim: parse_condition(t, "FilterExpression", limited=lim), limited
        )

    def key_condition(self, text: str, *, limited: bool = True) -> Condition:
        return self._get(  # type: ignore[return-value]
            "key", text, lambda t, lim: parse_condition(t, "KeyConditionExpression", limited=lim), limited
        )

    def update(self, text: str, *, limited: bool = True) -> Update:
        return self._get("update", text, lambda t, lim: parse_update(t, limited=lim), limited)  # type: ignore[return-value]

    def projection(self, text: str, *, limited: bool = True) -> Projection:
        return self._get("projection", text, lambda t, lim: parse_projection(t, limited=lim), limited)  # type: ignore[return-value]
