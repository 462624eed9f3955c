"""Reading `key value` settings out of a section and checking their values, with the line to blame."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sandbox._manifest.nodes import ArcDoc, Item, MapEntry, Scalar, Section

LOOSE_NAME = re.compile(r"[a-zA-Z0-9][\w.-]*")


@dataclass(frozen=True)
class Setting:
    """One setting line: `key v1 v2`, a `key` vector, or a `key` map (see `item.entries`)."""

    key: str
    item: Item

    @property
    def line(self) -> int | None:
        return self.item.line

    @property
    def values(self) -> tuple[Scalar, ...]:
        return self.item.values[1:] if self.item.kind in ("array", "scalar") else self.item.values

    @property
    def texts(self) -> tuple[str, ...]:
        return self.item.texts[1:] if self.item.kind in ("array", "scalar") else self.item.texts


def settings(doc: ArcDoc, section: Section | None) -> dict[str, Setting]:
    found: dict[str, Setting] = {}
    for item in section.items if section else ():
        key = item.head
        if key in found:
            raise doc.error(item.line, f"@{section.name if section else ''} {key!r} is set twice")
        found[key] = Setting(key, item)
    return found


Located = Setting | MapEntry


def one(doc: ArcDoc, where: Located, what: str) -> Scalar:
    """The single value of a setting or map entry."""
    if len(where.values) != 1:
        raise doc.error(where.line, f"{what} takes one value, got {len(where.values)}")
    return where.values[0]


def boolean(doc: ArcDoc, where: Located, what: str) -> bool:
    value = one(doc, where, what)
    if not isinstance(value, bool):
        raise doc.error(where.line, f"{what} must be true or false, not {value!r}")
    return value


def positive_number(doc: ArcDoc, where: Located, what: str) -> float:
    value = one(doc, where, what)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise doc.error(where.line, f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


def integer(doc: ArcDoc, where: Located, what: str, low: int, high: int) -> int:
    value = one(doc, where, what)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise doc.error(where.line, f"{what} must be a whole number from {low} to {high}, not {value!r}")
    return value


def text(doc: ArcDoc, where: Located, what: str) -> str:
    value = one(doc, where, what)
    if not isinstance(value, str) or not value:
        raise doc.error(where.line, f"{what} must be text, not {value!r}")
    return value


def name(doc: ArcDoc, item: Item, what: str) -> str:
    """A Lambda-ish name (event, queue, schedule): also a folder name, so no slashes or spaces."""
    if item.kind == "array":
        raise doc.error(item.line, f"{what} {' '.join(item.texts)!r}: expected one name per line")
    head = item.head
    if not LOOSE_NAME.fullmatch(head):
        raise doc.error(
            item.line, f"bad {what} {head!r} (letters, digits, - _ . only, starting with a letter or digit)"
        )
    return head


def first_on(line: int | None) -> str:
    """ " (first on line N)" for duplicate errors; JSON manifests have no lines to point at."""
    return f" (first on line {line})" if line else ""


def unknown(doc: ArcDoc, where: Located, what: str, known: tuple[str, ...]) -> Exception:
    key = where.key
    return doc.error(where.line, f"unknown {what} setting {key!r} (known: {', '.join(known)})")
