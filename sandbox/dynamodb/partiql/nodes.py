"""The parsed form of a PartiQL statement. Parameters are already substituted: a `Literal` holds an
AttributeValue, whether the statement wrote it or a `?` stood for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

AttributeValue: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class Path:
    parts: tuple[str | int, ...]  # the first is always an attribute name

    @property
    def top(self) -> str:
        return str(self.parts[0])

    @property
    def simple(self) -> bool:
        return len(self.parts) == 1


@dataclass(frozen=True)
class Literal:
    value: AttributeValue


@dataclass(frozen=True)
class Size:
    path: Path


Operand: TypeAlias = Path | Literal | Size


@dataclass(frozen=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True)
class In:
    operand: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True)
class Is:
    path: Path
    what: str  # MISSING or NULL
    negated: bool


@dataclass(frozen=True)
class Call:
    name: str  # begins_with, contains, attribute_type
    args: tuple[Operand, ...]


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    inner: Condition


Condition: TypeAlias = Compare | Between | In | Is | Call | And | Or | Not


@dataclass(frozen=True)
class Arithmetic:
    op: str  # + or -
    left: Operand
    right: Operand


@dataclass(frozen=True)
class ListAppend:
    first: Operand
    second: Operand


SetValue: TypeAlias = Operand | Arithmetic | ListAppend


@dataclass(frozen=True)
class Target:
    table: str
    index: str | None = None


@dataclass(frozen=True)
class Select:
    target: Target
    projection: tuple[Path, ...] | None  # None: *
    where: Condition | None
    order: tuple[tuple[Path, bool], ...] = ()  # (path, descending)


@dataclass(frozen=True)
class Insert:
    target: Target
    item: AttributeValue  # an M value


@dataclass(frozen=True)
class Update:
    target: Target
    sets: tuple[tuple[Path, SetValue], ...]
    removes: tuple[Path, ...]
    adds: tuple[tuple[Path, Operand], ...]  # set_add
    deletes: tuple[tuple[Path, Operand], ...]  # set_delete
    where: Condition | None
    returning: str | None  # ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW


@dataclass(frozen=True)
class Delete:
    target: Target
    where: Condition | None
    returning: str | None


@dataclass(frozen=True)
class Exists:
    """`EXISTS(SELECT * FROM t WHERE ...)`: a condition check in a transaction."""

    select: Select


Statement: TypeAlias = Select | Insert | Update | Delete | Exists
