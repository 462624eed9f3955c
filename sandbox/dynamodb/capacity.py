"""ReturnConsumedCapacity: the shapes DynamoDB answers with, and the unit arithmetic behind them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.dynamodb.storage import index_key, index_view
from sandbox.dynamodb.types import Item, item_size
from sandbox.errors import ValidationError

MODES = ("NONE", "TOTAL", "INDEXES")
AXES = {"READ": "ReadCapacityUnits", "WRITE": "WriteCapacityUnits"}


def mode(request: Mapping[str, Any]) -> str:
    value = request.get("ReturnConsumedCapacity") or "NONE"
    if value not in MODES:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'returnConsumedCapacity' failed to satisfy constraint: "
            "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        )
    return str(value)


def read_units(size: int, *, consistent: bool) -> float:
    units = float(max(1, math.ceil(size / 4096)))
    return units if consistent else units / 2


def write_units(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def _index_entry(table: TableDef, index: IndexDef, item: Item | None) -> tuple[Any, Item] | None:
    """(the index row's key, the attributes the index holds) of `item`, or None where it is not in the index."""
    if item is None:
        return None
    key = index_key(index, item)
    return None if key is None else (key, index_view(table, index, item))


def index_write_units(table: TableDef, old: Item | None, new: Item | None) -> dict[IndexDef, float]:
    """The write units a change of one item spends on each index it touches, as DynamoDB counts them:
    adding or removing the item's index entry is one write, moving it to another index key two (a
    delete and a put), rewriting it in place one when an attribute the index holds changed, none
    otherwise; each write costs the units of the index entry's size. `old` is the stored item, `new`
    None for a delete."""
    spent: dict[IndexDef, float] = {}
    for index in table.indexes:
        before = _index_entry(table, index, old)
        after = _index_entry(table, index, new)
        if before is None and after is None:
            continue
        if before is None or after is None:
            added_or_removed = after if after is not None else before
            assert added_or_removed is not None
            units = write_units(item_size(added_or_removed[1]))
        elif before[0] != after[0]:
            units = write_units(item_size(before[1])) + write_units(item_size(after[1]))
        elif before[1] != after[1]:
            units = write_units(item_size(after[1]))
        else:
            continue
        spent[index] = units
    return spent


def add_units(into: dict[IndexDef, float], more: Mapping[IndexDef, float]) -> None:
    for index, units in more.items():
        into[index] = into.get(index, 0.0) + units


def shape(
    kind: str,
    table: str,
    units: float,
    indexes: Mapping[IndexDef, float] | None = None,
    *,
    index_read: IndexDef | None = None,
    axis: str | None = None,
) -> dict[str, Any] | None:
    """One ConsumedCapacity entry. `units` are the table's own, `indexes` what a write spent on each
    index; `index_read` is the index a Query or Scan read, whose units these are (the table has none).
    INDEXES breaks the total down into Table, GlobalSecondaryIndexes and LocalSecondaryIndexes.
    `axis` (READ or WRITE) is for transactions, whose answers repeat every figure as
    ReadCapacityUnits or WriteCapacityUnits beside CapacityUnits."""
    if kind == "NONE":
        return None

    def figures(value: float) -> dict[str, float]:
        return {"CapacityUnits": value} if axis is None else {"CapacityUnits": value, AXES[axis]: value}

    total = units + sum((indexes or {}).values())
    out: dict[str, Any] = {"TableName": table, **figures(total)}
    if kind == "INDEXES":
        if index_read is not None:
            out[_group(index_read)] = {index_read.name: figures(units)}
            return out
        out["Table"] = figures(units)
        for index, spent in (indexes or {}).items():
            out.setdefault(_group(index), {})[index.name] = figures(spent)
    return out


def _group(index: IndexDef) -> str:
    return "LocalSecondaryIndexes" if index.local else "GlobalSecondaryIndexes"


def add(into: dict[str, Any], key: str, entry: dict[str, Any] | list[dict[str, Any]] | None) -> None:
    if entry is not None:
        into[key] = entry
