"""`@static fingerprint true`: public/static.json, the map of each static file to its fingerprinted name,
written as Architect's sandbox writes it (on start, and again when the static folder changes), and
the `${STATIC('file')}` placeholders ASAP fills in text files.

Locally files are served under their own names, as ASAP does in `testing`: a placeholder becomes the
plain path, and static.json is what a deploy would use.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

MANIFEST = "static.json"
ALWAYS_IGNORED = (".DS_Store", "node_modules", "readme.md", MANIFEST)
HASH_CHARS = 10
PLACEHOLDER = re.compile(rb"""\$\{(?:STATIC|arc\.static)\((['"])(.*?)\1\)\}""")

Outcome = Literal["written", "unchanged", "removed", "none"]


def fingerprinted_name(relative: str, body: bytes) -> str:
    """`css/site.css` -> `css/site-0123456789.css` (the first 10 hex digits of the file's SHA-1)."""
    digest = hashlib.sha1(body, usedforsecurity=False).hexdigest()[:HASH_CHARS]
    folder, _, name = relative.rpartition("/")
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    return f"{folder + '/' if folder else ''}{stem}-{digest}{dot}{suffix}"


def static_manifest(folder: Path, ignore: tuple[str, ...] = ()) -> dict[str, str]:
    patterns = (*ignore, *ALWAYS_IGNORED)
    found: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if not any(pattern in relative for pattern in patterns):  # substring matches, as Architect's
            found[relative] = fingerprinted_name(relative, path.read_bytes())
    return found


def sync_static_manifest(folder: Path, fingerprint: bool | str, ignore: tuple[str, ...] = ()) -> Outcome:
    """Write static.json when fingerprinting is on (only if it changed); remove it when off or `external`."""
    target = folder / MANIFEST
    if fingerprint is not True:
        if target.exists():
            target.unlink()
            return "removed"
        return "none"
    if not folder.is_dir():
        return "none"
    text = json.dumps(static_manifest(folder, ignore), indent=2) + "\n"
    if target.exists() and target.read_text() == text:
        return "unchanged"  # an unchanged file is not rewritten: the watcher would see it and come back
    target.write_text(text)
    return "written"


def fill_placeholders(body: bytes) -> bytes:
    """`${STATIC('app.js')}` and `${arc.static('/app.js')}` become the path itself (ASAP, locally)."""
    if b"${" not in body:
        return body
    return PLACEHOLDER.sub(lambda match: match.group(2), body)
