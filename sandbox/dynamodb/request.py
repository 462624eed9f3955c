"""Request checks every item operation shares: keys against the schema, sizes, ReturnValues, names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.dynamodb.expressions import Names
from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.dynamodb.types import Item, check_attribute_name, validate_item, validate_value, value_size
from sandbox.errors import SerializationError, ValidationError

MAX_ITEM_SIZE = 400 * 1024
MAX_PARTITION_KEY = 2048
MAX_SORT_KEY = 1024
KEY_SCHEMA_MISMATCH = "The provided key element does not match the schema"
INVALID = "One or more parameter values were invalid: "
# Set by the wire protocol on the requests it passes in: an answer for it may hold stored items as
# orjson.Fragment (their JSON as stored); in-process callers always get plain values.
WIRE = "__sandbox_wire"


def names_for(request: Mapping[str, Any]) -> Names:
    names = request.get("ExpressionAttributeNames")
    values = request.get("ExpressionAttributeValues")
    if names is not None and (not isinstance(names, dict) or not names):
        raise ValidationError("ExpressionAttributeNames must not be empty")
    if values is not None and (not isinstance(values, dict) or not values):
        raise ValidationError("ExpressionAttributeValues must not be empty")
    if names is not None:
        for key, name in names.items():
            if not isinstance(name, str):
                raise SerializationError(f"ExpressionAttributeNames.{key}: an attribute name is a string")
            check_attribute_name(name, f"ExpressionAttributeNames contains invalid value: {{problem}} for key {key}")
    checked = None
    if values is not None:
        checked = {k: validate_value(v, param=f"ExpressionAttributeValues.{k}") for k, v in values.items()}
    return Names(names, checked)


def _value_type(value: Mapping[str, Any]) -> str:
    return next(iter(value))


def _check_key_value(table: TableDef, name: str, value: Mapping[str, Any], *, in_item: bool) -> None:
    expected = table.attribute_types[name]
    actual = _value_type(value)
    if actual != expected:
        if not in_item:
            raise ValidationError(KEY_SCHEMA_MISMATCH)
        raise ValidationError(f"{INVALID}Type mismatch for key {name} expected: {expected} actual: {actual}")
    if actual in ("S", "B") and value[actual] == "":
        raise ValidationError(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
            f"empty {'string' if actual == 'S' else 'binary'} value. Key: {name}"
        )
    if actual != "N":
        size = value_size(dict(value))
        if name == table.partition_key and size > MAX_PARTITION_KEY:
            raise ValidationError(
                f"{INVALID}Size of hashkey has exceeded the maximum size limit of {MAX_PARTITION_KEY} bytes"
            )
        if name == table.sort_key and size > MAX_SORT_KEY:
            raise ValidationError(
                f"{INVALID}Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY} bytes"
            )


def check_key(table: TableDef, key: object, param: str = "Key") -> Item:
    """A Key parameter: exactly the table's key attributes, of the schema's types."""
    if not isinstance(key, dict):
        raise ValidationError(KEY_SCHEMA_MISMATCH)
    checked = validate_item(key, param=param)
    if set(checked) != set(table.key_names()):
        raise ValidationError(KEY_SCHEMA_MISMATCH)
    for name, value in checked.items():
        _check_key_value(table, name, value, in_item=False)
    return checked


def _check_index_keys(index: IndexDef, table: TableDef, item: Item) -> None:
    for name in index.key_names():
        value = item.get(name)
        if value is None:
            continue
        actual = _value_type(value)
        expected = table.attribute_types[name]
        if actual != expected:
            raise ValidationError(
                f"{INVALID}Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} "
                f"IndexName: {index.name}"
            )
        if actual in ("S", "B") and value[actual] == "":
            raise ValidationError(
                "One or more parameter values are not valid. A value specified for a secondary index key is not "
                "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
                f"IndexName: {index.name}, IndexKey: {name}"
            )
        if actual != "N":
            limit = MAX_PARTITION_KEY if name == index.partition_key else MAX_SORT_KEY
            if value_size(value) > limit:
                raise ValidationError(
                    f"{INVALID}Size of an index key has exceeded the size limit of {limit} bytes. "
                    f"IndexName: {index.name}, IndexKey: {name}"
                )


def check_item_keys(table: TableDef, item: Item) -> None:
    """A whole item about to be stored: key attributes present and typed, index keys typed when present."""
    for name in table.key_names():
        if name not in item:
            raise ValidationError(f"{INVALID}Missing the key {name} in the item")
        _check_key_value(table, name, item[name], in_item=True)
    for index in table.indexes:
        _check_index_keys(index, table, item)


def check_size(size: int, *, update: bool = False) -> None:
    if size > MAX_ITEM_SIZE:
        what = "Item size to update" if update else "Item size"
        raise ValidationError(f"{what} has exceeded the maximum allowed size")


def return_values(request: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    value = request.get("ReturnValues") or "NONE"
    if value not in allowed:
        raise ValidationError("Return values set to invalid value")
    return str(value)


def on_failure_returns_old(request: Mapping[str, Any]) -> bool:
    value = request.get("ReturnValuesOnConditionCheckFailure") or "NONE"
    if value not in ("NONE", "ALL_OLD"):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'returnValuesOnConditionCheckFailure' failed to satisfy "
            "constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        )
    return value == "ALL_OLD"


def limit_of(request: Mapping[str, Any]) -> int | None:
    limit = request.get("Limit")
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        )
    return limit
