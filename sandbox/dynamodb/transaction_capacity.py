"""ConsumedCapacity of TransactWriteItems and TransactGetItems.

DynamoDB reads or writes every item of a transaction twice (once to prepare, once to commit), so a
transactional action costs twice the units of the plain one, each item rounded up on its own first.
The doubling is the table's alone: an index entry is written once, as outside a transaction. The
answer is a list, one entry per table in the order the tables first appear in TransactItems, whose
figures are repeated as ReadCapacityUnits or WriteCapacityUnits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.dynamodb import capacity
from sandbox.dynamodb.schema import IndexDef, TableDef

FACTOR = 2.0  # prepare and commit


@dataclass(frozen=True)
class Touch:
    """One action's item, as far as capacity goes."""

    table: TableDef
    size: int  # what the action is charged on: the larger of the item before and after
    indexes: Mapping[IndexDef, float] = field(default_factory=dict)  # write units spent on each index


def table_units(touches: Iterable[Touch], axis: str) -> dict[str, float]:
    """The table's own units per table name, in the order the tables first appear; a write is rounded
    up to 1 KB, a read (always strongly consistent in a transaction) to 4 KB."""
    units: dict[str, float] = {}
    for touch in touches:
        one = capacity.write_units(touch.size) if axis == "WRITE" else capacity.read_units(touch.size, consistent=True)
        units[touch.table.name] = units.get(touch.table.name, 0.0) + FACTOR * one
    return units


def consumed(
    kind: str, units: Mapping[str, float], axis: str, touches: Iterable[Touch] = ()
) -> list[dict[str, Any]] | None:
    """The ConsumedCapacity list for per-table `units` (from `table_units`), with what `touches` spent
    on indexes; None under NONE."""
    if kind == "NONE":
        return None
    spent: dict[str, dict[IndexDef, float]] = {}
    for touch in touches:
        capacity.add_units(spent.setdefault(touch.table.name, {}), touch.indexes)
    out = []
    for name, own in units.items():
        entry = capacity.shape(kind, name, own, spent.get(name), axis=axis)
        assert entry is not None
        out.append(entry)
    return out
