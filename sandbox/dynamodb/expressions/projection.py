"""ProjectionExpression: keep only the named paths, in the item's own structure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.dynamodb.expressions import documents
from sandbox.dynamodb.expressions.names import Names
from sandbox.dynamodb.expressions.nodes import PathPart, Projection
from sandbox.dynamodb.expressions.update import check_overlaps
from sandbox.dynamodb.types import Item

LABEL = "ProjectionExpression"


def project(proj: Projection, item: Item, names: Names) -> Item:
    first = names.first_use(proj)
    if first:
        names.use(proj.placeholders, LABEL)
    resolved = [documents.resolve(path, names) for path in proj.paths]
    if first:
        check_overlaps(resolved, LABEL)
    return project_paths(resolved, item)


def project_paths(paths: Iterable[tuple[PathPart, ...]], item: Item) -> Item:
    """What `item` holds at `paths`, each inside the maps and lists that lead to it; missing paths are left out."""
    out: dict[Any, Any] = {}
    for parts in paths:
        value = documents.get(item, parts)
        if value is not None:
            _place(out, parts, value)
    return _finish(out)


def _place(out: dict[Any, Any], parts: tuple[PathPart, ...], value: Any) -> None:
    """Build a sparse tree; list indexes are kept as dict keys and compacted by _finish."""
    holder = out
    for part in parts[:-1]:
        holder = holder.setdefault(part, {})
    holder[parts[-1]] = ("leaf", value)


def _finish(tree: dict[Any, Any]) -> Item:
    return {str(k): _value(v) for k, v in tree.items()}


def _value(node: Any) -> Any:
    if isinstance(node, tuple):
        return node[1]
    if node and all(isinstance(k, int) for k in node):
        return {"L": [_value(node[k]) for k in sorted(node)]}  # projected list elements, in order, compacted
    return {"M": {str(k): _value(v) for k, v in node.items()}}
