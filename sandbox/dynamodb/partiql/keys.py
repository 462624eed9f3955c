"""Which part of a WHERE clause names a key: the partition key's equality and one sort-key condition
become a Query's key condition (or a single item's Key), the rest stays a filter or a condition."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.dynamodb.partiql import nodes as n
from sandbox.dynamodb.partiql.render import attributes
from sandbox.errors import ValidationError

FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
NO_FULL_KEY = "Where clause does not contain a mandatory equality on all key attributes"


@dataclass(frozen=True)
class KeySplit:
    partition: n.Condition | None  # pk = value
    sort: n.Condition | None  # a range condition on the sort key
    rest: tuple[n.Condition, ...]  # everything else, ANDed


def conjuncts(where: n.Condition | None) -> list[n.Condition]:
    if where is None:
        return []
    if isinstance(where, n.And):
        return [part for item in where.parts for part in conjuncts(item)]
    return [where]


def _literal_of(cond: n.Condition, name: str, kind: str, ops: tuple[str, ...]) -> n.Condition | None:
    """`cond` written as `name <op> literal` (turned round if the literal comes first), or None."""
    if not isinstance(cond, n.Compare) or cond.op not in ops:
        return None
    left, right, op = cond.left, cond.right, cond.op
    if isinstance(left, n.Literal) and isinstance(right, n.Path):
        left, right, op = right, left, FLIPPED[op]
    if isinstance(left, n.Path) and left.simple and left.top == name and isinstance(right, n.Literal):
        return n.Compare(op, left, right) if kind in right.value else None
    return None


def _sort_condition(cond: n.Condition, name: str, kind: str) -> n.Condition | None:
    compared = _literal_of(cond, name, kind, tuple(FLIPPED))
    if compared is not None:
        return compared
    bounds = (cond.low, cond.high) if isinstance(cond, n.Between) else ()
    if isinstance(cond, n.Between) and cond.operand == n.Path((name,)) and _literals_of(bounds, kind):
        return cond
    if isinstance(cond, n.Call) and cond.name == "begins_with" and cond.args[0] == n.Path((name,)):
        bound = cond.args[1]
        if kind in ("S", "B") and isinstance(bound, n.Literal) and kind in bound.value:
            return cond
    return None


def _literals_of(items: tuple[n.Operand, ...], kind: str) -> bool:
    return all(isinstance(item, n.Literal) and kind in item.value for item in items)


def split(
    where: n.Condition | None, types: dict[str, str], partition_key: str, sort_key: str | None, *, sort_ops: bool
) -> KeySplit:
    """`sort_ops`: whether a range condition on the sort key counts (a Query), or only equality (one item)."""
    parts = conjuncts(where)
    partition = sort = None
    rest: list[n.Condition] = []
    for part in parts:
        if partition is None and (found := _literal_of(part, partition_key, types[partition_key], ("=",))):
            partition = found
            continue
        if sort is None and sort_key is not None:
            kind = types[sort_key]
            found = _sort_condition(part, sort_key, kind) if sort_ops else _literal_of(part, sort_key, kind, ("=",))
            if found is not None:
                sort = found
                continue
        rest.append(part)
    return KeySplit(partition, sort, tuple(rest))


def touches(conditions: tuple[n.Condition, ...], names: tuple[str, ...]) -> bool:
    return any(attributes(cond) & set(names) for cond in conditions)


def full_key(split_key: KeySplit, sort_key: str | None) -> n.AttributeValue:
    """The item's Key from a split made without range conditions; refused unless every key attribute has its equality."""
    if split_key.partition is None or (sort_key is not None and split_key.sort is None):
        raise ValidationError(NO_FULL_KEY)
    key = {}
    for cond in (split_key.partition, split_key.sort):
        if isinstance(cond, n.Compare) and isinstance(cond.left, n.Path) and isinstance(cond.right, n.Literal):
            key[cond.left.top] = cond.right.value
    return key
