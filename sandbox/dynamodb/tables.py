"""Table management: Create/Delete/Update/Describe/ListTables, TTL settings, and the manifest's tables."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import aiosqlite

from sandbox.dynamodb import storage, stream_log, tags
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.schema import (
    IndexDef,
    TableDef,
    parse_attribute_definitions,
    parse_index,
    stream_spec,
    table_from_request,
)
from sandbox.errors import LimitExceededError, ResourceNotFoundError, TableNotFoundError, ValidationError

MAX_LIST = 100
DROPPED_ON_DELETE = ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
UPDATE_TABLE_CHANGES = (  # an UpdateTable must ask for at least one of these
    "ProvisionedThroughput",
    "BillingMode",
    "GlobalSecondaryIndexUpdates",
    "StreamSpecification",
    "SSESpecification",
    "ReplicaUpdates",
    "TableClass",
    "DeletionProtectionEnabled",
    "OnDemandThroughput",
    "WarmThroughput",
)
LOGGER = logging.getLogger("arc_sandbox.tables")


def _key_schema(hash_keys: Sequence[str], range_keys: Sequence[str]) -> list[dict[str, str]]:
    return [{"AttributeName": n, "KeyType": "HASH"} for n in hash_keys] + [
        {"AttributeName": n, "KeyType": "RANGE"} for n in range_keys
    ]


def _throughput(table: TableDef) -> dict[str, int]:
    read, write = table.throughput
    return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": read, "WriteCapacityUnits": write}


def _index_description(ctx: Context, table: TableDef, index: IndexDef) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index.projection}
    if index.projection == "INCLUDE":
        projection["NonKeyAttributes"] = list(index.non_key_attributes)
    out: dict[str, Any] = {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.partition_keys, index.sort_keys),
        "Projection": projection,
    }
    if not index.local:  # an LSI has neither: it is created with the table and shares its throughput
        out["IndexStatus"] = "ACTIVE"
        out["ProvisionedThroughput"] = _throughput(table)
    out.update({"IndexSizeBytes": 0, "ItemCount": 0, "IndexArn": f"{ctx.table_arn(table.name)}/index/{index.name}"})
    return out


def describe(ctx: Context, table: TableDef, stats: tuple[int, int] = (0, 0), status: str = "ACTIVE") -> dict[str, Any]:
    out: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in table.attribute_types.items()],
        "TableName": table.name,
        "KeySchema": _key_schema(table.key_names()[:1], table.key_names()[1:]),
        "TableStatus": status,
        "CreationDateTime": table.created,
        "ProvisionedThroughput": _throughput(table),
        "TableSizeBytes": stats[1],
        "ItemCount": stats[0],
        "TableArn": ctx.table_arn(table.name),
        "TableId": table.table_id,
        "DeletionProtectionEnabled": False,
    }
    if table.billing_mode == "PAY_PER_REQUEST":
        out["BillingModeSummary"] = {
            "BillingMode": "PAY_PER_REQUEST",
            "LastUpdateToPayPerRequestDateTime": table.created,
        }
    global_indexes = [_index_description(ctx, table, i) for i in table.indexes if not i.local]
    local_indexes = [_index_description(ctx, table, i) for i in table.indexes if i.local]
    if global_indexes:
        out["GlobalSecondaryIndexes"] = global_indexes
    if local_indexes:
        out["LocalSecondaryIndexes"] = local_indexes
    if table.stream is not None:
        if table.stream.enabled:
            out["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream.view_type}
        out["LatestStreamLabel"] = table.stream.label
        out["LatestStreamArn"] = ctx.stream_arn(table.name, table.stream.label)
    return out


async def _install(ctx: Context, conn: aiosqlite.Connection, table: TableDef) -> TableDef:
    table = await ctx.catalog.create(conn, table, now=ctx.clock.now())
    if table.ttl_attribute:
        await storage.refresh_expiry(conn, table)
    return table


async def create_table(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = table_from_request(request)
    view_type = stream_spec(request.get("StreamSpecification"))
    given = tags.parse_tags(request["Tags"]) if "Tags" in request else {}
    async with ctx.db.transaction() as conn:
        table = await _install(ctx, conn, table)
        if view_type is not None:
            table = await _set_stream(ctx, conn, table, view_type)
        if given:
            await tags.store(conn, table, given)
    ctx.catalog.remember(table)
    return {"TableDescription": describe(ctx, table)}


async def delete_table(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    async with ctx.db.transaction() as conn:
        stats = await storage.table_stats(conn, table)
        if table.stream is not None:  # its records stay readable for the retention period, as DynamoDB's do
            await stream_log.close_stream(conn, table.stream, now=ctx.clock.now())
        await storage.drop_table(conn, table)
        await tags.forget(conn, table)
    ctx.catalog.forget(table.name)
    described = describe(ctx, table, stats, status="DELETING")
    for gone in ("CreationDateTime", "KeySchema", "AttributeDefinitions", *DROPPED_ON_DELETE):
        described.pop(gone, None)  # DynamoDB's DeleteTable answer leaves the schema out
    return {"TableDescription": described}


async def describe_continuous_backups(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    """Backups are not emulated: every table answers that they are off."""
    name = request.get("TableName")
    if not isinstance(name, str) or not name:
        raise ValidationError(
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
        )
    if ctx.catalog.find(name) is None:
        raise TableNotFoundError(f"Table not found: {name}")
    return {
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "DISABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        }
    }


async def describe_table(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    name = request.get("TableName")
    table = ctx.catalog.find(name) if isinstance(name, str) else None
    if table is None:
        raise ResourceNotFoundError(f"Requested resource not found: Table: {name} not found")
    async with ctx.db.reading() as conn:
        stats = await storage.table_stats(conn, table)
    return {"Table": describe(ctx, table, stats)}


async def list_tables(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    limit = request.get("Limit", MAX_LIST)
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    start = request.get("ExclusiveStartTableName")
    names = [n for n in ctx.catalog.names() if start is None or n > start]
    out: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = names[limit - 1]
    return out


def _check_index_updates(updates: object) -> None:
    if not isinstance(updates, list):
        return
    for update in updates:
        if not isinstance(update, dict) or len(update) != 1 or next(iter(update)) not in ("Create", "Update", "Delete"):
            raise ValidationError(
                "One or more parameter values were invalid: each GlobalSecondaryIndexUpdate must hold exactly one "
                "of Create, Update or Delete"
            )
    if sum(1 for u in updates if "Create" in u or "Delete" in u) > 1:
        raise LimitExceededError(
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"
        )


def _check_redefinitions(table: TableDef, given: dict[str, str]) -> None:
    for name, kind in given.items():
        if table.attribute_types.get(name, kind) != kind:
            raise ValidationError(
                "One or more parameter values were invalid: Attributes cannot be redefined. Please check that your "
                f"attribute has the same type as previously defined. Attribute: {name}, existing type: "
                f"{table.attribute_types[name]}, new type: {kind}"
            )


def _apply_index_updates(table: TableDef, updates: object, defined: dict[str, str]) -> tuple[IndexDef, ...]:
    """The indexes after GlobalSecondaryIndexUpdates. A created index's key attributes must be in this
    request's AttributeDefinitions, even those the table already knows (a key of the table or an LSI):
    DynamoDB insists."""
    _check_index_updates(updates)
    indexes = list(table.indexes)
    for update in updates if isinstance(updates, list) else ():
        if "Create" in update:
            index = parse_index(update["Create"])
            if any(i.name == index.name for i in indexes):
                raise ValidationError(f"One or more parameter values were invalid: Index {index.name} already exists")
            missing = [k for k in index.key_names() if k not in defined]
            if missing:
                raise ValidationError(
                    "One or more parameter values were invalid: Global Secondary Index key "
                    f"attributes {missing} must be defined in AttributeDefinitions"
                )
            indexes.append(index)
        elif "Delete" in update:
            name = update["Delete"].get("IndexName")
            if not any(i.name == name and not i.local for i in indexes):
                raise ResourceNotFoundError(f"Requested resource not found: Index: {name} not found")
            indexes = [i for i in indexes if i.name != name]
    return tuple(indexes)


async def change_indexes(ctx: Context, conn: aiosqlite.Connection, old: TableDef, new: TableDef) -> TableDef:
    """Number, backfill and drop index rows so that `new`'s indexes are exactly what is stored."""
    new = replace(new, indexes=await ctx.catalog.number(conn, new, new.indexes))
    kept = {i.id for i in new.indexes}
    for index in old.indexes:
        if index.id not in kept:
            await storage.drop_index(conn, index)
    for index in new.indexes:
        if index.id not in {i.id for i in old.indexes}:
            await storage.rebuild_index(conn, new, index)
    return await ctx.catalog.save(conn, new)


async def update_table(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    if not any(request.get(p) not in (None, []) for p in UPDATE_TABLE_CHANGES):
        raise ValidationError(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates "
            "or SSESpecification or ReplicaUpdates is required; nothing to do in this UpdateTable"
        )
    defined = parse_attribute_definitions(request.get("AttributeDefinitions") or [])
    _check_redefinitions(table, defined)
    types = {**table.attribute_types, **defined}
    new = replace(table, attribute_types=types)
    new = replace(new, indexes=_apply_index_updates(table, request.get("GlobalSecondaryIndexUpdates"), defined))
    if request.get("BillingMode") in ("PROVISIONED", "PAY_PER_REQUEST"):
        new = replace(new, billing_mode=request["BillingMode"])
    given = request.get("ProvisionedThroughput")
    if isinstance(given, dict):
        new = replace(new, throughput=(int(given.get("ReadCapacityUnits", 0)), int(given.get("WriteCapacityUnits", 0))))
    stream_changes, view_type = _stream_change(table, request.get("StreamSpecification"))
    async with ctx.db.transaction() as conn:
        new = await change_indexes(ctx, conn, table, new)
        if stream_changes:
            new = await _set_stream(ctx, conn, new, view_type)
        stats = await storage.table_stats(conn, new)
    ctx.catalog.remember(new)
    return {"TableDescription": describe(ctx, new, stats)}


def _stream_change(table: TableDef, spec: object) -> tuple[bool, str | None]:
    """UpdateTable's StreamSpecification: (whether it changes the stream, the view type to enable or None)."""
    if spec is None:
        return False, None
    view_type = stream_spec(spec)
    enabled = table.streaming
    if view_type is not None and enabled:
        raise ValidationError(f"Table already has an enabled stream: TableName: {table.name}")
    if view_type is None and not enabled:
        raise ValidationError(f"Table {table.name} does not have a stream to disable")
    return True, view_type


async def _set_stream(ctx: Context, conn: aiosqlite.Connection, table: TableDef, view_type: str | None) -> TableDef:
    """Open a new stream (a new label and ARN, as DynamoDB's re-enabled streams get) or close the current one."""
    now = ctx.clock.now()
    if view_type is None:
        assert table.stream is not None
        await stream_log.close_stream(conn, table.stream, now=now)
        table = replace(table, stream=replace(table.stream, enabled=False))
    else:
        table = replace(table, stream=await stream_log.open_stream(conn, table, view_type, now=now))
    return await ctx.catalog.save(conn, table)


async def set_ttl(ctx: Context, table: TableDef, attribute: str | None) -> TableDef:
    new = replace(table, ttl_attribute=attribute)
    async with ctx.db.transaction() as conn:
        await ctx.catalog.save(conn, new)
        await storage.refresh_expiry(conn, new)
    ctx.catalog.remember(new)
    return new


async def update_time_to_live(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    spec = request.get("TimeToLiveSpecification")
    if not isinstance(spec, dict):
        raise ValidationError(
            "1 validation error detected: Value null at 'timeToLiveSpecification' failed to "
            "satisfy constraint: Member must not be null"
        )
    for member, kind in (("AttributeName", str), ("Enabled", bool)):
        if not isinstance(spec.get(member), kind):
            raise ValidationError(
                f"1 validation error detected: Value null at 'timeToLiveSpecification.{member[0].lower()}"
                f"{member[1:]}' failed to satisfy constraint: Member must not be null ({member})"
            )
    if not 1 <= len(spec["AttributeName"]) <= 255:
        raise ValidationError(
            f"1 validation error detected: Value '{spec['AttributeName']}' at 'timeToLiveSpecification.attributeName' "
            "failed to satisfy constraint: Member must have length less than or equal to 255 and at least 1"
        )
    if spec["Enabled"] and table.ttl_attribute:
        raise ValidationError("TimeToLive is already enabled")
    if not spec["Enabled"] and not table.ttl_attribute:
        raise ValidationError("TimeToLive is already disabled")
    if not spec["Enabled"] and spec["AttributeName"] != table.ttl_attribute:
        raise ValidationError(
            f"TimeToLive is active on a different AttributeName: current AttributeName is {table.ttl_attribute}"
        )
    await set_ttl(ctx, table, str(spec["AttributeName"]) if spec["Enabled"] else None)
    return {"TimeToLiveSpecification": {"Enabled": spec["Enabled"], "AttributeName": spec["AttributeName"]}}


async def describe_time_to_live(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    if table.ttl_attribute is None:
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
    return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": table.ttl_attribute}}


async def ensure(ctx: Context, wanted: TableDef, *, stream_view: str | None = None) -> TableDef:
    """Create a manifest table, or bring an existing one's indexes and TTL in line, keeping its items.

    Key schemas never change under existing data (DynamoDB cannot do that either); only indexes and TTL follow.
    `stream_view` turns the table's stream on when a stream function needs it (it is never turned off here).
    """
    existing = ctx.catalog.find(wanted.name)
    async with ctx.db.transaction() as conn:
        if existing is None:
            table = await _install(ctx, conn, wanted)
        else:
            table = await _reconcile(ctx, conn, existing, wanted)
        if stream_view is not None and not table.streaming:
            table = await _set_stream(ctx, conn, table, stream_view)
    ctx.catalog.remember(table)
    return table


async def _reconcile(ctx: Context, conn: aiosqlite.Connection, existing: TableDef, wanted: TableDef) -> TableDef:
    if existing.key_names() != wanted.key_names():
        LOGGER.warning(
            "%s keeps its key schema %s: the manifest now says %s, and keys cannot change under stored items "
            "(delete the table's data to start over)",
            existing.name,
            existing.key_names(),
            wanted.key_names(),
        )
    by_name = {i.name: i for i in existing.indexes}
    indexes = tuple(i for i in existing.indexes if i.local) + tuple(  # the manifest names GSIs only
        by_name[i.name] if i.name in by_name and by_name[i.name].same_shape(i) else i for i in wanted.indexes
    )
    types = {**wanted.attribute_types, **existing.attribute_types}  # stored key types win
    new = replace(existing, indexes=indexes, attribute_types=types, ttl_attribute=wanted.ttl_attribute)
    if new == existing:
        return existing
    table = await change_indexes(ctx, conn, existing, new)
    if table.ttl_attribute != existing.ttl_attribute:
        await storage.refresh_expiry(conn, table)
    return table
