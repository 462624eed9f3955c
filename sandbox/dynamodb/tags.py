"""Table tags: TagResource, UntagResource, ListTagsOfResource and CreateTable's `Tags`, kept in SQLite.

Tags belong to a table's row id, which is never reused, so a table deleted and created again under
the same name starts without tags. DynamoDB's limits apply: 50 tags, keys of 1-128 characters,
values of at most 256, and only letters, digits, spaces and `_ . : / = + - @`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiosqlite

from sandbox.dynamodb.context import Context
from sandbox.dynamodb.schema import TableDef
from sandbox.errors import ResourceNotFoundError, ValidationError

SCHEMA = """
CREATE TABLE IF NOT EXISTS dynamo_tags (
    table_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (table_id, key)
) WITHOUT ROWID
"""
MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
_PUNCTUATION = frozenset("_.:/=+-@")
_TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/(?P<rest>.+)")

Tags = dict[str, str]


async def create_schema(conn: aiosqlite.Connection) -> None:
    await conn.execute(SCHEMA)  # not executescript(), which would COMMIT the caller's transaction


def _allowed(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in _PUNCTUATION for c in text)


def parse_tags(tags: object) -> Tags:
    """A `Tags` list checked against DynamoDB's rules, as key -> value (a later key wins)."""
    if not isinstance(tags, list) or not tags:
        raise ValidationError(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"
        )
    out: Tags = {}
    for tag in tags:
        key = tag.get("Key") if isinstance(tag, dict) else None
        value = tag.get("Value") if isinstance(tag, dict) else None
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationError("One or more parameter values were invalid: a tag needs a Key and a Value")
        if not 1 <= len(key) <= MAX_KEY or not _allowed(key):
            raise ValidationError(
                f"1 validation error detected: Value '{key}' at 'tags.key' failed to satisfy constraint: Member must "
                f"have length between 1 and {MAX_KEY} and match the pattern of letters, digits, spaces and _.:/=+-@"
            )
        if len(value) > MAX_VALUE or not _allowed(value):
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at 'tags.value' failed to satisfy constraint: Member "
                f"must have length at most {MAX_VALUE} and match the pattern of letters, digits, spaces and _.:/=+-@"
            )
        out[key] = value
    if len(out) > MAX_TAGS:
        raise ValidationError(f"One or more parameter values were invalid: Too many tags: at most {MAX_TAGS} per table")
    return out


def _table_of(ctx: Context, arn: object) -> TableDef:
    if not isinstance(arn, str) or not arn:
        raise ValidationError("Invalid ResourceArn: the ARN of a table is required")
    if not arn.startswith("arn:"):
        raise ValidationError(f"Invalid ResourceArn provided as input {arn[:200]}: ARNs must start with 'arn:'")
    match = _TABLE_ARN.fullmatch(arn)
    if match is None or "/" in match["rest"]:
        raise ValidationError(f"Invalid ResourceArn provided as input {arn[:200]}: not the ARN of a table")
    table = ctx.catalog.find(match["rest"])
    if table is None or ctx.table_arn(table.name) != arn:
        raise ResourceNotFoundError(f"Requested resource not found: ResourceArn: {arn[:200]} not found")
    return table


async def _stored(conn: aiosqlite.Connection, table: TableDef) -> Tags:
    rows = await conn.execute_fetchall(
        "SELECT key, value FROM dynamo_tags WHERE table_id = ? ORDER BY key", (table.id,)
    )
    return {str(k): str(v) for k, v in rows}


async def store(conn: aiosqlite.Connection, table: TableDef, tags: Tags) -> None:
    """Add or overwrite `tags` on `table` inside the caller's transaction, 50 at most in all."""
    current = await _stored(conn, table)
    if len({**current, **tags}) > MAX_TAGS:
        raise ValidationError(f"One or more parameter values were invalid: Too many tags: at most {MAX_TAGS} per table")
    await conn.executemany(
        "INSERT OR REPLACE INTO dynamo_tags (table_id, key, value) VALUES (?, ?, ?)",
        [(table.id, k, v) for k, v in tags.items()],
    )


async def forget(conn: aiosqlite.Connection, table: TableDef) -> None:
    await conn.execute("DELETE FROM dynamo_tags WHERE table_id = ?", (table.id,))


async def tag_resource(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = _table_of(ctx, request.get("ResourceArn"))
    tags = parse_tags(request.get("Tags"))
    async with ctx.db.transaction() as conn:
        await store(conn, table, tags)
    return {}


async def untag_resource(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = _table_of(ctx, request.get("ResourceArn"))
    keys = request.get("TagKeys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise ValidationError(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"
        )
    async with ctx.db.transaction() as conn:
        await conn.executemany("DELETE FROM dynamo_tags WHERE table_id = ? AND key = ?", [(table.id, k) for k in keys])
    return {}


async def list_tags_of_resource(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = _table_of(ctx, request.get("ResourceArn"))
    async with ctx.db.reading() as conn:
        tags = await _stored(conn, table)
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
