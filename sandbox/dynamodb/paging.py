"""One page of a Query or Scan: an index range read in chunks, stopped by Limit or the 1 MB budget.

A `ReadPlan` is the SQL of one ordered range (table or GSI, forwards or backwards) and the order
columns that locate a row in it; the position of the last row read is how the next chunk (and the
next page, through ExclusiveStartKey) continues, so the work is O(log n + page) at any depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from sandbox.dynamodb.item_json import loads
from sandbox.dynamodb.types import Item

PAGE_BYTES = 1024 * 1024
CHUNK = 256
MAX_CHUNK = 4096


@dataclass(frozen=True)
class ReadPlan:
    source: str  # "SELECT <order cols>, item, size FROM ... " without WHERE
    where: list[str]
    params: list[Any]
    order: tuple[str, ...]  # columns that locate a row, in index order
    forward: bool = True
    start: tuple[Any, ...] | None = None  # position to continue after (exclusive)


@dataclass
class Page:
    rows: list[Item] = field(default_factory=list)  # every item read, before any filter
    sizes: int = 0
    more: bool = False  # stopped by Limit (rows left or not) or by the size budget with rows left
    texts: list[str] = field(default_factory=list)  # read_page(decode=False): the stored JSON, as stored

    @property
    def count(self) -> int:
        return len(self.texts) if self.texts else len(self.rows)  # with texts, rows holds only the last


def _sql(plan: ReadPlan, position: tuple[Any, ...] | None, count: int) -> tuple[str, list[Any]]:
    where = list(plan.where)
    params = list(plan.params)
    if position is not None:
        cols = ", ".join(plan.order)
        marks = ", ".join("?" * len(position))
        where.append(f"({cols}) {'>' if plan.forward else '<'} ({marks})")
        params.extend(position)
    direction = "" if plan.forward else " DESC"
    order = ", ".join(f"{c}{direction}" for c in plan.order)
    return f"{plan.source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {count}", params


async def read_page(conn: aiosqlite.Connection, plan: ReadPlan, *, limit: int | None, decode: bool = True) -> Page:
    """Read rows in order until `limit` rows, the 1 MB budget, or the end of the range.

    `decode` False keeps each item as its stored JSON text (`texts`) for an answer that passes items
    through untouched, and decodes only the last one (`rows`), which a LastEvaluatedKey needs."""
    page = Page()
    position = plan.start
    width = len(plan.order)
    chunk = CHUNK
    while True:
        if limit is not None and page.count >= limit:
            page.more = True  # DynamoDB gives a LastEvaluatedKey at Limit even when nothing follows
            return _finish(page, decode)
        wanted = chunk if limit is None else min(chunk, limit - page.count)
        chunk = min(chunk * 2, MAX_CHUNK)  # long reads take bigger bites: fewer trips to the database thread
        sql, params = _sql(plan, position, wanted)
        rows = list(await conn.execute_fetchall(sql, params))
        for row in rows:
            if page.sizes >= PAGE_BYTES:
                page.more = True
                return _finish(page, decode)
            position = tuple(row[:width])
            if decode:
                page.rows.append(loads(row[width]))
            else:
                page.texts.append(row[width])
            page.sizes += row[width + 1]
        if len(rows) < wanted:
            page.more = limit is not None and page.count >= limit
            return _finish(page, decode)


def _finish(page: Page, decode: bool) -> Page:
    if not decode and page.texts:
        page.rows = [loads(page.texts[-1])]
    return page
