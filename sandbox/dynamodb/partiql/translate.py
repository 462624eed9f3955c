"""A parsed statement as the request of an existing operation: SELECT as Query (an equality on the
partition key) or Scan, INSERT as a Put that the key does not exist, UPDATE as an Update that it
does, DELETE as a Delete, EXISTS as a ConditionCheck. Names and values go in as placeholders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.dynamodb.catalog import Catalog
from sandbox.dynamodb.partiql import nodes as n
from sandbox.dynamodb.partiql.keys import conjuncts, full_key, split, touches
from sandbox.dynamodb.partiql.render import Placeholders, condition, path, update
from sandbox.dynamodb.partiql.tokens import unsupported
from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.errors import ValidationError

ORDER_NEEDS_QUERY = (
    "ORDER BY needs a WHERE clause with an equality on the partition key (a Query), and orders only by key attributes"
)


@dataclass(frozen=True)
class Write:
    kind: str  # Put, Update, Delete or ConditionCheck: the TransactWriteItems action it is
    body: dict[str, Any]  # that action's body; the single-item operation takes the same fields
    returning: str | None
    insert: bool


def _and(parts: list[n.Condition] | tuple[n.Condition, ...]) -> n.Condition:
    return parts[0] if len(parts) == 1 else n.And(tuple(parts))


def _target(catalog: Catalog, target: n.Target) -> tuple[TableDef, IndexDef | None]:
    table = catalog.get(target.table)
    return table, table.index(target.index) if target.index is not None else None


def _projection(marks: Placeholders, select: n.Select, request: dict[str, Any]) -> None:
    if select.projection is not None:
        request["ProjectionExpression"] = ", ".join(path(marks, p) for p in select.projection)


def _forward(select: n.Select, keys: tuple[str, ...], sort_key: str | None) -> bool:
    forward = True
    for ordered, descending in select.order:
        if not ordered.simple or ordered.top not in keys:
            raise ValidationError(ORDER_NEEDS_QUERY)
        if ordered.top == sort_key or len(select.order) == 1:
            forward = not descending
    return forward


def read(catalog: Catalog, select: n.Select) -> tuple[str, dict[str, Any]]:
    """(Query or Scan, its request) for a SELECT run by ExecuteStatement."""
    table, index = _target(catalog, select.target)
    schema: TableDef | IndexDef = index or table
    marks = Placeholders()
    request: dict[str, Any] = {"TableName": table.name}
    if index is not None:
        request["IndexName"] = index.name
    keys = None
    if index is None or not index.composite:  # an index keyed on several attributes is scanned
        keys = split(select.where, table.attribute_types, schema.partition_key, schema.sort_key, sort_ops=True)
        if keys.partition is None or touches(keys.rest, schema.key_names()):
            keys = None  # a filter may not read the key attributes of a Query: scan with the whole WHERE
    if keys is None:
        if select.order:
            raise ValidationError(ORDER_NEEDS_QUERY)
        rest = tuple(conjuncts(select.where))
    else:
        assert keys.partition is not None
        parts = [keys.partition] if keys.sort is None else [keys.partition, keys.sort]
        request["KeyConditionExpression"] = " AND ".join(condition(marks, part) for part in parts)
        request["ScanIndexForward"] = _forward(select, schema.key_names(), schema.sort_key)
        rest = keys.rest
    if rest:
        request["FilterExpression"] = condition(marks, _and(rest))
    _projection(marks, select, request)
    return ("Scan" if keys is None else "Query"), marks.into(request)


def _item_key(table: TableDef, where: n.Condition | None) -> tuple[dict[str, Any], tuple[n.Condition, ...]]:
    keys = split(where, table.attribute_types, table.partition_key, table.sort_key, sort_ops=False)
    return full_key(keys, table.sort_key), keys.rest


def point_read(catalog: Catalog, select: n.Select, *, filtered: bool) -> tuple[str, dict[str, Any]]:
    """A SELECT of one item by its whole key (in a batch or a transaction): (table name, Get body), with
    the rest of the WHERE as a FilterExpression when `filtered` (the caller runs it as a Query)."""
    table, index = _target(catalog, select.target)
    if index is not None:
        raise ValidationError("A SELECT in a batch or a transaction reads a table by its key, not an index")
    if select.order:
        raise ValidationError("ORDER BY is not allowed in a batch or a transaction")
    key, rest = _item_key(table, select.where)
    marks = Placeholders()
    body: dict[str, Any] = {"TableName": table.name}
    if filtered:
        body["KeyConditionExpression"] = " AND ".join(
            f"{marks.name(name)} = {marks.value(value)}" for name, value in key.items()
        )
        if rest:
            body["FilterExpression"] = condition(marks, _and(rest))
    elif rest:
        raise unsupported("a SELECT in a transaction with conditions besides the key")
    else:
        body["Key"] = key
    _projection(marks, select, body)
    return table.name, marks.into(body)


def write(catalog: Catalog, statement: n.Statement) -> Write:
    if isinstance(statement, n.Insert):
        table = catalog.get(statement.target.table)
        marks = Placeholders()
        body = {
            "TableName": table.name,
            "Item": statement.item["M"],
            "ConditionExpression": f"attribute_not_exists({marks.name(table.partition_key)})",
        }
        return Write("Put", marks.into(body), None, insert=True)
    if isinstance(statement, n.Exists):
        return _checked(catalog, statement.select.target, statement.select.where, "ConditionCheck", None, None)
    if isinstance(statement, n.Update):
        return _checked(catalog, statement.target, statement.where, "Update", statement, statement.returning)
    assert isinstance(statement, n.Delete)
    return _checked(catalog, statement.target, statement.where, "Delete", None, statement.returning)


def _checked(
    catalog: Catalog,
    target: n.Target,
    where: n.Condition | None,
    kind: str,
    changes: n.Update | None,
    returning: str | None,
) -> Write:
    """An action on one item named by its whole key; an UPDATE and an EXISTS also need the item to be there."""
    if target.index is not None:
        raise ValidationError("A write names a table, not an index")
    table = catalog.get(target.table)
    key, rest = _item_key(table, where)
    marks = Placeholders()
    body: dict[str, Any] = {"TableName": table.name, "Key": key}
    if changes is not None:
        body["UpdateExpression"] = update(marks, changes)
    checks = [f"attribute_exists({marks.name(table.partition_key)})"] if kind != "Delete" else []
    if rest:
        checks.append(condition(marks, _and(rest)))
    if checks:
        body["ConditionExpression"] = " AND ".join(checks)
    return Write(kind, marks.into(body), returning, insert=False)
