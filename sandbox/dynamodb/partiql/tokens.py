"""Tokenizer for DynamoDB's PartiQL: one pass over the statement, linear in its length."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.errors import ValidationError

MALFORMED = "Statement wasn't well formed, can't be processed: "
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<quoted>"(?:[^"]|"")*")
    |(?P<string>'(?:[^']|'')*')
    |(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<punct><<|>>|<=|>=|<>|!=|[=<>()\[\]{},.:*?+\-])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # quoted string number word punct end
    text: str  # for quoted and string: the content, escapes undone
    at: int

    def describe(self) -> str:
        if self.kind == "end":
            return "end of statement"
        shown = {"quoted": f'"{self.text}"', "string": f"'{self.text}'"}.get(self.kind, self.text)
        return f"{shown} at position {self.at + 1}"


def malformed(problem: str) -> ValidationError:
    return ValidationError(MALFORMED + problem)


def unsupported(what: str) -> ValidationError:
    """Valid PartiQL that DynamoDB may take but this sandbox does not translate."""
    return ValidationError(f"Unsupported PartiQL in this sandbox: {what}")


def tokenize(statement: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(statement):
        match = _TOKEN.match(statement, position)
        if match is None:
            text = statement[position : position + 10]
            if text[0] in "\"'":
                raise malformed(f"unterminated quoted text at position {position + 1}")
            raise malformed(f"unexpected character {text[0]!r} at position {position + 1}")
        kind = match.lastgroup or "space"
        text = match.group(kind)
        if kind == "quoted":
            text = text[1:-1].replace('""', '"')
        elif kind == "string":
            text = text[1:-1].replace("''", "'")
        if kind != "space":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(statement)))
    return tokens
