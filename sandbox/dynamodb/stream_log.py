"""DynamoDB Streams' storage: each table's streams and their change records, in SQLite beside the items.

A record is appended by `storage.write`/`storage.remove` inside the transaction that changes the
item, so a change and its record commit (or roll back) together. Sequence numbers come from one
AUTOINCREMENT column: they only grow, so records of one stream (and of one item) are in write
order. Records older than the retention period (24 h on the injected clock) are never read and are
purged by the TTL sweep; a stream disabled that long ago is forgotten with them.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from sandbox.dynamodb.item_json import dumps, loads
from sandbox.dynamodb.schema import StreamDef, TableDef
from sandbox.dynamodb.types import Item, item_size

RETENTION = 24 * 3600.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS dynamo_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    label TEXT NOT NULL,
    view_type TEXT NOT NULL,
    key_schema TEXT NOT NULL,
    created REAL NOT NULL,
    start_seq INTEGER NOT NULL,
    closed REAL,
    UNIQUE (table_name, label)
);
CREATE TABLE IF NOT EXISTS dynamo_stream_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id INTEGER NOT NULL,
    created REAL NOT NULL,
    event TEXT NOT NULL,
    keys TEXT NOT NULL,
    old TEXT,
    new TEXT,
    service INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dynamo_stream_records_by_stream ON dynamo_stream_records (stream_id, seq);
CREATE INDEX IF NOT EXISTS dynamo_stream_records_by_age ON dynamo_stream_records (created);
"""


@dataclass(frozen=True)
class StreamRow:
    id: int
    table_name: str
    label: str
    view_type: str
    key_schema: list[dict[str, str]]
    created: float
    start_seq: int
    closed: float | None


@dataclass(frozen=True)
class Change:
    """One stored record: what changed, the images the view type keeps, and who changed it."""

    seq: int
    created: float
    event: str  # INSERT | MODIFY | REMOVE
    keys: Item
    old: Item | None
    new: Item | None
    service: bool  # True for a TTL deletion
    size: int


async def create_schema(conn: aiosqlite.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            await conn.execute(statement)


def _label(now: float, previous: str | None) -> str:
    """DynamoDB's label is the creation time to the millisecond; a later stream never reuses one."""
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC)
    label = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"
    while previous is not None and label <= previous:
        stamp += datetime.timedelta(milliseconds=1)
        label = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"
    return label


async def _next_seq(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("SELECT seq FROM sqlite_sequence WHERE name = 'dynamo_stream_records'"))
    return int(rows[0][0]) + 1 if rows else 1


async def open_stream(conn: aiosqlite.Connection, table: TableDef, view_type: str, *, now: float) -> StreamDef:
    # Later than any earlier stream of this name, a deleted and re-created table's included.
    sql = "SELECT max(label) FROM dynamo_streams WHERE table_name = ?"
    previous = next(iter(await conn.execute_fetchall(sql, (table.name,))))[0]
    label = _label(now, previous)
    schema = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        schema.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    cur = await conn.execute(
        "INSERT INTO dynamo_streams (table_name, label, view_type, key_schema, created, start_seq) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (table.name, label, view_type, json.dumps(schema), now, await _next_seq(conn)),
    )
    assert cur.lastrowid is not None
    return StreamDef(id=cur.lastrowid, label=label, view_type=view_type)


async def close_stream(conn: aiosqlite.Connection, stream: StreamDef, *, now: float) -> None:
    await conn.execute("UPDATE dynamo_streams SET closed = ? WHERE id = ? AND closed IS NULL", (now, stream.id))


def _images(view: str, old: Item | None, new: Item | None) -> tuple[Item | None, Item | None]:
    keep_old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    keep_new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    return (old if keep_old else None), (new if keep_new else None)


def _dumps(item: Item | None) -> str | None:
    return None if item is None else dumps(item)


_INSERT_RECORD = (
    "INSERT INTO dynamo_stream_records (stream_id, created, event, keys, old, new, service, size) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


async def append(
    conn: aiosqlite.Connection,
    table: TableDef,
    old: Item | None,
    new: Item | None,
    *,
    now: float,
    service: bool = False,
) -> None:
    """Record one item change on the table's enabled stream; a write that changes nothing records nothing."""
    row = _record_row(table, old, new, now=now, service=service)
    if row is not None:
        await conn.execute(_INSERT_RECORD, row)


async def append_many(
    conn: aiosqlite.Connection, table: TableDef, changes: list[tuple[Item | None, Item | None]], *, now: float
) -> None:
    """`append` for several (old, new) changes, in one statement."""
    rows = [row for old, new in changes if (row := _record_row(table, old, new, now=now)) is not None]
    if rows:
        await conn.executemany(_INSERT_RECORD, rows)


def _record_row(
    table: TableDef, old: Item | None, new: Item | None, *, now: float, service: bool = False
) -> tuple[Any, ...] | None:
    """The stream record row of one change, or None when there is nothing to record."""
    stream = table.stream
    if stream is None or not stream.enabled or old == new:
        return None
    event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    item = new if new is not None else old
    assert item is not None
    keys = {name: item[name] for name in table.key_names()}
    old_image, new_image = _images(stream.view_type, old, new)
    size = item_size(keys) + (item_size(old_image) if old_image else 0) + (item_size(new_image) if new_image else 0)
    return (stream.id, now, event, _dumps(keys), _dumps(old_image), _dumps(new_image), int(service), size)


def _stream_row(row: Any) -> StreamRow:
    return StreamRow(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], row[7])


STREAM_COLUMNS = "id, table_name, label, view_type, key_schema, created, start_seq, closed"


async def streams(conn: aiosqlite.Connection, *, now: float, table_name: str | None = None) -> list[StreamRow]:
    """Every stream still readable (open, or closed within the retention period), oldest first."""
    sql = f"SELECT {STREAM_COLUMNS} FROM dynamo_streams WHERE (closed IS NULL OR closed > ?)"
    params: list[Any] = [now - RETENTION]
    if table_name is not None:
        sql += " AND table_name = ?"
        params.append(table_name)
    return [_stream_row(r) for r in await conn.execute_fetchall(sql + " ORDER BY id", params)]


async def find_stream(conn: aiosqlite.Connection, table_name: str, label: str, *, now: float) -> StreamRow | None:
    sql = (
        f"SELECT {STREAM_COLUMNS} FROM dynamo_streams WHERE table_name = ? AND label = ? "
        "AND (closed IS NULL OR closed > ?)"
    )
    rows = list(await conn.execute_fetchall(sql, (table_name, label, now - RETENTION)))
    return _stream_row(rows[0]) if rows else None


async def last_seq(conn: aiosqlite.Connection, stream_id: int) -> int | None:
    rows = list(
        await conn.execute_fetchall("SELECT max(seq) FROM dynamo_stream_records WHERE stream_id = ?", (stream_id,))
    )
    return rows[0][0] if rows and rows[0][0] is not None else None


async def read(conn: aiosqlite.Connection, stream_id: int, after: int, *, limit: int, now: float) -> list[Change]:
    """Up to `limit` records with a sequence number above `after`, in order, none past retention."""
    sql = (
        "SELECT seq, created, event, keys, old, new, service, size FROM dynamo_stream_records "
        "WHERE stream_id = ? AND seq > ? AND created > ? ORDER BY seq LIMIT ?"
    )
    rows = await conn.execute_fetchall(sql, (stream_id, after, now - RETENTION, limit))
    return [
        Change(
            seq=r[0],
            created=r[1],
            event=r[2],
            keys=loads(r[3]),
            old=None if r[4] is None else loads(r[4]),
            new=None if r[5] is None else loads(r[5]),
            service=bool(r[6]),
            size=r[7],
        )
        for r in rows
    ]


async def first_retained(conn: aiosqlite.Connection, stream_id: int, *, now: float) -> int | None:
    sql = "SELECT min(seq) FROM dynamo_stream_records WHERE stream_id = ? AND created > ?"
    rows = list(await conn.execute_fetchall(sql, (stream_id, now - RETENTION)))
    return rows[0][0] if rows and rows[0][0] is not None else None


async def purge(conn: aiosqlite.Connection, *, now: float) -> None:
    """Forget records past retention, and streams closed longer ago than that."""
    cutoff = now - RETENTION
    await conn.execute("DELETE FROM dynamo_stream_records WHERE created <= ?", (cutoff,))
    await conn.execute(
        "DELETE FROM dynamo_stream_records WHERE stream_id IN (SELECT id FROM dynamo_streams WHERE closed <= ?)",
        (cutoff,),
    )
    await conn.execute("DELETE FROM dynamo_streams WHERE closed <= ?", (cutoff,))
