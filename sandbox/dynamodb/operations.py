"""The single-item operations: PutItem, GetItem, DeleteItem, UpdateItem.

Each one validates the whole request before it touches data, then reads the current item, checks
the condition and writes inside one `db.transaction()`, so a failed check or a bad request changes
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.dynamodb import capacity, storage
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.expressions import (
    Condition,
    Names,
    Projection,
    Update,
    apply_update,
    check_update,
    evaluate,
    project,
    project_paths,
    updated_paths,
)
from sandbox.dynamodb.expressions.nodes import PathPart
from sandbox.dynamodb.expressions.update import BAD_OPERAND, WRONG_TYPE
from sandbox.dynamodb.legacy import translated_from, written_by_sandbox
from sandbox.dynamodb.request import (
    check_item_keys,
    check_key,
    check_size,
    names_for,
    on_failure_returns_old,
    return_values,
)
from sandbox.dynamodb.schema import TableDef
from sandbox.dynamodb.types import Item, item_size, validate_item
from sandbox.errors import ConditionalCheckFailedError, ValidationError

UPDATE_RETURNS = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")
TYPE_ERRORS = (BAD_OPERAND, WRONG_TYPE + "list_append")


def condition_of(ctx: Context, request: Mapping[str, Any], param: str = "ConditionExpression") -> Condition | None:
    text = request.get(param)
    if text is None:
        return None
    if not isinstance(text, str) or not text:
        raise ValidationError(f"Invalid {param}: The expression can not be empty;")
    limited = not written_by_sandbox(request, param)
    if param == "FilterExpression":  # same language, but errors name the parameter
        return ctx.expressions.filter(text, limited=limited)
    return ctx.expressions.condition(text, limited=limited)


def projection_of(ctx: Context, request: Mapping[str, Any]) -> Projection | None:
    text = request.get("ProjectionExpression")
    if text is None:
        return None
    if not isinstance(text, str) or not text:
        raise ValidationError("Invalid ProjectionExpression: The expression can not be empty;")
    return ctx.expressions.projection(text, limited=not written_by_sandbox(request, "ProjectionExpression"))


def check_condition(cond: Condition | None, old: Item | None, names: Names, *, return_old: bool) -> None:
    """Evaluate, then insist every name and value was used (DynamoDB reports that before a failed check)."""
    ok = cond is None or evaluate(cond, old, names)
    names.check_all_used()
    if not ok:
        returned: dict[str, object] | None = dict(old) if return_old and old is not None else None
        raise ConditionalCheckFailedError(item=returned)


async def put_item(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    item = validate_item(request.get("Item"), param="Item")
    check_item_keys(table, item)
    size = item_size(item)
    check_size(size)
    returns = return_values(request, ("NONE", "ALL_OLD"))
    cap = capacity.mode(request)
    cond = condition_of(ctx, request)
    names = names_for(request)
    return_old = on_failure_returns_old(request)
    key = storage.row_key(table, item)
    # The common blind put needs nothing of the old item: one statement, one trip to the database thread.
    blind = cond is None and returns == "NONE" and cap == "NONE" and storage.writes_blind(table)
    if blind:
        names.check_all_used()
        await storage.write_blind(ctx.db, table, key, item, size)
        return {}
    async with ctx.db.transaction() as conn:
        raw, expires = await storage.load(conn, table, *key)
        now = ctx.clock.now()
        old = storage.live(raw, expires, now)
        check_condition(cond, old, names, return_old=return_old)
        await storage.write(conn, table, key, raw, item, size, now=now)
    out: dict[str, Any] = {}
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    _spend_writes(out, cap, table, size, old, (raw, item))
    return out


async def get_item(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    key = check_key(table, request.get("Key"))
    proj = projection_of(ctx, request)
    names = names_for(request)
    cap = capacity.mode(request)
    if proj is not None:
        project(proj, {}, names)  # records the names the projection uses, item or not
    names.check_all_used()
    pk, sk = storage.row_key(table, key)
    item = await storage.load_now(ctx.db, table, pk, sk, ctx.clock.now())
    out: dict[str, Any] = {}
    if item is not None:
        out["Item"] = project(proj, item, names) if proj is not None else item
    if cap != "NONE":
        units = capacity.read_units(item_size(item) if item else 0, consistent=bool(request.get("ConsistentRead")))
        capacity.add(out, "ConsumedCapacity", capacity.shape(cap, table.name, units))
    return out


async def delete_item(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    key = check_key(table, request.get("Key"))
    returns = return_values(request, ("NONE", "ALL_OLD"))
    cap = capacity.mode(request)
    cond = condition_of(ctx, request)
    names = names_for(request)
    return_old = on_failure_returns_old(request)
    row = storage.row_key(table, key)
    async with ctx.db.transaction() as conn:
        raw, expires = await storage.load(conn, table, *row)
        now = ctx.clock.now()
        old = storage.live(raw, expires, now)
        check_condition(cond, old, names, return_old=return_old)
        if raw is not None:
            await storage.remove(conn, table, row, raw, now=now)
    out: dict[str, Any] = {}
    if returns == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    _spend_writes(out, cap, table, 0, old, (raw, None))
    return out


def _returned(returns: str, old: Item | None, new: Item, touched: list[tuple[PathPart, ...]]) -> Item | None:
    """UPDATED_* give what is at each updated path, not the whole top-level attribute: after
    `SET a.b = :v`, `{"a": {"M": {"b": ...}}}`; a path the update removed has nothing new to give."""
    if returns == "ALL_OLD":
        return old
    if returns == "ALL_NEW":
        return new
    if returns == "UPDATED_OLD":
        return project_paths(touched, old) if old else None
    if returns == "UPDATED_NEW":
        return project_paths(touched, new)
    return None


async def update_item(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table = ctx.catalog.get(request.get("TableName"))
    key = check_key(table, request.get("Key"))
    returns = return_values(request, UPDATE_RETURNS)
    cap = capacity.mode(request)
    text = request.get("UpdateExpression")
    if text is not None and (not isinstance(text, str) or not text):
        raise ValidationError("Invalid UpdateExpression: The expression can not be empty;")
    limited = not written_by_sandbox(request, "UpdateExpression")
    update = ctx.expressions.update(text, limited=limited) if text else None
    cond = condition_of(ctx, request)
    names = names_for(request)
    return_old = on_failure_returns_old(request)
    row = storage.row_key(table, key)
    async with ctx.db.transaction() as conn:
        raw, expires = await storage.load(conn, table, *row)
        now = ctx.clock.now()
        old = storage.live(raw, expires, now)
        # The condition before the update is worked out on the item, as DynamoDB does: `SET n = n + :one` under
        # `attribute_exists(pk)` on a missing item is a ConditionalCheckFailed, not the missing operand's error.
        if update is not None:
            check_update(update, names, key_attributes=table.key_names())
        check_condition(cond, old, names, return_old=return_old)
        try:
            new = updated_item(update, old or dict(key), names, exists=old is not None)
        except ValidationError as error:
            if translated_from(request, "AttributeUpdates") and error.message.startswith(TYPE_ERRORS):
                raise ValidationError("Type mismatch for attribute to update") from None
            raise
        check_item_keys(table, new)
        size = item_size(new)
        check_size(size, update=True)
        written = not creates_nothing(update, old)
        if written:
            await storage.write(conn, table, row, raw, new, size, now=now)
        else:
            new = {}
    touched = updated_paths(update, names) if update is not None else []
    out: dict[str, Any] = {}
    attributes = _returned(returns, old, new, touched)
    if attributes:
        out["Attributes"] = attributes
    _spend_writes(out, cap, table, size, old, (raw, new) if written else None)
    return out


def _spend_writes(
    out: dict[str, Any],
    cap: str,
    table: TableDef,
    size: int,
    old: Item | None,
    change: tuple[Item | None, Item | None] | None,
) -> None:
    """ConsumedCapacity of a one-item write, when asked for: the larger of the item's sizes before and
    after (`size`), and what the `change` (stored row before, item after; None: nothing written) spent
    on each index. The sizes are measured only here, so a write that asks for none pays nothing."""
    if cap == "NONE":
        return
    units = capacity.write_units(max(size, item_size(old) if old else 0))
    spent = capacity.index_write_units(table, *change) if change is not None else None
    capacity.add(out, "ConsumedCapacity", capacity.shape(cap, table.name, units, spent))


def updated_item(update: Any, base: Item, names: Names, *, exists: bool = True) -> Item:
    """The item after `update` (checked first with `check_update`), or a copy of `base` when there is none."""
    if update is None:
        return dict(base)
    return apply_update(update, base, names, exists=exists)


def creates_nothing(update: Update | None, old: Item | None) -> bool:
    """An update that only removes, on an item that does not exist, leaves it not existing."""
    return old is None and update is not None and not update.sets and not update.adds
