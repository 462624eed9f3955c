"""Evaluating conditions (ConditionExpression, FilterExpression) against an item."""

from __future__ import annotations

import base64
from collections.abc import Callable

from sandbox.dynamo.expressions import documents
from sandbox.dynamo.expressions.names import Names
from sandbox.dynamo.expressions.nodes import (
    Between,
    BoolOp,
    Compare,
    Condition,
    Function,
    In,
    Node,
    Not,
    Operand,
    Path,
    Size,
    Value,
)
from sandbox.dynamo.types import TYPES, AttributeValue, Item, compare, equal, normalize_number
from sandbox.errors import ValidationError

_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def operand_value(operand: Operand, item: Item | None, names: Names, label: str) -> AttributeValue | None:
    if isinstance(operand, Value):
        return names.value(operand.placeholder)
    if isinstance(operand, Path):
        return documents.get(item, documents.resolve(operand, names))
    if isinstance(operand, Size):
        return _size(documents.get(item, documents.resolve(operand.path, names)))
    raise ValidationError(f"Invalid {label}: functions of updates are not allowed here")


def _size(value: AttributeValue | None) -> AttributeValue | None:
    if value is None:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "S":
        length = len(inner)
    elif kind == "B":
        length = len(base64.b64decode(inner))
    elif kind in ("SS", "NS", "BS", "L", "M"):
        length = len(inner)
    else:
        return None  # size() of a number or boolean is not defined: the condition is false
    return {"N": normalize_number(str(length))}


def evaluate(cond: Condition, item: Item | None, names: Names) -> bool:
    """Whether `item` (None: no item) satisfies the condition."""
    names.use(cond.placeholders, cond.label)
    return _node(cond.root, item, names, cond.label)


def _node(node: Node, item: Item | None, names: Names, label: str) -> bool:
    if isinstance(node, BoolOp):
        left = _node(node.left, item, names, label)
        if node.op == "AND":
            return left and _node(node.right, item, names, label)
        return left or _node(node.right, item, names, label)
    if isinstance(node, Not):
        return not _node(node.inner, item, names, label)
    if isinstance(node, Compare):
        return _compare(node, item, names, label)
    if isinstance(node, Between):
        return _between(node, item, names, label)
    if isinstance(node, In):
        subject = operand_value(node.subject, item, names, label)
        return any(equal(subject, operand_value(o, item, names, label)) for o in node.options)
    return _function(node, item, names, label)


def _compare(node: Compare, item: Item | None, names: Names, label: str) -> bool:
    left = operand_value(node.left, item, names, label)
    right = operand_value(node.right, item, names, label)
    if node.op == "=":
        return equal(left, right)
    if node.op == "<>":
        return not equal(left, right) if left is not None and right is not None else left is not right
    if left is None or right is None:
        return False
    order = compare(left, right)
    return order is not None and _ORDER[node.op](order)


def _between(node: Between, item: Item | None, names: Names, label: str) -> bool:
    subject = operand_value(node.subject, item, names, label)
    low = operand_value(node.low, item, names, label)
    high = operand_value(node.high, item, names, label)
    if low is not None and high is not None:
        bounds = compare(low, high)
        if bounds is not None and bounds > 0:
            raise ValidationError(
                f"Invalid {label}: The BETWEEN operator requires upper bound to be greater than or equal to lower "
                f"bound; lower bound operand: AttributeValue: {low}, upper bound operand: AttributeValue: {high}"
            )
    if subject is None or low is None or high is None:
        return False
    above, below = compare(subject, low), compare(subject, high)
    return above is not None and below is not None and above >= 0 and below <= 0


def _function(node: Function, item: Item | None, names: Names, label: str) -> bool:
    target = operand_value(node.args[0], item, names, label)
    if node.name == "attribute_exists":
        return target is not None
    if node.name == "attribute_not_exists":
        return target is None
    argument = operand_value(node.args[1], item, names, label)
    if node.name == "attribute_type":
        wanted = argument.get("S") if argument else None
        if wanted not in TYPES:
            raise ValidationError(f"Invalid {label}: Invalid attribute type name found; type: {wanted}")
        return target is not None and next(iter(target)) == wanted
    if target is None or argument is None:
        return False
    if node.name == "begins_with":
        return _begins_with(target, argument)
    return _contains(target, argument)


def _begins_with(target: AttributeValue, prefix: AttributeValue) -> bool:
    kind = next(iter(target))
    if kind != next(iter(prefix)) or kind not in ("S", "B"):
        return False
    if kind == "S":
        return bool(target["S"].startswith(prefix["S"]))
    return base64.b64decode(target["B"]).startswith(base64.b64decode(prefix["B"]))


def _contains(target: AttributeValue, element: AttributeValue) -> bool:
    kind, inner = next(iter(target.items()))
    element_kind = next(iter(element))
    if kind == "S" and element_kind == "S":
        return bool(element["S"] in inner)
    if kind == "B" and element_kind == "B":
        return base64.b64decode(element["B"]) in base64.b64decode(inner)
    if kind in ("SS", "NS", "BS") and element_kind == kind[0]:
        return any(equal({element_kind: v}, element) for v in inner)
    if kind == "L":
        return any(equal(v, element) for v in inner)
    return False
