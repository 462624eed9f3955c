"""Applying an UpdateExpression: SET (+, -, list_append, if_not_exists), REMOVE, ADD, DELETE."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.dynamodb.expressions import documents
from sandbox.dynamodb.expressions.evaluate import operand_value
from sandbox.dynamodb.expressions.names import Names
from sandbox.dynamodb.expressions.nodes import Arithmetic, Call, Operand, Path, PathPart, Update
from sandbox.dynamodb.types import AttributeValue, Item, add_numbers, equal
from sandbox.errors import ValidationError

LABEL = "UpdateExpression"
WRONG_TYPE = f"Invalid {LABEL}: Incorrect operand type for operator or function; operator or function: "
BAD_OPERAND = "An operand in the update expression has an incorrect data type"


def _paths(update: Update) -> list[Path]:
    return [
        *(a.path for a in update.sets),
        *update.removes,
        *(a.path for a in update.adds),
        *(a.path for a in update.deletes),
    ]


def updated_paths(update: Update, names: Names) -> list[tuple[PathPart, ...]]:
    """The document paths an update touches, once each (for ReturnValues UPDATED_OLD/UPDATED_NEW)."""
    names.use(update.placeholders, LABEL)
    seen: dict[tuple[PathPart, ...], None] = {}
    for path in _paths(update):
        seen[documents.resolve(path, names)] = None
    return list(seen)


def check_overlaps(resolved: list[tuple[PathPart, ...]], label: str = LABEL) -> None:
    """No path may equal another or lead into it. Hashing every prefix keeps this linear in the
    number of paths (each at most 32 levels), where comparing all pairs was quadratic."""
    whole: set[tuple[PathPart, ...]] = set()
    leading: dict[tuple[PathPart, ...], tuple[PathPart, ...]] = {}  # proper prefix -> a path that has it
    for path in resolved:
        for n in range(1, len(path)):  # the same document read as a map by one path, a list by another
            other = leading.get(path[:n])
            if other is not None and isinstance(other[n], int) != isinstance(path[n], int):
                a, b = ", ".join(map(str, other)), ", ".join(map(str, path))
                raise ValidationError(
                    f"Invalid {label}: Two document paths conflict with each other; must remove or rewrite one of "
                    f"these paths; path one: [{a}], path two: [{b}]"
                )
        other = path if path in whole else leading.get(path)
        if other is None:
            other = next((path[:n] for n in range(1, len(path)) if path[:n] in whole), None)
        if other is not None:
            a, b = ", ".join(map(str, other)), ", ".join(map(str, path))
            raise ValidationError(
                f"Invalid {label}: Two document paths overlap with each other; must remove or rewrite one of "
                f"these paths; path one: [{a}], path two: [{b}]"
            )
        whole.add(path)
        for n in range(1, len(path)):
            leading.setdefault(path[:n], path)


def check_update(update: Update, names: Names, *, key_attributes: Sequence[str]) -> None:
    """What is wrong with the update whatever the item: undefined placeholders, overlapping paths, a key
    attribute changed. DynamoDB says these before it looks at the item, or at the request's condition."""
    names.use(update.placeholders, LABEL)
    resolved = [documents.resolve(p, names) for p in _paths(update)]
    check_overlaps(resolved)
    for parts in resolved:
        if parts[0] in key_attributes:
            raise ValidationError(
                f"One or more parameter values were invalid: Cannot update attribute {parts[0]}. "
                "This attribute is part of the key"
            )


def apply_update(update: Update, item: Item, names: Names, *, exists: bool = True) -> Item:
    """A new item: `item` with the update applied. Right-hand sides read the item as it was. The caller
    has run `check_update` first (before the request's condition, as DynamoDB orders them).

    `exists` False: `item` is only the key of an item not stored yet, so REMOVE and DELETE have
    nothing to act on (and no path to find invalid)."""
    new = documents.deep_copy(item)
    # Past-the-end list indexes append, lowest index first whatever the order of the actions (as DynamoDB).
    for action in sorted(update.sets, key=lambda a: [x for x in a.path.parts if isinstance(x, int)]):
        documents.put(new, documents.resolve(action.path, names), _set_value(action.value, item, names))
    for path in sorted(update.removes, key=lambda p: [x for x in p.parts if isinstance(x, int)], reverse=True):
        if exists:
            documents.remove(new, documents.resolve(path, names))  # higher list indexes first, so lower ones hold
    for add in update.adds:
        parts = documents.resolve(add.path, names)
        documents.put(new, parts, _add(documents.get(new, parts), names.value(add.value.placeholder)))
    for delete in update.deletes if exists else ():
        parts = documents.resolve(delete.path, names)
        remaining = _delete(documents.get(new, parts), names.value(delete.value.placeholder))
        if remaining is None:
            documents.remove(new, parts)
        else:
            documents.put(new, parts, remaining)
    return new


def _set_value(operand: Operand, item: Item, names: Names) -> AttributeValue:
    value = _value(operand, item, names)
    if value is None:
        raise ValidationError("The provided expression refers to an attribute that does not exist in the item")
    return value


def _value(operand: Operand, item: Item, names: Names) -> AttributeValue | None:
    if isinstance(operand, Arithmetic):
        left, right = _value(operand.left, item, names), _value(operand.right, item, names)
        if left is None or right is None:
            raise ValidationError("The provided expression refers to an attribute that does not exist in the item")
        if "N" not in left or "N" not in right:
            raise ValidationError(WRONG_TYPE + operand.op)
        return {"N": add_numbers(left["N"], right["N"], negate=operand.op == "-")}
    if isinstance(operand, Call):
        return _call(operand, item, names)
    return operand_value(operand, item, names, LABEL)


def _call(call: Call, item: Item, names: Names) -> AttributeValue | None:
    if call.name == "if_not_exists":
        existing = _value(call.args[0], item, names)
        return existing if existing is not None else _value(call.args[1], item, names)
    first, second = _value(call.args[0], item, names), _value(call.args[1], item, names)
    if first is None or second is None:
        raise ValidationError("The provided expression refers to an attribute that does not exist in the item")
    if "L" not in first or "L" not in second:
        raise ValidationError(WRONG_TYPE + "list_append")
    return {"L": [*first["L"], *second["L"]]}


def _add(current: AttributeValue | None, value: AttributeValue) -> AttributeValue:
    kind = next(iter(value))
    if kind not in ("N", "SS", "NS", "BS"):
        raise ValidationError(WRONG_TYPE + f"ADD, operand type: {kind}")
    if current is None:
        return value
    if next(iter(current)) != kind:
        raise ValidationError(BAD_OPERAND)
    if kind == "N":
        return {"N": add_numbers(current["N"], value["N"])}
    merged = list(current[kind])
    merged += [v for v in value[kind] if not any(equal({kind[0]: v}, {kind[0]: m}) for m in merged)]
    return {kind: merged}


def _delete(current: AttributeValue | None, value: AttributeValue) -> AttributeValue | None:
    kind = next(iter(value))
    if kind not in ("SS", "NS", "BS"):
        raise ValidationError(WRONG_TYPE + f"DELETE, operand type: {kind}")
    if current is None:
        return None
    if next(iter(current)) != kind:
        raise ValidationError(BAD_OPERAND)
    left = [v for v in current[kind] if not any(equal({kind[0]: v}, {kind[0]: d}) for d in value[kind])]
    return {kind: left} if left else None
