"""The parsed forms of every expression: immutable, cached by text, resolved through Names at use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

# A document path: attribute names (or #placeholders) and list indexes: a.b[2].c -> ("a", "b", 2, "c")
PathPart: TypeAlias = str | int


@dataclass(frozen=True)
class Path:
    parts: tuple[PathPart, ...]


@dataclass(frozen=True)
class Value:
    placeholder: str  # ":v"


@dataclass(frozen=True)
class Size:
    path: Path | Value  # size(:v) measures a value of the request


@dataclass(frozen=True)
class Call:
    """A function in an update's SET: list_append(a, b), if_not_exists(path, value)."""

    name: str
    args: tuple[Operand, ...]


@dataclass(frozen=True)
class Arithmetic:
    left: Operand
    op: str  # + -
    right: Operand


Operand: TypeAlias = Path | Value | Size | Call | Arithmetic


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class Between:
    subject: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True)
class In:
    subject: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True)
class Function:
    name: str  # attribute_exists attribute_not_exists attribute_type begins_with contains
    args: tuple[Operand, ...]


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND OR
    left: Node
    right: Node


Node: TypeAlias = Compare | Between | In | Function | Not | BoolOp


@dataclass(frozen=True)
class Placeholders:
    names: frozenset[str]
    values: frozenset[str]


@dataclass(frozen=True)
class Condition:
    root: Node
    placeholders: Placeholders
    label: str


@dataclass(frozen=True)
class SetAction:
    path: Path
    value: Operand


@dataclass(frozen=True)
class ValueAction:
    """ADD path :v or DELETE path :v."""

    path: Path
    value: Value


@dataclass(frozen=True)
class Update:
    sets: tuple[SetAction, ...]
    removes: tuple[Path, ...]
    adds: tuple[ValueAction, ...]
    deletes: tuple[ValueAction, ...]
    placeholders: Placeholders


@dataclass(frozen=True)
class Projection:
    paths: tuple[Path, ...]
    placeholders: Placeholders
