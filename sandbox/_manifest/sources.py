"""Finding and reading manifest-shaped files: .arc, JSON, YAML and package.json (reference §1.1)."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

from sandbox._manifest.grammar import parse
from sandbox._manifest.nodes import ArcDoc, from_plain
from sandbox.errors import ManifestError

MANIFESTS = ("app.arc", ".arc", "arc.json", "arc.yaml", "arc.yml")
FUNCTION_CONFIGS = (
    "config.arc",
    ".arc-config",
    "arc.json",
    "arc-config.json",
    "config.yaml",
    "config.yml",
    "arc-config.yaml",
    "arc-config.yml",
)
PREFS = ("preferences.arc", "prefs.arc", ".preferences.arc", ".prefs.arc")


def first_existing(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of `names` that is a file in `folder`; one directory read instead of a stat per name."""
    try:
        with os.scandir(folder) as entries:
            present = {e.name for e in entries if e.name in names and e.is_file()}
    except OSError:
        return None
    return next((folder / n for n in names if n in present), None)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError(path, None, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise ManifestError(path, None, f"cannot read: {error.strerror}") from None


def _json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise ManifestError(path, error.lineno, f"invalid JSON: {error.msg} (column {error.colno})") from None


def _yaml(path: Path) -> Any:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise ManifestError(path, None, "reading YAML needs PyYAML: `pip install pyyaml` (or use app.arc)") from None
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ManifestError(path, line, f"invalid YAML: {getattr(error, 'problem', None) or error}") from None


def read_doc(path: Path) -> ArcDoc:
    """Any manifest-shaped file, chosen by its name: .json, .yaml/.yml, else the .arc grammar."""
    if path.suffix == ".json":
        return from_plain(_json(path), path)
    if path.suffix in (".yaml", ".yml"):
        return from_plain(_yaml(path), path)
    return parse(read_text(path), path)


def package_json_doc(root: Path) -> ArcDoc | None:
    """The `arc` (or `architect`) key of package.json, if there is one."""
    path = root / "package.json"
    if not path.is_file():
        return None
    data = _json(path)
    if not isinstance(data, dict):
        return None
    for key in ("arc", "architect"):
        if key in data:
            return from_plain(data[key], path)
    return None


def find_manifest(root: Path) -> ArcDoc | None:
    found = first_existing(root, MANIFESTS)
    return read_doc(found) if found else package_json_doc(root)
