"""Evaluating conditions (ConditionExpression, FilterExpression) against an item."""

from __future__ import annotations

import base64
from collections.abc import Callable

from sandbox.dynamodb.expressions import documents
from sandbox.dynamodb.expressions.names import Names
from sandbox.dynamodb.expressions.nodes import (
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
from sandbox.dynamodb.types import TYPES, AttributeValue, Item, compare, equal, normalize_number
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
        inner = operand.path
        if isinstance(inner, Value):
            return _size(names.value(inner.placeholder))
        return _size(documents.get(item, documents.resolve(inner, names)))
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
    """Whether `item` (None: no item) satisfies the condition.

    The first evaluation for a request also checks the request's own values against the operators
    (a list given to `<` is an error, where a list in the item only makes the condition false).
    """
    if names.first_use(cond):
        names.use(cond.placeholders, cond.label)
        check_operands(cond.root, names, cond.label)
    return _node(cond.root, item, names, cond.label)


def _wrong_type(label: str, what: str, value: AttributeValue) -> ValidationError:
    return ValidationError(
        f"Invalid {label}: Incorrect operand type for operator or function; operator or function: {what}, "
        f"operand type: {next(iter(value))}"
    )


def _constant(operand: Operand, names: Names) -> AttributeValue | None:
    if isinstance(operand, Value):
        return names.value(operand.placeholder)
    if isinstance(operand, Size) and isinstance(operand.path, Value):
        return _size(names.value(operand.path.placeholder)) or {"N": "0"}
    return None


def _check_scalars(label: str, what: str, operands: tuple[Operand, ...], names: Names) -> None:
    for operand in operands:
        if isinstance(operand, Size) and isinstance(operand.path, Value):
            value = names.value(operand.path.placeholder)
            if _size(value) is None:
                raise _wrong_type(label, "size", value)
        constant = _constant(operand, names)
        if constant is not None and next(iter(constant)) not in ("S", "N", "B"):
            raise _wrong_type(label, what, constant)


def check_operands(root: Node, names: Names, label: str) -> None:
    """Errors DynamoDB reports from the request alone, before (and whatever) any item is read."""
    pending: list[Node] = [root]
    while pending:  # a loop, not recursion: the tree may be 300 operators deep
        node = pending.pop()
        if isinstance(node, BoolOp):
            pending += (node.left, node.right)
        elif isinstance(node, Not):
            pending.append(node.inner)
        elif isinstance(node, Compare):
            if node.op in _ORDER:
                _check_scalars(label, node.op, (node.left, node.right), names)
            else:
                _check_scalars(label, node.op, tuple(o for o in (node.left, node.right) if isinstance(o, Size)), names)
        elif isinstance(node, Between):
            _check_scalars(label, "BETWEEN", (node.subject, node.low, node.high), names)
            _check_bounds(label, _constant(node.low, names), _constant(node.high, names))
        elif isinstance(node, In):
            _check_scalars(label, "IN", tuple(o for o in (node.subject, *node.options) if isinstance(o, Size)), names)
        elif isinstance(node, Function):
            _check_function(node, names, label)


def _check_bounds(label: str, low: AttributeValue | None, high: AttributeValue | None) -> None:
    if low is None or high is None:
        return
    order = compare(low, high)
    if order is None:
        raise ValidationError(
            f"Invalid {label}: The BETWEEN operator requires same data type for lower and upper bounds; "
            f"lower bound operand: AttributeValue: {low}, upper bound operand: AttributeValue: {high}"
        )
    if order > 0:
        raise ValidationError(
            f"Invalid {label}: The BETWEEN operator requires upper bound to be greater than or equal to lower "
            f"bound; lower bound operand: AttributeValue: {low}, upper bound operand: AttributeValue: {high}"
        )


def _check_function(node: Function, names: Names, label: str) -> None:
    if node.name == "begins_with":
        for operand in node.args:
            constant = _constant(operand, names)
            if constant is not None and next(iter(constant)) not in ("S", "B"):
                raise _wrong_type(label, "begins_with", constant)
    elif node.name == "attribute_type":
        wanted = _constant(node.args[1], names)
        kind = wanted.get("S") if wanted else None
        if kind not in TYPES:
            raise ValidationError(f"Invalid {label}: Invalid attribute type name found; type: {kind}")
    elif node.name == "contains":
        _check_scalars(label, "contains", tuple(o for o in node.args if isinstance(o, Size)), names)


def _node(node: Node, item: Item | None, names: Names, label: str) -> bool:
    if isinstance(node, BoolOp):
        # A chain of one operator is walked in a loop: "a AND b AND c ..." nests to the left, and an
        # expression written from a long legacy Expected may hold thousands.
        rights: list[Node] = []
        current: Node = node
        while isinstance(current, BoolOp) and current.op == node.op:
            rights.append(current.right)
            current = current.left
        operands = (current, *reversed(rights))
        if node.op == "AND":
            return all(_node(n, item, names, label) for n in operands)
        return any(_node(n, item, names, label) for n in operands)
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
        return left is None or right is None or not equal(left, right)
    if left is None or right is None:
        return False
    order = compare(left, right)
    return order is not None and _ORDER[node.op](order)


def _between(node: Between, item: Item | None, names: Names, label: str) -> bool:
    subject = operand_value(node.subject, item, names, label)
    low = operand_value(node.low, item, names, label)
    high = operand_value(node.high, item, names, label)
    # Bounds given in the request are checked once (check_operands); bounds read from the item that
    # are out of order or of another type only make the condition false.
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
        return begins_with(target, argument)
    return _contains(target, argument)


def begins_with(target: AttributeValue, prefix: AttributeValue) -> bool:
    """Whether an S or B value starts with a prefix of its type (begins_with; a key condition's too)."""
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


def top_level_attributes(cond: Condition, names: Names) -> list[str]:
    """The attributes whose values the condition reads (the first step of each document path)."""
    found: list[str] = []
    pending: list[Node | Operand] = [cond.root]
    while pending:
        node = pending.pop()
        if isinstance(node, BoolOp):
            pending += (node.left, node.right)
        elif isinstance(node, Not):
            pending.append(node.inner)
        elif isinstance(node, Compare):
            pending += (node.left, node.right)
        elif isinstance(node, Between):
            pending += (node.subject, node.low, node.high)
        elif isinstance(node, In):
            pending += (node.subject, *node.options)
        elif isinstance(node, Function):
            pending += node.args
        elif isinstance(node, Size):
            pending.append(node.path)
        elif isinstance(node, Path):
            found.append(str(documents.resolve(node, names)[0]))
    return found
