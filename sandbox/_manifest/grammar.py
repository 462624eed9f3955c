"""The .arc parser: lexed lines into pragma sections of scalars, arrays, vectors and maps."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox._manifest.lexer import Line, lex
from sandbox._manifest.nodes import ArcDoc, Item, ItemKind, MapEntry, Section
from sandbox.errors import ManifestError

PRAGMA_NAME = re.compile(r"[a-zA-Z0-9_-]+")


class _Parser:
    def __init__(self, lines: list[Line], path: Path) -> None:
        self.lines, self.path, self.pos = lines, path, 0

    def error(self, line: Line | int | None, problem: str) -> ManifestError:
        number = line.number if isinstance(line, Line) else line
        return ManifestError(self.path, number, problem)

    def parse(self) -> ArcDoc:
        sections: dict[str, Section] = {}
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not self._is_pragma(line):
                problem = "expected a @pragma line first" if not sections else "bad indentation"
                raise self.error(line, f"{problem}: {line.tokens[0].text!r}")
            section = self._section(line)
            if section.name in sections:
                first = sections[section.name].line
                raise self.error(line, f"@{section.name} is already defined (line {first}); a pragma may appear once")
            sections[section.name] = section
        if not sections:
            raise self.error(None, "no @pragma found; a manifest starts with a line like @app")
        return ArcDoc(self.path, sections)

    @staticmethod
    def _is_pragma(line: Line) -> bool:
        first = line.tokens[0]
        return line.indent == 0 and not first.quoted and first.text.startswith("@")

    def _section(self, line: Line) -> Section:
        name = line.tokens[0].text[1:]
        if not PRAGMA_NAME.fullmatch(name):
            raise self.error(line, f"bad pragma name {line.tokens[0].text!r} (letters, digits, - and _ only)")
        items: list[Item] = []
        if len(line.tokens) > 1:  # `@static false` written on one line
            rest = line.tokens[1:]
            kind: ItemKind = "scalar" if len(rest) == 1 else "array"
            items.append(Item(kind, line.number, tuple(t.value for t in rest), tuple(t.text for t in rest)))
        self.pos += 1
        while self.pos < len(self.lines) and not self._is_pragma(self.lines[self.pos]):
            items.append(self._item())
        return Section(name, line.number, tuple(items))

    def _children(self) -> list[Line]:
        children: list[Line] = []
        while self.pos < len(self.lines) and self.lines[self.pos].indent > 0:
            children.append(self.lines[self.pos])
            self.pos += 1
        return children

    def _item(self) -> Item:
        line = self.lines[self.pos]
        if line.indent != 0:
            raise self.error(line, f"bad indentation: {line.tokens[0].text!r} is indented but follows no name")
        self.pos += 1
        children = self._children()
        values = tuple(t.value for t in line.tokens)
        texts = tuple(t.text for t in line.tokens)
        if not children:
            return Item("scalar" if len(values) == 1 else "array", line.number, values, texts)
        if len(values) > 1:
            raise self.error(
                children[0],
                f"bad indentation: {' '.join(texts)!r} has several values, so it cannot have indented lines under it",
            )
        for child in children:
            if child.indent not in (2, 4):
                raise self.error(child, f"bad indentation: indent by two spaces (found {child.indent})")
        if children[0].indent != 2:
            raise self.error(children[0], "bad indentation: the first line under a name is indented two spaces")
        if any(c.indent == 4 or len(c.tokens) > 1 for c in children):
            return Item("map", line.number, name=texts[0], entries=self._entries(texts[0], children))
        vector = tuple(c.tokens[0] for c in children)
        return Item("vector", line.number, tuple(t.value for t in vector), tuple(t.text for t in vector), texts[0])

    def _entries(self, name: str, children: list[Line]) -> tuple[MapEntry, ...]:
        entries: list[MapEntry] = []
        index = 0
        while index < len(children):
            line = children[index]
            nested: list[Line] = []
            index += 1
            while index < len(children) and children[index].indent == 4:
                nested.append(children[index])
                index += 1
            entries.append(self._entry(name, line, nested, entries))
        return tuple(entries)

    def _entry(self, name: str, line: Line, nested: list[Line], seen: list[MapEntry]) -> MapEntry:
        key, rest = line.tokens[0], line.tokens[1:]
        if any(e.key == key.text for e in seen):
            raise self.error(line, f"{key.text!r} is set twice in {name!r}")
        if rest and nested:
            raise self.error(nested[0], f"bad indentation: {key.text!r} already has a value on its line")
        if not rest and not nested:
            raise self.error(line, f"{key.text!r} in {name!r} has no value")
        tokens = rest or tuple(t for n in nested for t in n.tokens)
        values = tuple(t.value for t in tokens)
        return MapEntry(key.text, values, tuple(t.text for t in tokens), line.number, listed=bool(nested))


def parse(text: str, path: Path) -> ArcDoc:
    return _Parser(lex(text, path), path).parse()
