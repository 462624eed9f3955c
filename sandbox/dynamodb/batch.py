"""BatchGetItem and BatchWriteItem: many keys, one read or one transaction, nothing left unprocessed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.dynamodb import capacity, storage
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.expressions import project
from sandbox.dynamodb.operations import projection_of
from sandbox.dynamodb.request import check_item_keys, check_key, check_size, names_for
from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.dynamodb.types import Item, item_size, validate_item
from sandbox.errors import ValidationError

MAX_GET = 100
MAX_WRITE = 25
DUPLICATES = "Provided list of item keys contains duplicates"
BAD_WRITE = "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest"


def _request_items(request: Mapping[str, Any]) -> dict[str, Any]:
    items = request.get("RequestItems")
    if not isinstance(items, dict) or not items:
        raise ValidationError(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: "
            "Member must not be null"
            if not items
            else "RequestItems must be a map"
        )
    return items


def _unique(keys: list[tuple[bytes, bytes]]) -> None:
    if len(set(keys)) != len(keys):
        raise ValidationError(DUPLICATES)


async def batch_get_item(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    wanted = _request_items(request)
    if sum(len(spec.get("Keys") or ()) for spec in wanted.values() if isinstance(spec, dict)) > MAX_GET:
        raise ValidationError("Too many items requested for the BatchGetItem call")
    cap = capacity.mode(request)
    plans = []
    for name, spec in wanted.items():
        table = ctx.catalog.get(name)
        if not isinstance(spec, dict) or not isinstance(spec.get("Keys"), list) or not spec["Keys"]:
            raise ValidationError(
                "1 validation error detected: Value at 'requestItems.member.keys' failed to "
                "satisfy constraint: Member must have length greater than or equal to 1"
            )
        rows = [storage.row_key(table, check_key(table, key)) for key in spec["Keys"]]
        _unique(rows)
        proj = projection_of(ctx, spec)
        names = names_for(spec)
        if proj is not None:
            project(proj, {}, names)
        names.check_all_used()
        plans.append((table, rows, proj, names, bool(spec.get("ConsistentRead"))))
    responses: dict[str, list[Item]] = {}
    consumed = []
    now = ctx.clock.now()
    async with ctx.db.reading() as conn:
        for table, rows, proj, names, consistent in plans:
            loaded = [await storage.load_live(conn, table, pk, sk, now) for pk, sk in rows]
            found = [item for item in loaded if item is not None]
            responses[table.name] = [project(proj, i, names) if proj else i for i in found]
            if cap != "NONE":  # every key asked for is charged, found or not, as a GetItem would be
                units = sum(capacity.read_units(item_size(i) if i else 0, consistent=consistent) for i in loaded)
                consumed.append(capacity.shape(cap, table.name, units))
    out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": {}}
    if consumed:
        out["ConsumedCapacity"] = consumed
    return out


def _write_request(table: TableDef, entry: object) -> tuple[tuple[bytes, bytes], Item | None, int]:
    """(row key, item to put or None to delete, size)."""
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValidationError(BAD_WRITE)
    kind, body = next(iter(entry.items()))
    if kind == "PutRequest" and isinstance(body, dict):
        item = validate_item(body.get("Item"), param="Item")
        check_item_keys(table, item)
        size = item_size(item)
        check_size(size)
        return storage.row_key(table, item), item, size
    if kind == "DeleteRequest" and isinstance(body, dict):
        return storage.row_key(table, check_key(table, body.get("Key"))), None, 0
    raise ValidationError(BAD_WRITE)


async def batch_write_item(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    wanted = _request_items(request)
    if any(isinstance(ops, list) and len(ops) > MAX_WRITE for ops in wanted.values()):
        raise ValidationError(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must "
            f"satisfy constraint: [Member must have length less than or equal to {MAX_WRITE}, Member must have "
            "length greater than or equal to 1]"
        )
    if sum(len(ops) if isinstance(ops, list) else 1 for ops in wanted.values()) > MAX_WRITE:
        raise ValidationError("Too many items requested for the BatchWriteItem call")
    cap = capacity.mode(request)
    plans = []
    for name, ops in wanted.items():
        table = ctx.catalog.get(name)
        if not isinstance(ops, list) or not ops:
            raise ValidationError(
                "1 validation error detected: Value at 'requestItems.member' failed to satisfy "
                "constraint: Member must have length greater than or equal to 1"
            )
        writes = [_write_request(table, op) for op in ops]
        _unique([key for key, _, _ in writes])
        plans.append((table, writes))
    consumed = []
    async with ctx.db.transaction() as conn:
        now = ctx.clock.now()
        for table, writes in plans:
            units = 0.0
            spent: dict[IndexDef, float] = {}
            # The old items matter only to index rows, stream records and consumed capacity: read them only
            # then, all at once.
            need_old = not storage.writes_blind(table) or cap != "NONE"
            olds = await storage.load_many(conn, table, [key for key, _, _ in writes]) if need_old else {}
            changes = [(key, olds.get(key), item, size) for key, item, size in writes]
            await storage.write_many(conn, table, changes, now=now)
            if cap == "NONE":  # the item sizes are measured only when the capacity is asked for
                continue
            for key, item, size in writes:
                raw = olds.get(key)
                units += capacity.write_units(max(size, item_size(raw) if raw else 0))
                capacity.add_units(spent, capacity.index_write_units(table, raw, item))
            consumed.append(capacity.shape(cap, table.name, units, spent))
    out: dict[str, Any] = {"UnprocessedItems": {}}
    if consumed:
        out["ConsumedCapacity"] = consumed
    return out
