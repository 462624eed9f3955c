"""The manifest loader: app.arc (or .arc, arc.json, arc.yaml, package.json) into a `model.Manifest`.

Pure apart from reading the project's files (and $AWS_REGION for the default region). Every problem
is a `ManifestError` located at file:line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sandbox._manifest import lambdas, project, schedules
from sandbox._manifest.functions import FunctionFactory
from sandbox._manifest.grammar import parse
from sandbox._manifest.nodes import ArcDoc, to_plain
from sandbox._manifest.prefs import load_prefs
from sandbox._manifest.routes import route_folder, sort_routes
from sandbox._manifest.sources import find_manifest
from sandbox._manifest.streams import tables_streams
from sandbox._manifest.tables import tables
from sandbox.errors import ManifestError
from sandbox.model import Manifest, StaticSpec

__all__ = ["KNOWN_PRAGMAS", "NOT_EMULATED", "load_manifest", "parse_arc", "route_folder", "sort_routes"]

KNOWN_PRAGMAS = [
    "app",
    "aws",
    "cdn",
    "create",
    "events",
    "http",
    "plugins",
    "proxy",
    "queues",
    "scheduled",
    "shared",
    "static",
    "tables",
    "tables-indexes",
    "tables-streams",
    "views",
    "ws",
]
RETIRED_ALIASES = ("indexes",)  # still read as @tables-indexes
# `@create autocreate` writes missing handlers on start in Architect; `arc-sandbox init` does it here.
NOT_EMULATED = ("plugins", "cdn", "create")
DEFAULT_APP = "app-default"


def parse_arc(text: str, path: Path | str = "app.arc") -> dict[str, list[Any]]:
    """The .arc grammar compiled as Architect's parser does: {pragma: [scalar | list | {name: [...]} | {name: {k: v}}]}."""
    return to_plain(parse(text, Path(path)))


def _check_pragmas(doc: ArcDoc) -> None:
    for name, section in doc.sections.items():
        if name not in KNOWN_PRAGMAS and name not in RETIRED_ALIASES:
            known = " ".join(f"@{p}" for p in KNOWN_PRAGMAS)
            raise doc.error(section.line, f"unknown pragma @{name} (known: {known})")


def _default(root: Path, home: Path) -> Manifest:
    return Manifest(
        app=DEFAULT_APP,
        root=root,
        source=None,
        static=StaticSpec(),
        shared_dir=_existing(root / "src" / "shared"),
        views_dir=_existing(root / "src" / "views"),
        prefs=load_prefs(root, home),
    )


def _existing(folder: Path) -> Path | None:
    return folder.resolve() if folder.is_dir() else None


def _build(doc: ArcDoc, root: Path, home: Path) -> Manifest:
    _check_pragmas(doc)
    app = project.app_name(doc)
    aws = project.aws_settings(doc, os.environ)
    factory = FunctionFactory(doc, root, aws)
    table_specs, streams = tables_streams(doc, factory, tables(doc))
    return Manifest(
        app=app,
        root=root,
        source=doc.path,
        aws=aws,
        http=lambdas.http_routes(doc, factory, project.views_routes(doc)),
        events=lambdas.events(doc, factory),
        queues=lambdas.queues(doc, factory),
        scheduled=schedules.scheduled(doc, factory),
        tables=table_specs,
        tables_streams=streams,
        ws=lambdas.ws(doc, factory),
        proxy=project.proxy_urls(doc),
        static=project.static_spec(doc),
        shared_dir=project.code_dir(doc, root, "shared"),
        views_dir=project.code_dir(doc, root, "views"),
        prefs=load_prefs(root, home),
        not_emulated=_not_emulated(doc),
    )


def _not_emulated(doc: ArcDoc) -> tuple[str, ...]:
    return tuple(p for p in NOT_EMULATED if p in doc.sections)


def load_manifest(app_dir: Path, *, home: Path | None = None) -> Manifest:
    """Read the project in `app_dir`; `home` holds the global prefs.arc (default: the user's home folder)."""
    root = Path(app_dir).resolve()
    if not root.is_dir():
        raise ManifestError(root, None, "the project folder does not exist")
    home = Path.home() if home is None else home
    doc = find_manifest(root)
    return _default(root, home) if doc is None else _build(doc, root, home)
