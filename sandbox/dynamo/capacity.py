"""ReturnConsumedCapacity: the shapes DynamoDB answers with, and the unit arithmetic behind them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sandbox.errors import ValidationError

MODES = ("NONE", "TOTAL", "INDEXES")


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


def shape(
    kind: str, table: str, units: float, indexes: Mapping[str, float] | None = None, *, index_read: str | None = None
) -> dict[str, Any] | None:
    """One ConsumedCapacity entry; `index_read` names the index a Query/Scan read (its units go there)."""
    if kind == "NONE":
        return None
    total = units + sum((indexes or {}).values())
    out: dict[str, Any] = {"TableName": table, "CapacityUnits": total}
    if kind == "INDEXES":
        if index_read is not None:
            out["GlobalSecondaryIndexes"] = {index_read: {"CapacityUnits": units}}
            return out
        out["Table"] = {"CapacityUnits": units}
        if indexes:
            out["GlobalSecondaryIndexes"] = {name: {"CapacityUnits": u} for name, u in indexes.items()}
    return out


def add(into: dict[str, Any], key: str, entry: dict[str, Any] | None) -> None:
    if entry is not None:
        into[key] = entry
