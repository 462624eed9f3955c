"""ExpressionAttributeNames/Values for one request, recording which were used."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.dynamodb.expressions.nodes import Placeholders
from sandbox.dynamodb.types import AttributeValue
from sandbox.errors import ValidationError


class Names:
    def __init__(self, names: Mapping[str, str] | None, values: Mapping[str, AttributeValue] | None) -> None:
        self.names = dict(names or {})
        self.values = dict(values or {})
        self._used_names: set[str] = set()
        self._used_values: set[str] = set()
        self._seen: set[int] = set()

    def first_use(self, expression: object) -> bool:
        """True the first time this request meets `expression`: checks that need only the request run once."""
        key = id(expression)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def use(self, placeholders: Placeholders, label: str) -> None:
        """Every placeholder an expression mentions must be defined, used or not on this evaluation."""
        for name in placeholders.names:
            if name not in self.names:
                raise ValidationError(
                    f"Invalid {label}: An expression attribute name used in the document path is not defined; "
                    f"attribute name: {name}"
                )
        for value in placeholders.values:
            if value not in self.values:
                raise ValidationError(
                    f"Invalid {label}: An expression attribute value used in expression is not defined; "
                    f"attribute value: {value}"
                )
        self._used_names |= placeholders.names
        self._used_values |= placeholders.values

    def name(self, part: str) -> str:
        return self.names[part] if part.startswith("#") else part

    def value(self, placeholder: str) -> AttributeValue:
        return self.values[placeholder]

    def check_all_used(self) -> None:
        unused = sorted(set(self.names) - self._used_names)
        if unused:
            raise ValidationError(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {" + ", ".join(unused) + "}"
            )
        unused = sorted(set(self.values) - self._used_values)
        if unused:
            raise ValidationError(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {" + ", ".join(unused) + "}"
            )
