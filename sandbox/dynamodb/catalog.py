"""Which tables exist: their definitions in SQLite, mirrored in memory for the hot path.

Writers change SQLite inside the caller's transaction and return the new definition; the caller
`remember`s it once the transaction has committed, so a rolled-back change never reaches the cache.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import aiosqlite

from sandbox.dynamodb.schema import IndexDef, TableDef, check_table_name
from sandbox.errors import ResourceInUseError, ResourceNotFoundError


class Catalog:
    def __init__(self) -> None:
        self._tables: dict[str, TableDef] = {}

    async def load(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("SELECT id, definition FROM dynamo_tables") as cur:
            rows = await cur.fetchall()
        self._tables = {t.name: t for t in (TableDef.from_json(json.loads(d), row_id=i) for i, d in rows)}

    def get(self, name: object) -> TableDef:
        table = self._tables.get(name) if isinstance(name, str) else None
        if table is None:
            check_table_name(name)  # a name no table can have is a ValidationException
            raise ResourceNotFoundError("Requested resource not found")
        return table

    def find(self, name: str) -> TableDef | None:
        return self._tables.get(name)

    def names(self) -> list[str]:
        return sorted(self._tables)

    def remember(self, table: TableDef) -> None:
        self._tables[table.name] = table

    def forget(self, name: str) -> None:
        self._tables.pop(name, None)

    async def create(self, conn: aiosqlite.Connection, table: TableDef, *, now: float) -> TableDef:
        if table.name in self._tables:
            raise ResourceInUseError(f"Table already exists: {table.name}")
        table = replace(table, created=now, table_id=str(uuid.uuid4()))
        cur = await conn.execute(
            "INSERT INTO dynamo_tables (name, definition) VALUES (?, ?)", (table.name, json.dumps(table.to_json()))
        )
        assert cur.lastrowid is not None
        table = replace(table, id=cur.lastrowid)
        return await self.save(conn, replace(table, indexes=await self.number(conn, table, table.indexes)))

    async def number(
        self, conn: aiosqlite.Connection, table: TableDef, indexes: tuple[IndexDef, ...]
    ) -> tuple[IndexDef, ...]:
        """Give new indexes (id 0) an id that is never reused, so stale rows can never be read by a newcomer."""
        numbered = []
        for index in indexes:
            if index.id == 0:
                cur = await conn.execute(
                    "INSERT INTO dynamo_index_ids (table_id, name) VALUES (?, ?)", (table.id, index.name)
                )
                assert cur.lastrowid is not None
                index = replace(index, id=cur.lastrowid)
            numbered.append(index)
        return tuple(numbered)

    async def save(self, conn: aiosqlite.Connection, table: TableDef) -> TableDef:
        await conn.execute(
            "UPDATE dynamo_tables SET definition = ? WHERE id = ?", (json.dumps(table.to_json()), table.id)
        )
        return table
