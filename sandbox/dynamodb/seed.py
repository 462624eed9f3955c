"""sandbox-seed.json: plain JSON rows per logical table, written into the `-staging-` tables."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.dynamodb import storage
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.request import check_item_keys, check_size
from sandbox.dynamodb.types import item_from_python, item_size
from sandbox.errors import ValidationError


def _parse(path: Path) -> dict[str, Any]:
    # Numbers stay exact: a float literal would lose digits before it became a DynamoDB number.
    data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValidationError(f"{path.name}: expected an object of table names to lists of rows")
    return data


async def seed(
    ctx: Context, path: Path, physical: Callable[[str], str], *, logger: logging.Logger | None = None
) -> tuple[int, int]:
    """Write every row; returns (tables seeded, rows written). Unknown tables and non-lists are warned about."""
    log = logger or logging.getLogger("arc_sandbox.tables")
    plans = []
    for logical, rows in _parse(path).items():
        table = ctx.catalog.find(physical(logical))
        if table is None or not isinstance(rows, list):
            log.warning("Seed data for %r skipped: %s", logical, "unknown table" if table is None else "not a list")
            continue
        items = [item_from_python(row) for row in rows]
        for item in items:
            check_item_keys(table, item)
            check_size(item_size(item))
        plans.append((table, items))
    async with ctx.db.transaction() as conn:
        for table, items in plans:
            for item in items:
                key = storage.row_key(table, item)
                raw, _ = await storage.load(conn, table, *key)
                await storage.write(conn, table, key, raw, item, item_size(item), now=ctx.clock.now())
    return len(plans), sum(len(items) for _, items in plans)
