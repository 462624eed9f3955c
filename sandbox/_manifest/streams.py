"""@tables-streams and the legacy `stream true` under @tables into TableStreamSpec (§1.3)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sandbox._manifest import values as v
from sandbox._manifest.functions import FunctionFactory
from sandbox._manifest.nodes import ArcDoc, Item
from sandbox.model import TableSpec, TableStreamSpec

STREAM_KEYS = ("table", "src")


def _declared(doc: ArcDoc, tables: dict[str, TableSpec]) -> list[tuple[str, str, Item]]:
    """(name, table, item) of each @tables-streams line: `name` alone streams the table of that name."""
    section = doc.get("tables-streams")
    found: dict[str, tuple[str, str, Item]] = {}
    for item in section.items if section else ():
        name = v.name(doc, item, "table stream")
        if item.kind == "vector":
            raise doc.error(item.line, f"table stream {name!r}: expected `table <name>` / `src <dir>` lines under it")
        if name in found:
            raise doc.error(item.line, f"duplicate table stream {name!r}{v.first_on(found[name][2].line)}")
        for entry in item.entries:
            if entry.key not in STREAM_KEYS:
                raise v.unknown(doc, entry, f"@tables-streams {name}", STREAM_KEYS)
        table_entry = item.entry("table")
        table = v.text(doc, table_entry, "table") if table_entry is not None else name
        if table not in tables:
            known = ", ".join(tables) or "none"
            raise doc.error(item.line, f"table stream {name!r} reads unknown table {table!r} (tables: {known})")
        found[name] = (name, table, item)
    return list(found.values())


def _legacy(doc: ArcDoc) -> list[str]:
    """Tables marked `stream true`, Architect's older spelling of a stream function named after the table."""
    section = doc.get("tables")
    marked = []
    for item in section.items if section else ():
        entry = item.entry("stream") if item.kind == "map" else None
        if entry is not None and entry.values == (True,):
            marked.append(item.head)
    return marked


def tables_streams(
    doc: ArcDoc, factory: FunctionFactory, tables: tuple[TableSpec, ...]
) -> tuple[tuple[TableSpec, ...], tuple[TableStreamSpec, ...]]:
    """The stream functions, and the tables again with `stream` set on those that feed one."""
    by_name = {t.name: t for t in tables}
    found = []
    for name, table, item in _declared(doc, by_name):
        src_dir = factory.src_dir("tables-streams", name, item.entry("src"))
        found.append(TableStreamSpec(name, table, factory.build("tables-streams", name, src_dir).spec))
    streamed = {s.table for s in found}
    for table in _legacy(doc):
        if table in streamed:
            continue  # @tables-streams already names a function for it
        old = Path(factory.src_dir("tables", table, None))  # kept while the project still has that folder
        src_dir = old if old.is_dir() else factory.src_dir("tables-streams", table, None)
        found.append(TableStreamSpec(table, table, factory.build("tables-streams", table, src_dir).spec))
        streamed.add(table)
    marked = tuple(replace(t, stream=True) if t.name in streamed else t for t in tables)
    return marked, tuple(found)
