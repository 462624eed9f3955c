"""Static files: URL path to file (never outside the folder), content types, ETags, 304s and 404 pages."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sandbox.apigateway.integration import HttpResponse
from sandbox.apigateway.static import resolve_static, static_response


@pytest.fixture
def public(tmp_path: Path) -> Path:
    folder = tmp_path / "public"
    (folder / "docs" / "guide").mkdir(parents=True)
    (folder / "about").mkdir()
    (folder / "index.html").write_text("<h1>home</h1>")
    (folder / "hello.txt").write_text("hello")
    (folder / "with space.txt").write_text("spaced")
    (folder / "café.txt").write_text("accent")
    (folder / "LICENSE").write_text("license text")
    (folder / "app.js").write_text("console.log(1)")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "docs" / "index.html").write_text("docs")
    (folder / "docs" / "guide" / "index.html").write_text("guide")
    (folder / "about" / "index.html").write_text("about")
    (tmp_path / "secret.txt").write_text("do not serve")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_text("do not serve")
    return folder


@pytest.mark.parametrize(
    ("url_path", "file"),
    [
        pytest.param("/", "index.html", id="root"),
        pytest.param("", "index.html", id="empty"),
        pytest.param("/hello.txt", "hello.txt", id="file"),
        pytest.param("/with%20space.txt", "with space.txt", id="encoded-space"),
        pytest.param("/caf%C3%A9.txt", "café.txt", id="encoded-utf8"),
        pytest.param("/docs", "docs/index.html", id="folder"),
        pytest.param("/docs/", "docs/index.html", id="folder-slash"),
        pytest.param("/docs/guide", "docs/guide/index.html", id="nested-folder"),
        pytest.param("/about", "about/index.html", id="extensionless"),
        pytest.param("/LICENSE", "LICENSE", id="extensionless-file"),
        pytest.param("/./hello.txt", "hello.txt", id="dot-segment"),
        pytest.param("/docs//index.html", "docs/index.html", id="double-slash"),
    ],
)
def test_resolve_static_finds_files(public: Path, url_path: str, file: str) -> None:
    assert resolve_static(public, url_path) == (public / file).resolve()


@pytest.mark.parametrize("url_path", ["/missing.txt", "/missing", "/docs/missing.css", "/hello.txt/", "/about/x.js"])
def test_resolve_static_returns_none_for_missing_files(public: Path, url_path: str) -> None:
    assert resolve_static(public, url_path) is None


def test_resolve_static_spa_serves_the_index_for_folder_paths(public: Path) -> None:
    index = (public / "index.html").resolve()
    assert resolve_static(public, "/notes/42/edit", spa=True) == index
    assert resolve_static(public, "/docs", spa=True) == (public / "docs" / "index.html").resolve()
    assert resolve_static(public, "/missing.css", spa=True) is None  # a file path stays a 404
    assert resolve_static(public, "/notes/42/edit") is None


def test_resolve_static_custom_index(public: Path) -> None:
    (public / "home.htm").write_text("home")
    assert resolve_static(public, "/", index="home.htm") == (public / "home.htm").resolve()


def test_resolve_static_missing_folder(tmp_path: Path) -> None:
    assert resolve_static(tmp_path / "nope", "/index.html") is None


@pytest.mark.parametrize(
    "url_path",
    [
        pytest.param("/../secret.txt", id="dot-dot"),
        pytest.param("/docs/../../secret.txt", id="dot-dot-nested"),
        pytest.param("/%2e%2e/secret.txt", id="encoded-dot-dot"),
        pytest.param("/%2E%2E/secret.txt", id="encoded-dot-dot-upper"),
        pytest.param("/.%2e/secret.txt", id="half-encoded-dot-dot"),
        pytest.param("/..%2fsecret.txt", id="encoded-slash"),
        pytest.param("/docs/..%2F..%2Fsecret.txt", id="encoded-slash-upper"),
        pytest.param("/%2e%2e%2fsecret.txt", id="all-encoded"),
        pytest.param("/..\\secret.txt", id="backslash"),
        pytest.param("/%5c..%5csecret.txt", id="encoded-backslash"),
        pytest.param("/hello.txt%00.png", id="encoded-nul"),
        pytest.param("/hello.txt\x00", id="nul"),
        pytest.param("/%ff%fe", id="not-utf8"),
        pytest.param("/../outside", id="dot-dot-folder"),
        pytest.param("..", id="bare-dot-dot"),
        pytest.param("/docs/../hello.txt", id="dot-dot-even-when-it-stays-inside"),
        pytest.param("/docs/%2e%2e/hello.txt", id="encoded-dot-dot-even-when-it-stays-inside"),
    ],
)
def test_resolve_static_never_leaves_the_folder(public: Path, url_path: str) -> None:
    assert resolve_static(public, url_path) is None


def test_resolve_static_rejects_absolute_paths(public: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    assert resolve_static(public, str(secret)) is None
    assert resolve_static(public, "/" + str(secret)) is None
    assert resolve_static(public, "/%2F" + str(secret).lstrip("/")) is None


def test_resolve_static_rejects_symlinks_that_point_outside(public: Path, tmp_path: Path) -> None:
    (public / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (public / "leakdir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (public / "up").symlink_to("..", target_is_directory=True)
    assert resolve_static(public, "/leak.txt") is None
    assert resolve_static(public, "/leakdir") is None
    assert resolve_static(public, "/leakdir/index.html") is None
    assert resolve_static(public, "/up/secret.txt") is None


def test_resolve_static_follows_symlinks_that_stay_inside(public: Path) -> None:
    (public / "alias.txt").symlink_to(public / "hello.txt")
    assert resolve_static(public, "/alias.txt") == (public / "hello.txt").resolve()


def test_resolve_static_survives_a_symlink_loop(public: Path) -> None:
    (public / "loop").symlink_to(public / "loop")
    assert resolve_static(public, "/loop") is None


def test_resolve_static_works_when_the_folder_itself_is_a_symlink(public: Path, tmp_path: Path) -> None:
    link = tmp_path / "linked"
    link.symlink_to(public, target_is_directory=True)
    assert resolve_static(link, "/hello.txt") == (public / "hello.txt").resolve()
    assert resolve_static(link, "/../secret.txt") is None


# --- responses ------------------------------------------------------------------------------------


def header(response: HttpResponse, name: str) -> str | None:
    return next((value for key, value in response.headers if key == name), None)


@pytest.mark.parametrize(
    ("file", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("hello.txt", "text/plain; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("logo.png", "image/png"),
        ("LICENSE", "application/octet-stream"),
    ],
)
def test_static_response_content_types(public: Path, file: str, content_type: str) -> None:
    response = static_response(public / file, if_none_match=None)
    assert response.status == 200
    assert response.body == (public / file).read_bytes()
    ctype = header(response, "content-type")
    # mimetypes may call JavaScript text/ or application/: either is right for a browser
    assert ctype == content_type or (file == "app.js" and ctype == "application/javascript; charset=utf-8")


def test_static_response_etag_is_the_sha256_of_the_body(public: Path) -> None:
    response = static_response(public / "hello.txt", if_none_match=None)
    assert header(response, "etag") == f'"{hashlib.sha256(b"hello").hexdigest()}"'


@pytest.mark.parametrize("template", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_static_response_304_when_the_etag_matches(public: Path, template: str) -> None:
    tag = header(static_response(public / "hello.txt", if_none_match=None), "etag")
    assert tag is not None
    response = static_response(public / "hello.txt", if_none_match=template.format(tag=tag))
    assert (response.status, response.body, header(response, "etag")) == (304, b"", tag)


def test_static_response_200_when_the_file_changed(public: Path) -> None:
    tag = header(static_response(public / "hello.txt", if_none_match=None), "etag")
    (public / "hello.txt").write_text("changed")
    response = static_response(public / "hello.txt", if_none_match=tag)
    assert (response.status, response.body) == (200, b"changed")


def test_static_response_404_page(public: Path) -> None:
    response = static_response(None, if_none_match=None)
    assert response.status == 404
    assert header(response, "content-type") == "text/html; charset=utf-8"
    assert b"NoSuchKey" in response.body


def test_static_response_404_uses_the_folders_own_page(public: Path) -> None:
    (public / "404.html").write_text("<h1>lost?</h1>")
    response = static_response(None, if_none_match=None, folder=public)
    assert (response.status, response.body) == (404, b"<h1>lost?</h1>")
    assert header(response, "content-type") == "text/html; charset=utf-8"


def test_static_response_404_without_a_custom_page(public: Path) -> None:
    response = static_response(None, if_none_match=None, folder=public)
    assert response.status == 404 and b"NoSuchKey" in response.body


def test_static_response_404_when_the_file_vanished(public: Path) -> None:
    path = resolve_static(public, "/hello.txt")
    assert path is not None
    os.remove(path)
    assert static_response(path, if_none_match=None).status == 404
