"""Static files: mapping a URL path to a file inside the static folder, and the response for it.

The mapping never leaves the folder: every segment is decoded and checked before it touches the
file system, and the final path is resolved (symlinks followed) and must still be inside.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from urllib.parse import unquote

from sandbox.apigateway import pages
from sandbox.apigateway.fingerprint import fill_placeholders
from sandbox.apigateway.types import HttpResponse

NOT_FOUND_PAGE = "404.html"
_FORBIDDEN = ("/", "\\", "\x00")  # in a decoded segment: an encoded separator or a NUL
_TEXT_TYPES = ("application/javascript", "application/json", "application/xml", "image/svg+xml")


def _segments(url_path: str) -> list[str] | None:
    """The decoded path segments, or None if any of them could escape the folder."""
    if "\\" in url_path or "\x00" in url_path:
        return None
    segments: list[str] = []
    for raw in url_path.split("/"):
        segment = unquote(raw, errors="strict") if "%" in raw else raw
        if segment == ".." or any(bad in segment for bad in _FORBIDDEN):
            return None
        if segment and segment != ".":
            segments.append(segment)
    return segments


def _candidate(root: Path, segments: list[str], url_path: str, *, spa: bool, index: str) -> Path:
    path = root.joinpath(*segments)
    if not segments or url_path.endswith("/") or path.is_dir():
        return path / index
    if path.is_file() or Path(segments[-1]).suffix:
        return path
    # an extensionless path is a folder (ASAP); with spa every folder path is the app's index
    return root / index if spa else path / index


def resolve_static(folder: Path, url_path: str, *, spa: bool = False, index: str = "index.html") -> Path | None:
    """The file inside `folder` that a percent-encoded URL path names, or None.

    `/` and folders give their `index`; an extensionless path gives `<path>/index` (or the root
    `index` with `spa`). None for a missing file and for anything that would leave the folder:
    `..` (plain or `%2e%2e`), an encoded `/` or backslash, NUL, or a symlink pointing outside.
    """
    try:
        segments = _segments(url_path)
        if segments is None:
            return None
        root = folder.resolve(strict=True)
        resolved = _candidate(root, segments, url_path, spa=spa, index=index).resolve(strict=True)
    except (OSError, RuntimeError, UnicodeDecodeError, ValueError):
        return None  # missing, a symlink loop, undecodable or a name the OS rejects
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") or guessed in _TEXT_TYPES else guessed


def etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()}"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {value.strip().removeprefix("W/") for value in if_none_match.split(",")}
    return "*" in candidates or tag in candidates


def static_response(path: Path | None, *, if_none_match: str | None, folder: Path | None = None) -> HttpResponse:
    """The response for a file from `resolve_static`: 200 with an ETag, 304 when it matches, else a 404.

    Args:
        path: the file, or None when there is none.
        if_none_match: the request's If-None-Match header.
        folder: the static folder; when given, its `404.html` (if any) is the 404 page.
    """
    if path is None:
        return not_found(folder)
    try:
        body = path.read_bytes()
    except OSError:
        return not_found(folder)
    tag = etag(body)
    headers = [("etag", tag), ("cache-control", "no-cache")]
    if _matches(if_none_match, tag):
        return HttpResponse(304, headers, b"")
    kind = content_type(path)
    if kind.endswith("charset=utf-8"):  # text, where ASAP fills ${STATIC('...')} (the ETag is the file's)
        body = fill_placeholders(body)
    return HttpResponse(200, [("content-type", kind), *headers], body)


def not_found(folder: Path | None) -> HttpResponse:
    """ASAP's "pretty" 404: the folder's own 404.html when it has one."""
    custom = resolve_static(folder, "/" + NOT_FOUND_PAGE) if folder is not None else None
    if custom is not None:
        try:
            headers = [("content-type", pages.HTML_TYPE), ("cache-control", pages.NO_CACHE)]
            return HttpResponse(404, headers, custom.read_bytes())
        except OSError:
            pass  # vanished since it was resolved: the plain page will do
    return pages.static_not_found_page()
