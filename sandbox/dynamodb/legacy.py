"""DynamoDB's legacy (pre-expression) parameters, rewritten as the expressions they stand for.

`Expected`, `KeyConditions`, `QueryFilter`, `ScanFilter`, `AttributesToGet` and `AttributeUpdates`
(with `ConditionalOperator`) still work on DynamoDB, and older code sends them. Each becomes the
equivalent expression with placeholders of its own, so the operations run one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from sandbox.errors import ValidationError

LEGACY = frozenset(
    {
        "Expected",
        "KeyConditions",
        "QueryFilter",
        "ScanFilter",
        "AttributesToGet",
        "AttributeUpdates",
        "ConditionalOperator",
    }
)
_CONDITIONAL = frozenset({"Expected", "ConditionalOperator"})
ALLOWED = {  # the legacy parameters each operation takes
    "PutItem": _CONDITIONAL,
    "DeleteItem": _CONDITIONAL,
    "UpdateItem": _CONDITIONAL | {"AttributeUpdates"},
    "GetItem": frozenset({"AttributesToGet"}),
    "Query": frozenset({"KeyConditions", "QueryFilter", "AttributesToGet", "ConditionalOperator"}),
    "Scan": frozenset({"ScanFilter", "AttributesToGet", "ConditionalOperator"}),
}
_EXPRESSION_PARAMETERS = (
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
    "UpdateExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
)
_ARGUMENTS = {
    "EQ": (1, 1),
    "NE": (1, 1),
    "LE": (1, 1),
    "LT": (1, 1),
    "GE": (1, 1),
    "GT": (1, 1),
    "NOT_NULL": (0, 0),
    "NULL": (0, 0),
    "CONTAINS": (1, 1),
    "NOT_CONTAINS": (1, 1),
    "BEGINS_WITH": (1, 1),
    "IN": (1, 100),
    "BETWEEN": (2, 2),
}
_COMPARE = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_KEY_OPERATORS = ("EQ", "LE", "LT", "GE", "GT", "BEGINS_WITH", "BETWEEN")
# The legacy parameters a translated request came from: some errors name them, as DynamoDB's do.
TRANSLATED = "__sandbox_translated_from"


class _Placeholders:
    """Fresh `#legacyN` names and `:legacyN` values, gathered for the request's attribute maps."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: Any) -> str:
        if not isinstance(attribute, str) or not attribute:
            raise ValidationError("One or more parameter values were invalid: Empty attribute name")
        key = f"#legacy{len(self.names)}"
        self.names[key] = attribute
        return key

    def value(self, value: Any) -> str:
        key = f":legacy{len(self.values)}"
        self.values[key] = value
        return key


def translate(operation: str, request: Mapping[str, Any]) -> Mapping[str, Any]:
    """`request` with its legacy parameters replaced by expressions; unchanged if it has none."""
    if operation == "BatchGetItem":
        return _translate_batch_get(request)
    present = LEGACY.intersection(request)
    if not present:
        return request
    unknown = present - ALLOWED.get(operation, frozenset())
    if unknown:
        raise ValidationError(f"{operation} does not take the parameter(s): {', '.join(sorted(unknown))}")
    _reject_mixing(request, present)
    joiner = _conditional_operator(request.get("ConditionalOperator"), {p for p in present if request[p] != {}})
    marks = _Placeholders()
    out = {k: v for k, v in request.items() if k not in LEGACY}
    out.update(_expressions(request, joiner, marks))
    out[TRANSLATED] = present
    if marks.names:
        out["ExpressionAttributeNames"] = {**(request.get("ExpressionAttributeNames") or {}), **marks.names}
    if marks.values:
        out["ExpressionAttributeValues"] = {**(request.get("ExpressionAttributeValues") or {}), **marks.values}
    return out


def _expressions(request: Mapping[str, Any], joiner: str, marks: _Placeholders) -> dict[str, str]:
    out = {}
    if "Expected" in request:
        condition = _conditions(request["Expected"], "Expected", joiner, marks, expected=True)
        if condition:
            out["ConditionExpression"] = condition
    if "KeyConditions" in request:
        out["KeyConditionExpression"] = _key_conditions(request["KeyConditions"], marks)
    for param in ("QueryFilter", "ScanFilter"):
        if param in request:
            condition = _conditions(request[param], param, joiner, marks, expected=False)
            if condition:
                out["FilterExpression"] = condition
    if "AttributesToGet" in request:
        out["ProjectionExpression"] = _projection(request["AttributesToGet"], marks)
    if "AttributeUpdates" in request:
        update = _update(request["AttributeUpdates"], marks)
        if update:
            out["UpdateExpression"] = update
    return out


def _translate_batch_get(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """BatchGetItem carries `AttributesToGet` per table, inside `RequestItems`."""
    items = request.get("RequestItems")
    if not isinstance(items, Mapping) or not any(
        isinstance(spec, Mapping) and "AttributesToGet" in spec for spec in items.values()
    ):
        return request
    translated = {
        name: translate("GetItem", spec) if isinstance(spec, Mapping) else spec for name, spec in items.items()
    }
    return {**request, "RequestItems": translated}


def _reject_mixing(request: Mapping[str, Any], present: AbstractSet[str]) -> None:
    expressions = [p for p in _EXPRESSION_PARAMETERS if p in request]
    if present == {"KeyConditions"} and "KeyConditionExpression" not in request:
        return  # DynamoDB takes KeyConditions with a FilterExpression or ProjectionExpression
    if expressions:
        legacy = ", ".join(sorted(present))
        raise ValidationError(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{legacy}}} Expression parameters: {{{', '.join(expressions)}}}"
        )


def _conditional_operator(value: Any, present: AbstractSet[str]) -> str:
    if value is None:
        return " AND "
    if value not in ("AND", "OR"):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'conditionalOperator' failed to satisfy constraint: "
            "Member must satisfy enum value set: [AND, OR]"
        )
    if not present & {"Expected", "QueryFilter", "ScanFilter"}:
        raise ValidationError(
            "One or more parameter values were invalid: ConditionalOperator needs Expected, QueryFilter or ScanFilter"
        )
    return f" {value} "


def _mapping(value: Any, param: str, *, empty: bool = False) -> Mapping[str, Any]:
    """`empty`: DynamoDB takes `{}` for Expected, the filters and AttributeUpdates (it means nothing)."""
    if not isinstance(value, Mapping) or (not value and not empty):
        raise ValidationError(f"One or more parameter values were invalid: {param} must be a non-empty map")
    return value


def _conditions(value: Any, param: str, joiner: str, marks: _Placeholders, *, expected: bool) -> str:
    parts = []
    for attribute, condition in _mapping(value, param, empty=True).items():
        if not isinstance(condition, Mapping):
            raise ValidationError(f"One or more parameter values were invalid: {param}.{attribute} must be a map")
        if expected and "ComparisonOperator" in condition and ({"Value", "Exists"} & set(condition)):
            raise ValidationError(
                "One or more parameter values were invalid: Value or Exists cannot be used with ComparisonOperator "
                f"for Attribute: {attribute}"
            )
        if expected and "ComparisonOperator" not in condition:
            parts.append(_exists_condition(attribute, condition, marks))
        else:
            parts.append(_comparison(attribute, condition, marks))
    return joiner.join(f"({p})" for p in parts)


def _exists_condition(attribute: str, condition: Mapping[str, Any], marks: _Placeholders) -> str:
    """Expected's older form: `Value` (must equal) and/or `Exists`."""
    exists = condition.get("Exists", True)
    if not isinstance(exists, bool):
        raise ValidationError("One or more parameter values were invalid: Exists must be true or false")
    if "Value" in condition:
        if not exists:
            raise ValidationError(
                "One or more parameter values were invalid: Value cannot be used when Exists is false "
                f"for Attribute: {attribute}"
            )
        return f"{marks.name(attribute)} = {marks.value(condition['Value'])}"
    if exists:
        raise ValidationError(
            "One or more parameter values were invalid: Value must be provided when Exists is true "
            f"for Attribute: {attribute}"
        )
    return f"attribute_not_exists({marks.name(attribute)})"


def _comparison(attribute: str, condition: Mapping[str, Any], marks: _Placeholders) -> str:
    operator = condition.get("ComparisonOperator")
    if operator not in _ARGUMENTS:
        raise ValidationError(
            f"1 validation error detected: Value '{operator}' at 'comparisonOperator' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(sorted(_ARGUMENTS))}]"
        )
    values = condition.get("AttributeValueList", [])
    low, high = _ARGUMENTS[operator]
    if not isinstance(values, list) or not low <= len(values) <= high:
        raise ValidationError(
            f"One or more parameter values were invalid: Invalid number of argument(s) for the {operator} "
            "ComparisonOperator"
        )
    _check_argument_types(operator, values)
    path = marks.name(attribute)
    placeholders = [marks.value(v) for v in values]
    if operator in _COMPARE:
        return f"{path} {_COMPARE[operator]} {placeholders[0]}"
    if operator == "NOT_NULL":
        return f"attribute_exists({path})"
    if operator == "NULL":
        return f"attribute_not_exists({path})"
    if operator == "CONTAINS":
        return f"contains({path}, {placeholders[0]})"
    if operator == "NOT_CONTAINS":  # false, like CONTAINS, when the attribute is missing
        return f"attribute_exists({path}) AND NOT contains({path}, {placeholders[0]})"
    if operator == "BEGINS_WITH":
        return f"begins_with({path}, {placeholders[0]})"
    if operator == "IN":
        return f"{path} IN ({', '.join(placeholders)})"
    return f"{path} BETWEEN {placeholders[0]} AND {placeholders[1]}"


def _kind(value: Any) -> str | None:
    return next(iter(value)) if isinstance(value, Mapping) and len(value) == 1 else None


def _check_argument_types(operator: str, values: list[Any]) -> None:
    """The legacy operators take scalars only (but EQ and NE), of one type, as DynamoDB checks."""
    if operator in ("EQ", "NE"):
        return
    allowed = ("S", "B") if operator == "BEGINS_WITH" else ("S", "N", "B")
    kinds = [_kind(v) for v in values]
    for kind, value in zip(kinds, values, strict=True):
        if kind is not None and kind not in allowed:
            raise ValidationError(
                f"One or more parameter values were invalid: ComparisonOperator {operator} is not valid for {kind} "
                f"AttributeValue type: {value}"
            )
    if len(set(kinds)) > 1:
        raise ValidationError(
            f"One or more parameter values were invalid: AttributeValues inside AttributeValueList must all be of "
            f"the same type for ComparisonOperator {operator}"
        )


def _key_conditions(value: Any, marks: _Placeholders) -> str:
    parts = []
    for attribute, condition in _mapping(value, "KeyConditions").items():
        operator = condition.get("ComparisonOperator") if isinstance(condition, Mapping) else None
        if operator not in _ARGUMENTS:
            raise ValidationError(
                f"1 validation error detected: Value '{operator}' at 'keyConditions.{attribute}.member."
                "comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(sorted(_ARGUMENTS))}]"
            )
        if operator not in _KEY_OPERATORS:
            raise ValidationError(f"Attempted conditional constraint is not an indexable operation: {operator}")
        parts.append(_comparison(attribute, condition, marks))
    return " AND ".join(parts)


def _projection(value: Any, marks: _Placeholders) -> str:
    if not isinstance(value, list) or not value:
        raise ValidationError("One or more parameter values were invalid: AttributesToGet must not be empty")
    if len(set(map(str, value))) != len(value):
        raise ValidationError("One or more parameter values were invalid: Duplicate value in attribute name")
    return ", ".join(marks.name(attribute) for attribute in value)


def _update(value: Any, marks: _Placeholders) -> str:
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
    for attribute, action in _mapping(value, "AttributeUpdates", empty=True).items():
        if not isinstance(action, Mapping):
            raise ValidationError(
                f"One or more parameter values were invalid: AttributeUpdates.{attribute} must be a map"
            )
        kind = action.get("Action", "PUT")
        path = marks.name(attribute)
        given = action.get("Value")
        if kind == "PUT":
            if given is None:
                raise ValidationError(
                    f"One or more parameter values were invalid: Only DELETE action is allowed when no attribute "
                    f"value is specified: {attribute}"
                )
            clauses["SET"].append(f"{path} = {marks.value(given)}")
        elif kind == "DELETE":
            if given is None:
                clauses["REMOVE"].append(path)
            else:
                clauses["DELETE"].append(f"{path} {marks.value(given)}")
        elif kind == "ADD":
            if given is None:
                raise ValidationError(
                    f"One or more parameter values were invalid: Only DELETE action is allowed when no attribute "
                    f"value is specified: {attribute}"
                )
            if isinstance(given, Mapping) and "L" in given:  # the legacy ADD appends to a list
                empty = marks.value({"L": []})
                clauses["SET"].append(f"{path} = list_append(if_not_exists({path}, {empty}), {marks.value(given)})")
            else:
                clauses["ADD"].append(f"{path} {marks.value(given)}")
        else:
            raise ValidationError(
                f"1 validation error detected: Value '{kind}' at 'attributeUpdates.{attribute}.member.action' "
                "failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
            )
    return " ".join(f"{clause} {', '.join(items)}" for clause, items in clauses.items() if items)


def translated_from(request: Mapping[str, Any], param: str) -> bool:
    """Whether `request`'s expressions were written from the legacy parameter `param`."""
    return param in request.get(TRANSLATED, ())


_WRITES = {
    "ConditionExpression": ("Expected",),
    "KeyConditionExpression": ("KeyConditions",),
    "FilterExpression": ("QueryFilter", "ScanFilter"),
    "ProjectionExpression": ("AttributesToGet",),
    "UpdateExpression": ("AttributeUpdates",),
}


def written_by_sandbox(request: Mapping[str, Any], expression: str) -> bool:
    """Whether the request's `expression` parameter is one this module wrote from a legacy parameter."""
    return any(translated_from(request, param) for param in _WRITES[expression])
