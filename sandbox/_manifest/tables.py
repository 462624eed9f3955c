"""@tables and @tables-indexes (alias @indexes) into TableSpec with their GSIs (§1.3, §4)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from sandbox._manifest import values as v
from sandbox._manifest.nodes import ArcDoc, Item, MapEntry
from sandbox.model import IndexSpec, KeyAttr, KeyType, TableSpec

TABLE_NAME = re.compile(r"[a-zA-Z0-9/\-._]{3,255}")
KEY = re.compile(r"(\*\*?)(string|number)?", re.IGNORECASE)
KEY_TYPES: dict[str, KeyType] = {"string": "S", "number": "N"}
IGNORED_TABLE_KEYS = ("encrypt", "PointInTimeRecovery", "PITR", "pitr", "stream")
Projection = Literal["ALL", "KEYS_ONLY", "INCLUDE"]


def _key(doc: ArcDoc, entry: MapEntry) -> tuple[int, KeyAttr] | None:
    """(1 for a partition key, 2 for a sort key, attribute) when the entry declares a key."""
    if len(entry.values) != 1 or not isinstance(entry.values[0], str) or not entry.text.startswith("*"):
        return None
    match = KEY.fullmatch(entry.text)
    if match is None:
        raise doc.error(
            entry.line, f"bad key type {entry.text!r} for {entry.key!r}: use *String, *Number, **String or **Number"
        )
    key_type = KEY_TYPES[(match[2] or "string").lower()]
    return len(match[1]), KeyAttr(entry.key, key_type)


def _keys(doc: ArcDoc, item: Item, what: str) -> tuple[KeyAttr, KeyAttr | None, list[MapEntry]]:
    """The partition key, the sort key and the entries that are not keys."""
    found: dict[int, KeyAttr] = {}
    rest = []
    for entry in item.entries:
        key = _key(doc, entry)
        if key is None:
            rest.append(entry)
            continue
        kind, attr = key
        if kind in found:
            label = "partition key (*)" if kind == 1 else "sort key (**)"
            raise doc.error(entry.line, f"{what} has two {label}s: {found[kind].name!r} and {attr.name!r}")
        found[kind] = attr
    if 1 not in found:
        raise doc.error(item.line, f"{what} has no partition key: add a line such as `id *String`")
    return found[1], found.get(2), rest


def _table(doc: ArcDoc, item: Item) -> TableSpec:
    name = item.head
    if not TABLE_NAME.fullmatch(name):
        raise doc.error(item.line, f"bad table name {name!r} (3-255 letters, digits, / - . _)")
    if item.kind != "map":
        raise doc.error(item.line, f"table {name!r} has no partition key: add an indented line such as `id *String`")
    partition, sort, rest = _keys(doc, item, f"table {name!r}")
    ttl = None
    for entry in rest:
        if entry.text.upper() == "TTL":
            ttl = entry.key
        elif entry.key not in IGNORED_TABLE_KEYS:
            raise doc.error(
                entry.line,
                f"table {name!r}: don't know {entry.key} {entry.text!r} (a key *String, **Number, "
                "an attribute marked TTL, encrypt, PITR or stream)",
            )
    return TableSpec(name, partition, sort, ttl_attribute=ttl)


def _tables(doc: ArcDoc) -> dict[str, tuple[TableSpec, int | None]]:
    section = doc.get("tables")
    found: dict[str, tuple[TableSpec, int | None]] = {}
    for item in section.items if section else ():
        table = _table(doc, item)
        if table.name in found:
            raise doc.error(item.line, f"duplicate table {table.name!r}{v.first_on(found[table.name][1])}")
        found[table.name] = (table, item.line)
    return found


def _projection(doc: ArcDoc, entry: MapEntry | None) -> tuple[Projection, tuple[str, ...]]:
    if entry is None:
        return "ALL", ()
    words = entry.texts
    if len(words) == 1 and words[0].lower() in ("all", "keys"):
        return ("ALL" if words[0].lower() == "all" else "KEYS_ONLY"), ()
    if any(w.lower() in ("all", "keys") for w in words):
        raise doc.error(entry.line, "projection is `all`, `keys` or a list of attribute names, not a mix")
    return "INCLUDE", tuple(words)


def _index(doc: ArcDoc, item: Item, tables: dict[str, tuple[TableSpec, int | None]]) -> IndexSpec:
    table = item.head
    if table not in tables:
        known = ", ".join(tables) or "none"
        raise doc.error(item.line, f"index on unknown table {table!r} (tables: {known})")
    if item.kind != "map":
        raise doc.error(item.line, f"index on {table!r} has no partition key: add a line such as `email *String`")
    partition, sort, rest = _keys(doc, item, f"index on {table!r}")
    entries = {e.key: e for e in rest}
    for entry in rest:
        if entry.key not in ("name", "projection"):
            raise v.unknown(doc, entry, f"index on {table!r}", ("name", "projection", "<attr> *String|**Number"))
    default = f"{partition.name}-{sort.name}-index" if sort else f"{partition.name}-index"
    name = v.text(doc, entries["name"], "index name") if "name" in entries else default
    projection, attrs = _projection(doc, entries.get("projection"))
    return IndexSpec(name, partition, sort, projection, attrs)


def tables(doc: ArcDoc) -> tuple[TableSpec, ...]:
    found = _tables(doc)
    if "tables-indexes" in doc.sections and "indexes" in doc.sections:
        raise doc.error(doc.sections["indexes"].line, "@indexes is the old name of @tables-indexes: use only one")
    section = doc.get("tables-indexes") or doc.get("indexes")
    for item in section.items if section else ():
        index = _index(doc, item, found)
        table, line = found[item.head]
        if any(i.name == index.name for i in table.indexes):
            raise doc.error(item.line, f"table {table.name!r} already has an index named {index.name!r}")
        found[item.head] = (replace(table, indexes=(*table.indexes, index)), line)
    return tuple(t for t, _ in found.values())
