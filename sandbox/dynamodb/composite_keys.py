"""Query on a GSI with a multi-attribute key: which range of the index one KeyConditionExpression reads.

Every partition key attribute needs an equality; sort key attributes are taken left to right, each
with an equality but the last, which may be any comparison, BETWEEN or begins_with. The index keys
are the attributes' encodings joined by `keys.encode_tuple`, so the equalities make a byte prefix and
the last condition bounds what follows it: still one index range, O(log n + page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.dynamodb.expressions import Condition, Names
from sandbox.dynamodb.expressions.keyplan import LABEL, SortOp, _clause, _clauses
from sandbox.dynamodb.keys import TERMINATOR, encode_tuple, escape, successor
from sandbox.dynamodb.schema import IndexDef
from sandbox.dynamodb.types import AttributeValue
from sandbox.errors import ValidationError

CheckType = Callable[[str, AttributeValue], bytes]  # the value's key encoding, once its type is checked
INVALID = f"Invalid {LABEL}: Query key condition not supported: "


def _component(check: CheckType, name: str, value: AttributeValue) -> bytes:
    return escape(check(name, value))


def _last(
    check: CheckType, name: str, op: SortOp, values: tuple[AttributeValue, ...], prefix: bytes
) -> tuple[bytes | None, bytes | None]:
    """[low, high) bounds for the last sort attribute's condition, after the equalities' `prefix`."""
    upper = successor(prefix) if prefix else None  # stay within the equalities
    if op == "BEGINS_WITH":
        kind = next(iter(values[0]))
        if kind not in ("S", "B"):
            raise ValidationError(
                f"Invalid {LABEL}: Incorrect operand type for operator or function; operator or function: "
                f"begins_with, operand type: {kind}"
            )
        start = prefix + _component(check, name, values[0])
        return start, successor(start)
    exact = [prefix + _component(check, name, v) + TERMINATOR for v in values]
    if op == "EQ":
        return exact[0], successor(exact[0])
    if op == "LT":
        return prefix or None, exact[0]
    if op == "LE":
        return prefix or None, successor(exact[0])
    if op == "GT":
        return successor(exact[0]), upper
    if op == "GE":
        return exact[0], upper
    return exact[0], successor(exact[1])  # BETWEEN


def key_range(cond: Condition, names: Names, index: IndexDef, check: CheckType) -> tuple[bytes, list[str], list[Any]]:
    """(the partition's key, WHERE terms on g.gsk, their parameters)."""
    names.use(cond.placeholders, LABEL)
    given: dict[str, tuple[SortOp, tuple[AttributeValue, ...]]] = {}
    for node in _clauses(cond.root):
        attribute, op, values = _clause(node, names)
        if attribute not in index.key_names() or attribute in given:
            raise ValidationError(
                f"{INVALID}{attribute} is not a key attribute of index {index.name}, or is given twice"
            )
        given[attribute] = (op, values)
    partition = []
    for name in index.partition_keys:
        op, values = given.get(name, ("LT", ()))
        if op != "EQ":
            raise ValidationError(
                f"{INVALID}every HASH key attribute of index {index.name} needs an equality condition; {name} has none"
            )
        partition.append(values[0])
    for name, value in zip(index.partition_keys, partition, strict=True):
        check(name, value)
    gpk = encode_tuple(partition)
    used = [name for name in index.sort_keys if name in given]
    if used != list(index.sort_keys[: len(used)]) or any(given[n][0] != "EQ" for n in used[:-1]):
        raise ValidationError(
            f"{INVALID}the RANGE key attributes of index {index.name} must be used from the first, without gaps, "
            "each with an equality condition except the last"
        )
    if not used:
        return gpk, [], []
    prefix = b"".join(_component(check, n, given[n][1][0]) + TERMINATOR for n in used[:-1])
    op, values = given[used[-1]]
    low, high = _last(check, used[-1], op, values, prefix)
    where, params = [], []
    if low is not None:
        where.append("g.gsk >= ?")
        params.append(low)
    if high is not None:
        where.append("g.gsk < ?")
        params.append(high)
    return gpk, where, params
