"""Tokenizer for DynamoDB's expression languages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.errors import ValidationError

_TOKEN = re.compile(
    r"\s*(?:(?P<op><>|<=|>=|=|<|>)|(?P<punct>[(),.\[\]+\-])|(?P<name>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)"
    r"|(?P<number>\d+(?![A-Za-z_]))|(?P<word>[A-Za-z][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # op punct name value number word end
    text: str
    at: int


def tokenize(text: str, label: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            bad = stripped[position:].strip()[:1]
            raise ValidationError(f'Invalid {label}: Syntax error; token: "{bad}", near: "{_near(stripped, position)}"')
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(Token("end", "<EOF>", len(stripped)))
    return tokens


def _near(text: str, position: int) -> str:
    return text[max(0, position - 5) : position + 5].strip()
