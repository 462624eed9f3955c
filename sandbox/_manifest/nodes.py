"""The parsed shape of an .arc document, with the line every value came from.

Both the .arc grammar and JSON/YAML manifests produce these, so that one set of pragma readers
serves every format; `to_plain` gives the object Architect's parser compiles to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sandbox.errors import ManifestError

Scalar = str | int | float | bool
ItemKind = Literal["scalar", "array", "vector", "map"]


@dataclass(frozen=True)
class MapEntry:
    """`key value…` inside a map; `listed` when the values came from four-space indented lines."""

    key: str
    values: tuple[Scalar, ...]
    texts: tuple[str, ...]  # the source text of each value (numbers keep their spelling)
    line: int | None
    listed: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def plain(self) -> Any:
        return list(self.values) if self.listed or len(self.values) != 1 else self.values[0]


@dataclass(frozen=True)
class Item:
    """One top-level line of a pragma, with its indented children for vectors and maps."""

    kind: ItemKind
    line: int | None
    values: tuple[Scalar, ...] = ()  # scalar: one value; array and vector: the values
    texts: tuple[str, ...] = ()
    name: str = ""  # vector and map: the name line
    entries: tuple[MapEntry, ...] = ()

    @property
    def head(self) -> str:
        """What names the item: the name of a vector/map, else the first value's text."""
        return self.name if self.kind in ("vector", "map") else self.texts[0]

    def entry(self, key: str) -> MapEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def plain(self) -> Any:
        if self.kind == "scalar":
            return self.values[0]
        if self.kind == "array":
            return list(self.values)
        if self.kind == "vector":
            return {self.name: list(self.values)}
        return {self.name: {e.key: e.plain() for e in self.entries}}


@dataclass(frozen=True)
class Section:
    name: str
    line: int | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class ArcDoc:
    path: Path
    sections: dict[str, Section]

    def get(self, pragma: str) -> Section | None:
        return self.sections.get(pragma)

    def error(self, line: int | None, problem: str) -> ManifestError:
        return ManifestError(self.path, line, problem)


def to_plain(doc: ArcDoc) -> dict[str, list[Any]]:
    return {name: [item.plain() for item in section.items] for name, section in doc.sections.items()}


# --- JSON / YAML manifests ----------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar(value: Any, path: Path, where: str) -> Scalar:
    if isinstance(value, str | int | float | bool):
        return value
    raise ManifestError(path, None, f"{where}: expected a string, number or boolean, got {type(value).__name__}")


def _scalars(values: list[Any], path: Path, where: str) -> tuple[tuple[Scalar, ...], tuple[str, ...]]:
    scalars = tuple(_scalar(v, path, where) for v in values)
    return scalars, tuple(_text(v) for v in scalars)


def _entry(key: str, value: Any, path: Path, where: str) -> MapEntry:
    listed = isinstance(value, list)
    values, texts = _scalars(value if listed else [value], path, f"{where} {key}")
    return MapEntry(key, values, texts, None, listed)


def _named_item(name: str, value: Any, path: Path, where: str) -> Item:
    if isinstance(value, list):
        values, texts = _scalars(value, path, f"{where} {name}")
        return Item("vector", None, values, texts, name=name)
    if isinstance(value, dict):
        entries = tuple(_entry(str(k), v, path, f"{where} {name}") for k, v in value.items())
        return Item("map", None, name=name, entries=entries)
    values, texts = _scalars([name, value], path, where)
    return Item("array", None, values, texts)


def _items(value: Any, path: Path, where: str) -> list[Item]:
    if value is None:  # YAML's `http:` with nothing under it
        return []
    if isinstance(value, dict):
        return [_named_item(str(k), v, path, where) for k, v in value.items()]
    if isinstance(value, list):
        return [item for element in value for item in _element(element, path, where)]
    values, texts = _scalars([value], path, where)
    return [Item("scalar", None, values, texts)]


def _element(element: Any, path: Path, where: str) -> list[Item]:
    if element == []:
        raise ManifestError(path, None, f"{where}: an empty list is not an item")
    if isinstance(element, list):
        values, texts = _scalars(element, path, where)
        return [Item("array", None, values, texts)]
    if isinstance(element, dict):
        return [_named_item(str(k), v, path, where) for k, v in element.items()]
    values, texts = _scalars([element], path, where)
    return [Item("scalar", None, values, texts)]


def from_plain(data: Any, path: Path) -> ArcDoc:
    """An ArcDoc from a JSON/YAML object shaped like Architect's compiled .arc (no line numbers)."""
    if not isinstance(data, dict):
        raise ManifestError(path, None, "the manifest must be an object of pragmas")
    if not data:
        raise ManifestError(path, None, "no pragma found; a manifest needs at least @app")
    sections = {}
    for name, value in data.items():
        where = f"@{name}"
        sections[str(name)] = Section(str(name), None, tuple(_items(value, path, where)))
    return ArcDoc(path, sections)
