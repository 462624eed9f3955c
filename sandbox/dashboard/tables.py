"""The dashboard's view of @tables: list with counts and indexes, scan/query a page, get, put, delete.

Everything goes through `TableStore.call`, the same path as the DynamoDB port, so the dashboard
sees and writes exactly what the app does. Items travel as DynamoDB JSON or as plain JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from sandbox.dynamodb.types import item_from_python, item_to_python
from sandbox.errors import ResourceNotFoundError, ValidationError
from sandbox.model import Json
from sandbox.store import TableStore

Format = Literal["plain", "dynamo"]
MAX_PAGE = 200
DYNAMO_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
SORT_OPS = ("=", "<", "<=", ">", ">=", "begins_with", "between")


def to_plain(value: Any) -> Json:
    """A Python value from `item_to_python` as JSON: sets become sorted lists, bytes base64, Decimals numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set | frozenset):
        return sorted((to_plain(v) for v in value), key=str)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def render(item: Mapping[str, Any], fmt: Format) -> Json:
    return dict(item) if fmt == "dynamo" else to_plain(item_to_python(item))


def parse_item(item: Any, fmt: Format) -> dict[str, Any]:
    """An item from the dashboard or CLI, as DynamoDB JSON for the store."""
    if not isinstance(item, dict) or not item:
        raise ValidationError("the item must be a non-empty JSON object")
    if fmt == "dynamo":
        untyped = next((name for name, value in item.items() if not _typed_value(value)), None)
        if untyped is not None:
            raise ValidationError(
                f"{untyped!r} is not DynamoDB JSON: give each value with its type, "
                'e.g. {"S": "text"} or {"N": "1"}, or send the item as plain JSON'
            )
        return item
    # Plain numbers arrive as floats from JSON; re-read them as Decimals so 0.1 stays 0.1.
    exact = json.loads(json.dumps(item), parse_float=Decimal)
    return item_from_python(exact)


def _typed_value(value: Any) -> bool:
    """Whether `value` has DynamoDB JSON's shape, one type key; the store checks the rest."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in DYNAMO_TYPES


def checked_format(value: str | None) -> Format:
    if value in (None, "", "plain"):
        return "plain"
    if value == "dynamo":
        return "dynamo"
    raise ValidationError('format must be "plain" or "dynamo"')


class TablesView:
    def __init__(self, store: TableStore) -> None:
        self.store = store

    def physical(self, logical: str) -> str:
        name = self.store.logical_tables().get(logical)
        if name is None:
            raise ResourceNotFoundError(f"no @tables table named {logical!r}")
        return name

    def schema(self, logical: str) -> dict[str, Json]:
        """Keys, indexes and TTL attribute, from the store's catalog: no query, so a page of items is one read."""
        table = self.store.ctx.catalog.find(self.physical(logical))
        if table is None:
            raise ResourceNotFoundError(f"no @tables table named {logical!r}")
        return {
            "name": logical,
            "physical_name": table.name,
            "partition_key": table.partition_key,
            "sort_key": table.sort_key,
            "attribute_types": dict(table.attribute_types),
            "indexes": [
                {
                    "name": i.name,
                    "partition_key": i.partition_key,
                    "sort_key": i.sort_key,
                    "projection": i.projection,
                    "local": i.local,
                }
                for i in table.indexes
            ],
            "ttl_attribute": table.ttl_attribute,
        }

    async def describe(self, logical: str) -> dict[str, Json]:
        """The schema with the item count and size, as DescribeTable reports them."""
        schema = self.schema(logical)
        table = (await self.store.call("DescribeTable", {"TableName": schema["physical_name"]}))["Table"]
        return {**schema, "item_count": table["ItemCount"], "size_bytes": table["TableSizeBytes"]}

    async def list(self) -> list[dict[str, Json]]:
        return [await self.describe(name) for name in self.store.logical_tables()]

    async def page(self, logical: str, params: Mapping[str, str]) -> dict[str, Json]:
        """One page of a scan, or of a query when `pk` is given: {"items", "next", "count", "scanned"}."""
        fmt = checked_format(params.get("format"))
        request: dict[str, Any] = {"TableName": self.physical(logical), "Limit": _limit(params.get("limit"))}
        if params.get("index"):
            request["IndexName"] = params["index"]
        if params.get("start"):
            request["ExclusiveStartKey"] = _json_param(params["start"], "start")
        operation = "Scan"
        if params.get("pk") not in (None, ""):
            operation = "Query"
            request.update(self._key_condition(logical, params))
        if params.get("desc") in ("1", "true") and operation == "Query":
            request["ScanIndexForward"] = False
        answer = await self.store.call(operation, request)
        return {
            "operation": operation,
            "items": [render(i, fmt) for i in answer.get("Items", [])],
            "next": json.dumps(answer["LastEvaluatedKey"]) if "LastEvaluatedKey" in answer else None,
            "count": answer.get("Count", 0),
            "scanned": answer.get("ScannedCount", 0),
        }

    def _key_condition(self, logical: str, params: Mapping[str, str]) -> dict[str, Any]:
        info = self.schema(logical)
        pk, sk = info["partition_key"], info["sort_key"]
        if params.get("index"):
            index = next((i for i in info["indexes"] if i["name"] == params["index"]), None)
            if index is None:
                raise ValidationError(f"no index {params['index']!r} on table {logical!r}")
            pk, sk = index["partition_key"], index["sort_key"]
        types: dict[str, str] = info["attribute_types"]
        names = {"#pk": pk}
        values = {":pk": _typed(params["pk"], types.get(pk, "S"))}
        condition = "#pk = :pk"
        op = params.get("sk_op") or ""
        if op and params.get("sk") not in (None, ""):
            if sk is None:
                raise ValidationError("this table (or index) has no sort key")
            if op not in SORT_OPS:
                raise ValidationError(f"sort key condition must be one of {', '.join(SORT_OPS)}")
            names["#sk"] = sk
            values[":sk"] = _typed(params["sk"], types.get(sk, "S"))
            if op == "begins_with":
                condition += " AND begins_with(#sk, :sk)"
            elif op == "between":
                values[":sk2"] = _typed(params.get("sk2", ""), types.get(sk, "S"))
                condition += " AND #sk BETWEEN :sk AND :sk2"
            else:
                condition += f" AND #sk {op} :sk"
        return {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    async def get(self, logical: str, key: Any, fmt: Format) -> Json:
        answer = await self.store.call("GetItem", {"TableName": self.physical(logical), "Key": parse_item(key, fmt)})
        if "Item" not in answer:
            raise ResourceNotFoundError("no item with that key")
        return render(answer["Item"], fmt)

    async def put(self, logical: str, item: Any, fmt: Format, *, replaces: Any = None) -> Json:
        """Write an item; `replaces` (a key, same format) is deleted first when the edit changed the key."""
        table = self.physical(logical)
        wire = parse_item(item, fmt)
        if replaces:
            old_key = parse_item(replaces, fmt)
            info = self.schema(logical)
            new_key = {k: wire.get(k) for k in (info["partition_key"], info["sort_key"]) if k}
            if old_key != new_key:
                moves = [{"Delete": {"TableName": table, "Key": old_key}}, {"Put": {"TableName": table, "Item": wire}}]
                await self.store.call("TransactWriteItems", {"TransactItems": moves})
                return render(wire, fmt)
        await self.store.call("PutItem", {"TableName": table, "Item": wire})
        return render(wire, fmt)

    async def delete(self, logical: str, key: Any, fmt: Format) -> bool:
        answer = await self.store.call(
            "DeleteItem", {"TableName": self.physical(logical), "Key": parse_item(key, fmt), "ReturnValues": "ALL_OLD"}
        )
        return "Attributes" in answer


def _limit(raw: str | None) -> int:
    try:
        limit = int(raw or 50)
    except ValueError:
        raise ValidationError(f"limit must be a number, got {raw!r}") from None
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _json_param(raw: str, name: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationError(f"{name} is not JSON") from None


def _typed(text: str, kind: str) -> dict[str, str]:
    if kind == "N":
        try:
            Decimal(text)
        except ArithmeticError:
            raise ValidationError(f"{text!r} is not a number") from None
    return {kind: text}
