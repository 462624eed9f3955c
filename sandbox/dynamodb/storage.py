"""The SQLite layout of the tables and the row-level reads and writes every operation shares.

Keys are stored in core's order-preserving encoding (BLOB columns compared with memcmp), so the
primary key index of `dynamo_items` answers a Query as a range, and `dynamo_gsi` does the same for
each global secondary index. Items are JSON text in DynamoDB's wire form. The writers here run
inside the caller's `db.transaction()` so an item and its index rows change together.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import aiosqlite

from sandbox.db import Database
from sandbox.dynamodb import stream_log
from sandbox.dynamodb.item_json import dumps, loads
from sandbox.dynamodb.keys import encode_key, encode_tuple
from sandbox.dynamodb.request import MAX_PARTITION_KEY, MAX_SORT_KEY
from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.dynamodb.types import Item, value_size

SCHEMA = """
CREATE TABLE IF NOT EXISTS dynamo_tables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dynamo_index_ids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_id INTEGER NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dynamo_items (
    table_id INTEGER NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    item TEXT NOT NULL,
    size INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    expires REAL,
    PRIMARY KEY (table_id, pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dynamo_items_expiry ON dynamo_items (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS dynamo_gsi (
    index_id INTEGER NOT NULL,
    gpk BLOB NOT NULL,
    gsk BLOB NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    PRIMARY KEY (index_id, gpk, gsk, pk, sk)
) WITHOUT ROWID;
"""

BUCKETS = 1 << 16  # parallel scan segments are ranges of this hash space
NO_KEY = b""  # the sort key column of a table (or index) without a sort key
LIVE = "(expires IS NULL OR expires > ?)"  # an item past its TTL is invisible before the sweep deletes it


def row_key(table: TableDef, key: Item) -> tuple[bytes, bytes]:
    pk = encode_key(key[table.partition_key])
    return pk, encode_key(key[table.sort_key]) if table.sort_key else NO_KEY


def index_key(index: IndexDef, item: Item) -> tuple[bytes, bytes] | None:
    """The index row's key, or None when the item lacks an index key attribute (sparse index)."""
    if index.composite:
        parts = [item.get(name) for name in index.key_names()]
        if any(part is None for part in parts):
            return None
        values = [p for p in parts if p is not None]
        split = len(index.partition_keys)
        return encode_tuple(values[:split]), encode_tuple(values[split:]) if values[split:] else NO_KEY
    gpk = item.get(index.partition_key)
    if gpk is None:
        return None
    if index.sort_key is None:
        return encode_key(gpk), NO_KEY
    gsk = item.get(index.sort_key)
    return None if gsk is None else (encode_key(gpk), encode_key(gsk))


def index_view(table: TableDef, index: IndexDef, item: Item) -> Item:
    """What an index holds of an item: everything (ALL) or the keys plus the included attributes."""
    if index.projection == "ALL":
        return item
    keep = {*table.key_names(), *index.key_names(), *index.non_key_attributes}
    return {k: v for k, v in item.items() if k in keep}


_INDEX_KEY_LIMITS = (MAX_PARTITION_KEY, MAX_SORT_KEY)  # bytes of a partition key and a sort key


def indexable(table: TableDef, index: IndexDef, item: Item) -> bool:
    """Whether an item written before the index existed belongs in it: an index key of another type,
    empty or too long keeps it out (a write would have been refused; a backfill skips it)."""
    for name, limit in zip(index.key_names(), _INDEX_KEY_LIMITS, strict=False):
        value = item.get(name)
        if value is None:
            continue
        kind = next(iter(value))
        if kind != table.attribute_types.get(name) or value[kind] == "":
            return False
        if kind != "N" and value_size(value) > limit:
            return False
    return True


def key_of(table: TableDef, item: Item, index: IndexDef | None = None) -> Item:
    names: Sequence[str] = table.key_names() + (index.key_names() if index else ())
    return {name: item[name] for name in names if name in item}


def expiry(table: TableDef, item: Item) -> float | None:
    if table.ttl_attribute is None:
        return None
    value = item.get(table.ttl_attribute)
    if not value or "N" not in value:
        return None
    try:
        return float(Decimal(value["N"]))
    except (InvalidOperation, OverflowError):
        return None


def bucket(pk: bytes) -> int:
    return zlib.crc32(pk) % BUCKETS


async def create_schema(conn: aiosqlite.Connection) -> None:
    # One statement at a time: executescript() would COMMIT the caller's transaction first.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            await conn.execute(statement)


_LOAD_ROW = "SELECT item, expires FROM dynamo_items WHERE table_id = ? AND pk = ? AND sk = ?"


async def load(conn: aiosqlite.Connection, table: TableDef, pk: bytes, sk: bytes) -> tuple[Item | None, float | None]:
    """The stored item (expired or not) and its expiry time."""
    rows = list(await conn.execute_fetchall(_LOAD_ROW, (table.id, pk, sk)))  # one hop to the db thread, not three
    return (None, None) if not rows else (loads(rows[0][0]), rows[0][1])


def live(item: Item | None, expires: float | None, now: float) -> Item | None:
    """`item`, or None when it is past its TTL (`expires`)."""
    return item if expires is None or expires > now else None


async def load_now(db: Database, table: TableDef, pk: bytes, sk: bytes, now: float) -> Item | None:
    """The live item at a key: a GetItem's one lookup, in the trip it shares with this turn's others (`Database.read_now`)."""
    rows = await db.read_now(_LOAD_ROW, (table.id, pk, sk))
    if not rows:
        return None
    text, expires = rows[0]
    return loads(text) if expires is None or expires > now else None  # parsed only when live


async def load_live(conn: aiosqlite.Connection, table: TableDef, pk: bytes, sk: bytes, now: float) -> Item | None:
    return live(*await load(conn, table, pk, sk), now)


_DROP_INDEX_ROW = "DELETE FROM dynamo_gsi WHERE index_id = ? AND gpk = ? AND gsk = ? AND pk = ? AND sk = ?"
_PUT_INDEX_ROW = "INSERT OR REPLACE INTO dynamo_gsi VALUES (?, ?, ?, ?, ?)"


def _index_rows(table: TableDef, key: tuple[bytes, bytes], item: Item) -> list[tuple[Any, ...]]:
    """The index rows of `item` stored at `key`: one per index whose key attributes it has."""
    return [(index.id, *ikey, *key) for index in table.indexes if (ikey := index_key(index, item)) is not None]


async def _drop_index_rows(conn: aiosqlite.Connection, table: TableDef, pk: bytes, sk: bytes, old: Item) -> None:
    rows = _index_rows(table, (pk, sk), old)
    if rows:
        await conn.executemany(_DROP_INDEX_ROW, rows)


async def _add_index_rows(conn: aiosqlite.Connection, table: TableDef, pk: bytes, sk: bytes, new: Item) -> None:
    rows = _index_rows(table, (pk, sk), new)
    if rows:
        await conn.executemany(_PUT_INDEX_ROW, rows)


_PUT_ROW = "INSERT OR REPLACE INTO dynamo_items VALUES (?, ?, ?, ?, ?, ?, ?)"


def _row(table: TableDef, key: tuple[bytes, bytes], item: Item, size: int) -> tuple[Any, ...]:
    pk, sk = key
    return (table.id, pk, sk, dumps(item), size, bucket(pk), expiry(table, item))


def _live(table: TableDef, item: Item | None, now: float) -> Item | None:
    return live(item, None if item is None else expiry(table, item), now)


async def write(
    conn: aiosqlite.Connection,
    table: TableDef,
    key: tuple[bytes, bytes],
    old: Item | None,
    new: Item,
    size: int,
    *,
    now: float,
) -> None:
    """Store `new` in place of `old` (the raw stored item, expired or not): index rows and stream record included."""
    pk, sk = key
    if old is not None and table.indexes:
        await _drop_index_rows(conn, table, pk, sk, old)
    await conn.execute(_PUT_ROW, _row(table, key, new, size))
    if table.indexes:
        await _add_index_rows(conn, table, pk, sk, new)
    if table.streaming:
        await stream_log.append(conn, table, _live(table, old, now), new, now=now)


def writes_blind(table: TableDef) -> bool:
    """Whether a put can skip reading the old item: nothing (index rows, stream record) depends on it."""
    return not table.indexes and not table.streaming


async def write_blind(db: Database, table: TableDef, key: tuple[bytes, bytes], new: Item, size: int) -> None:
    """Store `new` whatever was there, in a table without indexes or stream: one statement, its own transaction."""
    if not writes_blind(table):
        raise ValueError("a table with indexes or a stream must write in a transaction, with its index rows")
    await db.write_one(_PUT_ROW, _row(table, key, new, size))


async def load_many(
    conn: aiosqlite.Connection, table: TableDef, keys: Sequence[tuple[bytes, bytes]]
) -> dict[tuple[bytes, bytes], Item]:
    """The stored items (expired or not) at `keys`, in one statement: one trip to the database thread."""
    if not keys:
        return {}
    rows = ", ".join("(?, ?)" for _ in keys)
    sql = f"SELECT pk, sk, item FROM dynamo_items WHERE table_id = ? AND (pk, sk) IN (VALUES {rows})"
    found = await conn.execute_fetchall(sql, (table.id, *(part for key in keys for part in key)))
    return {(pk, sk): loads(text) for pk, sk, text in found}


Change = tuple[tuple[bytes, bytes], Item | None, Item | None, int]  # (key, old, new or None to delete, size)


async def write_many(conn: aiosqlite.Connection, table: TableDef, changes: Sequence[Change], *, now: float) -> None:
    """`write` or `remove` for many items (distinct keys) in a few statements, not a few per item:
    a BatchWriteItem of 25 takes at most five trips to the database thread, not fifty. With a stream, each
    change is recorded too. `old` must be the stored item (None where there was none) when index rows or a
    stream depend on it; a delete runs whatever `old` is, as deleting an absent row finds nothing."""
    puts = [_row(table, key, new, size) for key, _, new, size in changes if new is not None]
    deletes = [(table.id, *key) for key, _, new, _ in changes if new is None]
    if table.indexes:
        stale = [row for key, old, _, _ in changes if old is not None for row in _index_rows(table, key, old)]
        if stale:
            await conn.executemany(_DROP_INDEX_ROW, stale)
    if puts:
        await conn.executemany(_PUT_ROW, puts)
    if deletes:
        await conn.executemany("DELETE FROM dynamo_items WHERE table_id = ? AND pk = ? AND sk = ?", deletes)
    if table.indexes:
        fresh = [row for key, _, new, _ in changes if new is not None for row in _index_rows(table, key, new)]
        if fresh:
            await conn.executemany(_PUT_INDEX_ROW, fresh)
    if table.streaming:
        await stream_log.append_many(  # a delete of nothing (old == new == None) records nothing
            conn, table, [(_live(table, old, now), new) for _, old, new, _ in changes], now=now
        )


async def remove(
    conn: aiosqlite.Connection,
    table: TableDef,
    key: tuple[bytes, bytes],
    old: Item,
    *,
    now: float,
    expired: bool = False,
) -> None:
    """Delete the stored `old`; `expired` marks the TTL sweep's deletions, which the stream attributes to the service."""
    pk, sk = key
    if table.indexes:
        await _drop_index_rows(conn, table, pk, sk, old)
    await conn.execute("DELETE FROM dynamo_items WHERE table_id = ? AND pk = ? AND sk = ?", (table.id, pk, sk))
    if table.streaming:
        gone = old if expired else _live(table, old, now)
        await stream_log.append(conn, table, gone, None, now=now, service=expired)


async def rebuild_index(conn: aiosqlite.Connection, table: TableDef, index: IndexDef) -> None:
    """Backfill a new index from the table's items (UpdateTable, or a manifest edit adding an index)."""
    await conn.execute("DELETE FROM dynamo_gsi WHERE index_id = ?", (index.id,))
    async with conn.execute("SELECT pk, sk, item FROM dynamo_items WHERE table_id = ?", (table.id,)) as cur:
        rows: list[Any] = []
        async for pk, sk, text in cur:
            item = loads(text)
            key = index_key(index, item) if indexable(table, index, item) else None
            if key is not None:
                rows.append((index.id, *key, pk, sk))
    await conn.executemany(_PUT_INDEX_ROW, rows)


async def drop_index(conn: aiosqlite.Connection, index: IndexDef) -> None:
    await conn.execute("DELETE FROM dynamo_gsi WHERE index_id = ?", (index.id,))


async def drop_table(conn: aiosqlite.Connection, table: TableDef) -> None:
    for index in table.indexes:
        await drop_index(conn, index)
    await conn.execute("DELETE FROM dynamo_items WHERE table_id = ?", (table.id,))
    await conn.execute("DELETE FROM dynamo_tables WHERE id = ?", (table.id,))


async def refresh_expiry(conn: aiosqlite.Connection, table: TableDef) -> None:
    """Recompute every item's expiry after the TTL attribute changed."""
    async with conn.execute("SELECT pk, sk, item FROM dynamo_items WHERE table_id = ?", (table.id,)) as cur:
        rows = [(expiry(table, loads(text)), table.id, pk, sk) async for pk, sk, text in cur]
    await conn.executemany("UPDATE dynamo_items SET expires = ? WHERE table_id = ? AND pk = ? AND sk = ?", rows)


async def table_stats(conn: aiosqlite.Connection, table: TableDef) -> tuple[int, int]:
    """(item count, total size in bytes)."""
    sql = "SELECT count(*), coalesce(sum(size), 0) FROM dynamo_items WHERE table_id = ?"
    async with conn.execute(sql, (table.id,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
