"""`@static fingerprint` (`sandbox.apigateway.fingerprint`): public/static.json as Architect's sandbox writes it, and
ASAP's `${STATIC('...')}` placeholders in served text files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import aiohttp
import pytest

from sandbox.apigateway.fingerprint import fill_placeholders, fingerprinted_name, static_manifest, sync_static_manifest
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox


def sha10(body: bytes) -> str:
    return hashlib.sha1(body, usedforsecurity=False).hexdigest()[:10]


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        pytest.param("app.js", "app-{h}.js", id="top"),
        pytest.param("css/site.min.css", "css/site.min-{h}.css", id="nested-two-dots"),
        pytest.param("LICENSE", "LICENSE-{h}", id="no-extension"),
    ],
)
def test_fingerprinted_name(relative: str, expected: str) -> None:
    assert fingerprinted_name(relative, b"x") == expected.format(h=sha10(b"x"))


def test_static_manifest_skips_ignored_files(tmp_path: Path) -> None:
    for name in ("app.js", "img/logo.svg", "drafts/note.txt", "readme.md", "static.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert static_manifest(tmp_path, ("drafts",)) == {
        "app.js": f"app-{sha10(b'app.js')}.js",
        "img/logo.svg": f"img/logo-{sha10(b'img/logo.svg')}.svg",
    }


def test_sync_static_manifest_writes_keeps_and_removes(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("1")
    assert sync_static_manifest(tmp_path, True) == "written"
    assert sync_static_manifest(tmp_path, True) == "unchanged"
    (tmp_path / "app.js").write_text("2")
    assert sync_static_manifest(tmp_path, True) == "written"
    assert json.loads((tmp_path / "static.json").read_text()) == {"app.js": f"app-{sha10(b'2')}.js"}
    assert sync_static_manifest(tmp_path, "external") == "removed"
    assert sync_static_manifest(tmp_path, False) == "none"


def test_fill_placeholders() -> None:
    page = b"""<script src="${STATIC('app.js')}"></script><link href='${arc.static("/css/a.css")}'>"""
    assert fill_placeholders(page) == b"""<script src="app.js"></script><link href='/css/a.css'>"""


async def test_sandbox_writes_static_json_and_fills_placeholders(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "public").mkdir(parents=True)
    (app / "public" / "index.html").write_text("<script src=\"/_static/${STATIC('app.js')}\"></script>")
    (app / "public" / "app.js").write_text("console.log(1)")
    (app / "app.arc").write_text("@app\nprints\n\n@static\nfingerprint true\n")
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox, aiohttp.ClientSession(sandbox.url) as client:
        manifest = json.loads((app / "public" / "static.json").read_text())
        assert manifest["app.js"] == f"app-{sha10(b'console.log(1)')}.js"
        async with client.get("/") as resp:
            assert await resp.text() == '<script src="/_static/app.js"></script>'
