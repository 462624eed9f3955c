"""The .arc lexer: physical lines into indented lines of tokens (comments dropped, tabs = two spaces)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import ManifestError

RESERVED = frozenset("{}[]<>\\")
QUOTES = frozenset("\"'`")
# Architect only tries Number() on tokens starting with - or a digit, so ".5" stays a string.
NUMBER = re.compile(r"(-?\d+\.?\d*|-\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool

    @property
    def value(self) -> str | int | float | bool:
        if self.quoted:
            return self.text
        if self.text in ("true", "false"):
            return self.text == "true"
        if NUMBER.fullmatch(self.text):
            is_int = not any(c in self.text for c in ".eE")
            return int(self.text) if is_int else float(self.text)
        return self.text


@dataclass(frozen=True)
class Line:
    number: int
    indent: int
    tokens: tuple[Token, ...]


def _indent(raw: str) -> tuple[int, int]:
    """(width, index of the first non-blank character); a tab counts as two spaces."""
    width = 0
    for index, char in enumerate(raw):
        if char == " ":
            width += 1
        elif char == "\t":
            width += 2
        else:
            return width, index
    return width, len(raw)


class _LineLexer:
    def __init__(self, path: Path, number: int, raw: str) -> None:
        self.path, self.number, self.raw = path, number, raw

    def error(self, problem: str) -> ManifestError:
        return ManifestError(self.path, self.number, problem)

    def tokens(self, start: int) -> list[Token]:
        tokens: list[Token] = []
        pos = start
        raw = self.raw
        while pos < len(raw):
            char = raw[pos]
            if char in " \t":
                pos += 1
            elif char == "#":
                break
            elif char in QUOTES:
                pos = self._quoted(pos, tokens)
            else:
                pos = self._bare(pos, tokens)
        return tokens

    def _quoted(self, pos: int, tokens: list[Token]) -> int:
        quote = self.raw[pos]
        end = self.raw.find(quote, pos + 1)
        if end < 0:
            raise self.error(f"unterminated {quote}quoted{quote} string (close it on the same line)")
        tokens.append(Token(self.raw[pos + 1 : end], quoted=True))
        return end + 1

    def _bare(self, pos: int, tokens: list[Token]) -> int:
        start = pos
        raw = self.raw
        while pos < len(raw) and raw[pos] not in " \t#":
            if raw[pos] in RESERVED:
                raise self.error(f"reserved character {raw[pos]!r} (quote the value if you need it)")
            pos += 1
        tokens.append(Token(raw[start:pos], quoted=False))
        return pos


def lex(text: str, path: Path) -> list[Line]:
    """Non-blank lines with their indent width; CR, LF and CRLF all end a line."""
    lines: list[Line] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        width, start = _indent(raw)
        tokens = _LineLexer(path, number, raw).tokens(start)
        if tokens:
            lines.append(Line(number, width, tuple(tokens)))
    return lines
