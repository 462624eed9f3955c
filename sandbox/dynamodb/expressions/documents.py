"""Reading and writing document paths (a.b[2].c) inside an item."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.dynamodb.expressions.names import Names
from sandbox.dynamodb.expressions.nodes import Path, PathPart
from sandbox.dynamodb.types import AttributeValue, Item
from sandbox.errors import ValidationError

INVALID_PATH = "The document path provided in the update expression is invalid for update"


def resolve(path: Path, names: Names) -> tuple[PathPart, ...]:
    return tuple(names.name(p) if isinstance(p, str) else p for p in path.parts)


def get(item: Item | None, parts: tuple[PathPart, ...]) -> AttributeValue | None:
    if item is None:
        return None
    first = parts[0]
    assert isinstance(first, str)
    current: AttributeValue | None = item.get(first)
    for part in parts[1:]:
        if current is None:
            return None
        if isinstance(part, int):
            items = current.get("L")
            current = items[part] if items is not None and part < len(items) else None
        else:
            members = current.get("M")
            current = members.get(part) if members is not None else None
    return current


def _container(item: Item, parts: tuple[PathPart, ...]) -> dict[str, Any]:
    """The map or list holding the last part; raises when the path does not lead to one."""
    holder: dict[str, Any] = item
    for depth, part in enumerate(parts[:-1]):
        found = holder.get(str(part)) if depth == 0 else _child(holder, part)
        if found is None:
            raise ValidationError(INVALID_PATH)
        holder = found
    return holder


def _child(value: AttributeValue, part: PathPart) -> AttributeValue | None:
    if isinstance(part, int):
        items = value.get("L")
        return items[part] if items is not None and part < len(items) else None
    members = value.get("M")
    return members.get(part) if members is not None else None


def put(item: Item, parts: tuple[PathPart, ...], value: AttributeValue) -> None:
    if len(parts) == 1:
        item[str(parts[0])] = value
        return
    holder = _container(item, parts)
    last = parts[-1]
    if isinstance(last, int):
        items: list[AttributeValue] | None = holder.get("L")
        if items is None:
            raise ValidationError(INVALID_PATH)
        if last < len(items):
            items[last] = value
        else:
            items.append(value)  # DynamoDB appends when the index is past the end
    else:
        members = holder.get("M")
        if members is None:
            raise ValidationError(INVALID_PATH)
        members[last] = value


def remove(item: Item, parts: tuple[PathPart, ...]) -> None:
    if len(parts) == 1:
        item.pop(str(parts[0]), None)
        return
    holder = _container(item, parts)  # a missing map or list on the way is an error, as on DynamoDB
    last = parts[-1]
    if isinstance(last, int):
        listed: list[AttributeValue] | None = holder.get("L")
        if listed is None:
            raise ValidationError(INVALID_PATH)
        if last < len(listed):
            del listed[last]
    else:
        members = holder.get("M")
        if members is None:
            raise ValidationError(INVALID_PATH)
        members.pop(last, None)  # a missing key or index: nothing to remove


def deep_copy(item: Item) -> Item:
    return copy.deepcopy(item)
