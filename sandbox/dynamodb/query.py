"""Query and Scan: request checks, the index range each one reads, and the response shape.

The filter runs on the page after it is read (ScannedCount counts what was read, Count what passed),
as DynamoDB does, and a GSI read sees only the attributes the index projects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from sandbox.dynamodb import capacity, composite_keys, storage
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.expressions import (
    Condition,
    KeyPlan,
    Names,
    Projection,
    documents,
    evaluate,
    key_condition_plan,
    project,
)
from sandbox.dynamodb.expressions.evaluate import begins_with, top_level_attributes
from sandbox.dynamodb.keys import begins_with_range, encode_key
from sandbox.dynamodb.legacy import translated_from, written_by_sandbox
from sandbox.dynamodb.operations import condition_of, projection_of
from sandbox.dynamodb.paging import Page, ReadPlan, read_page
from sandbox.dynamodb.request import WIRE, limit_of, names_for
from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.dynamodb.types import AttributeValue, Item, compare, validate_item
from sandbox.errors import ValidationError

SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")
PREFIX = "1 validation error detected: "
BAD_START = "The provided starting key is invalid: The provided key element does not match the schema"
LIVE = "(i.expires IS NULL OR i.expires > ?)"
BASE = "SELECT {order}, i.item, i.size FROM dynamo_items i"
GSI = (
    "SELECT {order}, i.item, i.size FROM dynamo_gsi g JOIN dynamo_items i "
    "ON i.table_id = {table} AND i.pk = g.pk AND i.sk = g.sk"
)
RANGE_SQL = {"EQ": "{c} = ?", "LT": "{c} < ?", "LE": "{c} <= ?", "GT": "{c} > ?", "GE": "{c} >= ?"}


def select_of(request: Mapping[str, Any], proj: Projection | None, index: IndexDef | None) -> str:
    select = request.get("Select")
    if select is None:
        return "SPECIFIC_ATTRIBUTES" if proj is not None else "ALL_ATTRIBUTES"
    if select not in SELECTS:
        raise ValidationError(
            f"{PREFIX}Value '{select}' at 'select' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(SELECTS)}]"
        )
    if select == "SPECIFIC_ATTRIBUTES" and proj is None:
        raise ValidationError(
            f"{PREFIX}Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"
        )
    if select != "SPECIFIC_ATTRIBUTES" and proj is not None:
        what = "only the Count" if select == "COUNT" else select
        param = "AttributesToGet" if translated_from(request, "AttributesToGet") else "ProjectionExpression"
        raise ValidationError(f"{PREFIX}Cannot specify the {param} when choosing to get {what}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
        raise ValidationError(f"{PREFIX}ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if select == "ALL_ATTRIBUTES" and index is not None and index.projection != "ALL" and not index.local:
        raise ValidationError(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global "
            f"secondary index {index.name} because its projection type is not ALL"
        )
    return str(select)


def _check_type(table: TableDef, name: str, value: AttributeValue) -> bytes:
    kind = next(iter(value))
    if kind != table.attribute_types[name]:
        raise ValidationError(
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        )
    if kind in ("S", "B") and value[kind] == "":
        raise ValidationError(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
            f"empty {'string' if kind == 'S' else 'binary'} value. Key: {name}"
        )
    return encode_key(value)


def sort_range(table: TableDef, column: str, name: str | None, plan: KeyPlan) -> tuple[list[str], list[Any]]:
    if plan.sort_op is None or name is None:
        return [], []
    values = [_check_type(table, name, v) for v in plan.sort_values]
    if plan.sort_op == "BETWEEN":
        return [f"{column} >= ?", f"{column} <= ?"], values
    if plan.sort_op == "BEGINS_WITH":
        low, high = begins_with_range(plan.sort_values[0])
        return ([f"{column} >= ?", f"{column} < ?"], [low, high]) if high else ([f"{column} >= ?"], [low])
    return [RANGE_SQL[plan.sort_op].format(c=column)], values


def start_key(table: TableDef, index: IndexDef | None, request: Mapping[str, Any]) -> Item | None:
    start = request.get("ExclusiveStartKey")
    if start is None:
        return None
    if not isinstance(start, dict):
        raise ValidationError(BAD_START)
    key = validate_item(start, param="ExclusiveStartKey")
    names = {*table.key_names(), *(index.key_names() if index else ())}
    if set(key) != names or any(next(iter(key[n])) != table.attribute_types[n] for n in names):
        raise ValidationError(BAD_START)
    return key


def _satisfies(value: AttributeValue, plan: KeyPlan) -> bool:
    """Whether a sort key value is inside the key condition's range."""
    if plan.sort_op is None:
        return True
    if plan.sort_op == "BEGINS_WITH":
        return begins_with(value, plan.sort_values[0])
    orders = [compare(value, bound) for bound in plan.sort_values]
    if any(order is None for order in orders):
        return False
    first = orders[0]
    assert first is not None
    checks = {"EQ": first == 0, "LT": first < 0, "LE": first <= 0, "GT": first > 0, "GE": first >= 0}
    if plan.sort_op == "BETWEEN":
        return first >= 0 and (orders[1] or 0) <= 0
    return checks[plan.sort_op]


def _index_position(index: IndexDef, key: Item, table: TableDef) -> tuple[bytes, ...]:
    ipos = storage.index_key(index, key)
    assert ipos is not None
    return (*ipos, *storage.row_key(table, key))


def query_plan(
    ctx: Context, table: TableDef, index: IndexDef | None, request: Mapping[str, Any], names: Names
) -> ReadPlan:
    text = request.get("KeyConditionExpression")
    if text == "":
        raise ValidationError("Invalid KeyConditionExpression: The expression can not be empty;")
    if not isinstance(text, str):
        raise ValidationError(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    schema: TableDef | IndexDef = index or table
    limited = not written_by_sandbox(request, "KeyConditionExpression")
    if index is not None and index.composite:
        cond = ctx.expressions.key_condition(text, limited=limited)
        partition, where, params = composite_keys.key_range(cond, names, index, lambda n, v: _check_type(table, n, v))
    else:
        plan = key_condition_plan(
            ctx.expressions.key_condition(text, limited=limited),
            names,
            partition_key=schema.partition_key,
            sort_key=schema.sort_key,
        )
        partition = _check_type(table, schema.partition_key, plan.partition_value)
    forward = request.get("ScanIndexForward", True) is not False
    start = start_key(table, index, request)
    if start is not None and index is None and table.sort_key is None:  # a partition of one item: nothing follows
        raise ValidationError(f"The provided exclusive start key is invalid: ExclusiveStartKey: {start}")
    if (
        start is not None
        and (_index_position(index, start, table) if index else storage.row_key(table, start))[0] != partition
    ):
        raise ValidationError("The provided starting key is outside query boundaries based on provided conditions")
    composite = index is not None and index.composite  # its key range was checked by composite_keys
    if (
        start is not None
        and schema.sort_key is not None
        and not composite
        and not _satisfies(start[schema.sort_key], plan)
    ):
        raise ValidationError("The provided starting key is outside query boundaries based on provided conditions")
    if index is None:
        where, params = sort_range(table, "i.sk", table.sort_key, plan)
        position: tuple[Any, ...] | None = None if start is None else (storage.row_key(table, start)[1],)
        return ReadPlan(
            BASE.format(order="i.sk"),
            ["i.table_id = ?", "i.pk = ?", *where, LIVE],
            [table.id, partition, *params, ctx.clock.now()],
            ("i.sk",),
            forward,
            position,
        )
    if not index.composite:
        where, params = sort_range(table, "g.gsk", index.sort_key, plan)
    order = ("g.gsk", "g.pk", "g.sk")
    position = None if start is None else _index_position(index, start, table)[1:]
    return ReadPlan(
        GSI.format(order=", ".join(order), table=table.id),
        ["g.index_id = ?", "g.gpk = ?", *where, LIVE],
        [index.id, partition, *params, ctx.clock.now()],
        order,
        forward,
        position,
    )


def _segment(request: Mapping[str, Any]) -> tuple[int, int] | None:
    segment, total = request.get("Segment"), request.get("TotalSegments")
    if segment is None and total is None:
        return None
    if total is None:
        raise ValidationError(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
        )
    if segment is None:
        raise ValidationError(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"
        )
    if not isinstance(total, int) or not 1 <= total <= 1_000_000:
        raise ValidationError(
            f"{PREFIX}Value '{total}' at 'totalSegments' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000000"
        )
    if not isinstance(segment, int) or not 0 <= segment < total:
        raise ValidationError("The Segment parameter is zero-based and must be less than parameter TotalSegments")
    return segment, total


def scan_plan(ctx: Context, table: TableDef, index: IndexDef | None, request: Mapping[str, Any]) -> ReadPlan:
    start = start_key(table, index, request)
    where = [LIVE]
    params: list[Any] = [ctx.clock.now()]
    seg = _segment(request)
    if seg is not None:
        # Segments are ranges of a hash of the partition key, so one partition never spans two segments.
        low, high = seg[0] * storage.BUCKETS // seg[1], (seg[0] + 1) * storage.BUCKETS // seg[1]
        where += ["i.bucket >= ?", "i.bucket < ?"]
        params += [low, high]
        if start is not None and not low <= storage.bucket(storage.row_key(table, start)[0]) < high:
            raise ValidationError("The provided Exclusive start key does not map to the provided segment")
    if index is None:
        position: tuple[Any, ...] | None = None if start is None else storage.row_key(table, start)
        return ReadPlan(
            BASE.format(order="i.pk, i.sk"),
            ["i.table_id = ?", *where],
            [table.id, *params],
            ("i.pk", "i.sk"),
            True,
            position,
        )
    order = ("g.gpk", "g.gsk", "g.pk", "g.sk")
    position = None if start is None else _index_position(index, start, table)
    return ReadPlan(
        GSI.format(order=", ".join(order), table=table.id),
        ["g.index_id = ?", *where],
        [index.id, *params],
        order,
        True,
        position,
    )


def _check_projected(table: TableDef, index: IndexDef, attributes: list[str]) -> None:
    """Asking a KEYS_ONLY or INCLUDE global index for an attribute it does not hold is an error, not
    nothing; a local index reads what it does not hold from the table."""
    if index.local:
        return
    held = {*table.key_names(), *index.key_names(), *index.non_key_attributes}
    missing = [name for name in attributes if name not in held]
    if missing:
        raise ValidationError(
            f"One or more parameter values were invalid: Global secondary index {index.name} does not project "
            f"[{', '.join(missing)}]"
        )


def _mark_used(names: Names, filt: Condition | None, proj: Projection | None) -> None:
    """Resolve every name and value the filter and projection mention, even if the page turns out empty."""
    if filt is not None:
        evaluate(filt, {}, names)
    if proj is not None:
        project(proj, {}, names)
    names.check_all_used()


async def _respond(
    ctx: Context,
    request: Mapping[str, Any],
    table: TableDef,
    index: IndexDef | None,
    plan: ReadPlan,
    names: Names,
    key_names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`key_names`: the attributes a Query's key condition reads, which its filter may not."""
    filt = condition_of(ctx, request, "FilterExpression")
    proj = projection_of(ctx, request)
    select = select_of(request, proj, index)
    cap = capacity.mode(request)
    limit = limit_of(request)
    _mark_used(names, filt, proj)
    if index is not None and index.projection != "ALL" and proj is not None:
        _check_projected(table, index, [str(documents.resolve(path, names)[0]) for path in proj.paths])
    if filt is not None and key_names:
        for attribute in top_level_attributes(filt, names):
            if attribute in key_names:
                raise ValidationError(
                    f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {attribute}"
                )
    # Items that go back exactly as stored (no filter, projection or index view) are passed through as
    # their stored JSON to a wire caller: no decoding and encoding again of every item.
    verbatim = request.get(WIRE) is True and filt is None and proj is None and select != "COUNT"
    verbatim = verbatim and (index is None or index.projection == "ALL")
    async with ctx.db.reading() as conn:
        page = await read_page(conn, plan, limit=limit, decode=not verbatim)
    if verbatim:
        out: dict[str, Any] = {"Items": [orjson.Fragment(text) for text in page.texts], "Count": page.count}
        return _finish(out, ctx, request, table, index, page, cap)
    # An LSI fetches what it does not project from the table (as DynamoDB does, at a cost); a GSI cannot.
    fetches = index is not None and index.local
    rows = [storage.index_view(table, index, item) for item in page.rows] if index and not fetches else page.rows
    kept = [item for item in rows if filt is None or evaluate(filt, item, names)]
    out = {}
    if select != "COUNT":
        if proj is not None:
            out["Items"] = [project(proj, item, names) for item in kept]
        elif index is not None and fetches and request.get("Select") != "ALL_ATTRIBUTES":  # default: projected
            out["Items"] = [storage.index_view(table, index, item) for item in kept]
        else:
            out["Items"] = kept
    out["Count"] = len(kept)
    return _finish(out, ctx, request, table, index, page, cap)


def _finish(
    out: dict[str, Any],
    ctx: Context,
    request: Mapping[str, Any],
    table: TableDef,
    index: IndexDef | None,
    page: Page,
    cap: str,
) -> dict[str, Any]:
    out["ScannedCount"] = page.count
    if page.more:
        out["LastEvaluatedKey"] = storage.key_of(table, page.rows[-1], index)
    units = capacity.read_units(page.sizes, consistent=bool(request.get("ConsistentRead")))
    entry = capacity.shape(cap, table.name, units, index_read=index)
    capacity.add(out, "ConsumedCapacity", entry)
    return out


def _target(ctx: Context, request: Mapping[str, Any]) -> tuple[TableDef, IndexDef | None]:
    table = ctx.catalog.get(request.get("TableName"))
    name = request.get("IndexName")
    index = table.index(name) if isinstance(name, str) else None
    if index is not None and not index.local and request.get("ConsistentRead"):
        raise ValidationError("Consistent reads are not supported on global secondary indexes")
    return table, index


async def query(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table, index = _target(ctx, request)
    names = names_for(request)
    plan = query_plan(ctx, table, index, request, names)
    return await _respond(ctx, request, table, index, plan, names, (index or table).key_names())


async def scan(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    table, index = _target(ctx, request)
    names = names_for(request)
    plan = scan_plan(ctx, table, index, request)
    return await _respond(ctx, request, table, index, plan, names)
