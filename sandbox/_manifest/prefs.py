"""prefs.arc / preferences.arc (global, then local key by key) and .env (§1.7, §2.2)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox._manifest import values as v
from sandbox._manifest.nodes import ArcDoc, Item
from sandbox._manifest.sources import PREFS, first_existing, read_doc, read_text
from sandbox.errors import ManifestError
from sandbox.model import Ports, Prefs

ENVIRONMENTS = ("testing", "staging", "production")
ENV_KEY = re.compile(r"[a-zA-Z0-9_]+")
PORT_KEYS = {"http": "http", "events": "events", "queues": "events", "tables": "tables", "_arc": "internal"}
MAX_PORT = 65535


@dataclass
class _Scope:
    """What one prefs file sets; unset keys stay out so a local file overrides a global one key by key."""

    sandbox: dict[str, Any] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, dict[str, str]] = field(default_factory=dict)

    def merge(self, other: _Scope) -> None:
        self.sandbox.update(other.sandbox)
        self.ports.update(other.ports)
        for section, variables in other.env.items():
            self.env.setdefault(section, {}).update(variables)


def _ports(doc: ArcDoc, item: Item) -> dict[str, int]:
    ports: dict[str, int] = {}
    for entry in item.entries:
        if entry.key not in PORT_KEYS:
            raise v.unknown(doc, entry, "@sandbox ports", tuple(PORT_KEYS))
        port = v.integer(doc, entry, f"@sandbox ports {entry.key}", 0, MAX_PORT)
        service = PORT_KEYS[entry.key]
        if service in ports and ports[service] != port:
            raise doc.error(entry.line, "events and queues share one port: give them the same number")
        ports[service] = port
    return ports


def _sandbox(doc: ArcDoc, scope: _Scope) -> None:
    for key, setting in v.settings(doc, doc.get("sandbox")).items():
        if key == "env":
            env = v.one(doc, setting, "@sandbox env")
            if env not in ENVIRONMENTS:
                raise doc.error(setting.line, f"@sandbox env must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
            scope.sandbox["env"] = env
        elif key == "livereload":
            scope.sandbox["livereload"] = v.boolean(doc, setting, "@sandbox livereload")
        elif key == "seed-data":
            scope.sandbox["seed_data"] = v.text(doc, setting, "@sandbox seed-data")
        elif key == "ports":
            if setting.item.kind != "map":
                raise doc.error(setting.line, "@sandbox ports takes indented lines such as `  http 3333`")
            scope.ports.update(_ports(doc, setting.item))


def _env(doc: ArcDoc, scope: _Scope) -> None:
    section = doc.get("env")
    for item in section.items if section else ():
        name = item.head
        if name not in ENVIRONMENTS or item.kind == "array":
            raise doc.error(item.line, f"@env sections are {', '.join(ENVIRONMENTS)}, each with `KEY value` lines")
        if item.kind == "vector":
            raise doc.error(item.line, f"@env {name}: each line is `KEY value`")
        variables: dict[str, str] = {}
        for entry in item.entries:
            if not ENV_KEY.fullmatch(entry.key):
                raise doc.error(entry.line, f"bad variable name {entry.key!r} (letters, digits and _ only)")
            variables[entry.key] = entry.text
        scope.env[name] = variables


def _scope(folder: Path) -> _Scope:
    scope = _Scope()
    path = first_existing(folder, PREFS)
    if path is not None:
        doc = read_doc(path)
        _sandbox(doc, scope)
        _env(doc, scope)
    return scope


def dotenv_file(path: Path) -> dict[str, str]:
    """.env values; an unparsable line or a name without `=value` is an error naming the line."""
    from dotenv import dotenv_values  # here: only an app with a .env pays for importing it at start
    from dotenv.parser import parse_stream

    text = read_text(path)
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        # dotenv counts blank lines before a statement as part of it; point at the statement itself.
        line = binding.original.line + original[: len(original) - len(original.lstrip())].count("\n")
        if binding.error:
            raise ManifestError(path, line, f"cannot parse {original.strip()!r} (expected NAME=value)")
        if binding.key is not None and binding.value is None:
            raise ManifestError(path, line, f"{binding.key} has no value (write {binding.key}= for an empty one)")
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value or "" for key, value in values.items()}


def load_prefs(root: Path, home: Path) -> Prefs:
    scope = _scope(home) if home.resolve() != root.resolve() else _Scope()
    scope.merge(_scope(root))
    env_vars = scope.env
    dotenv = root / ".env"
    if dotenv.is_file():
        env_vars = {"testing": dotenv_file(dotenv)}  # .env replaces the whole @env block (Architect does too)
    return Prefs(
        ports=Ports(**scope.ports),
        env=scope.sandbox.get("env"),
        livereload=scope.sandbox.get("livereload", True),
        seed_data=scope.sandbox.get("seed_data"),
        env_vars=env_vars,
    )
