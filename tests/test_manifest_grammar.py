"""The .arc grammar: the four value shapes, comments, quotes, tabs, line endings and grammar errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.errors import ManifestError
from sandbox.manifest import parse_arc

FIXTURES = Path(__file__).parent / "fixtures" / "manifests"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("@app\nmy-app\n", {"app": ["my-app"]}, id="scalar"),
        pytest.param("@http\nget /notes\n", {"http": [["get", "/notes"]]}, id="array"),
        pytest.param("@static\nignore\n  a\n  b\n", {"static": [{"ignore": ["a", "b"]}]}, id="vector"),
        pytest.param("@tables\nnotes\n  noteID *String\n", {"tables": [{"notes": {"noteID": "*String"}}]}, id="map"),
        pytest.param(
            "@x\nm\n  one 1\n  many a b\n", {"x": [{"m": {"one": 1, "many": ["a", "b"]}}]}, id="map-single-flattened"
        ),
        pytest.param(
            "@x\nm\n  key\n    a b\n    c\n  k2 v\n",
            {"x": [{"m": {"key": ["a", "b", "c"], "k2": "v"}}]},
            id="map-key-with-four-space-list",
        ),
        pytest.param("@x\nm\n  key\n    one\n", {"x": [{"m": {"key": ["one"]}}]}, id="map-list-of-one-stays-list"),
        pytest.param(
            "@x\ntrue false 1 -2 3.5 1e3 -x 5-minutes 0x1 .5 -.5 truex\n",
            {"x": [[True, False, 1, -2, 3.5, 1000.0, "-x", "5-minutes", "0x1", ".5", -0.5, "truex"]]},
            id="scalar-types",
        ),
        pytest.param(
            '@x\n"a b" \'c # d\' `e\'f` "true" "1"\n', {"x": [["a b", "c # d", "e'f", "true", "1"]]}, id="quotes"
        ),
        pytest.param('@x\n"{not reserved}"\n', {"x": ["{not reserved}"]}, id="reserved-inside-quotes"),
        pytest.param(
            "# top\n@app # after the pragma\n# between\nname # after a value\n  # indented comment\n",
            {"app": ["name"]},
            id="comments",
        ),
        pytest.param("@x\nm\n\tk v\n\tl\n\t\tw\n", {"x": [{"m": {"k": "v", "l": ["w"]}}]}, id="tabs-are-two-spaces"),
        pytest.param("@x\r\nm\r\n  k v\r\n@y\ra\r", {"x": [{"m": {"k": "v"}}], "y": ["a"]}, id="crlf-and-cr"),
        pytest.param("@http\n@events\na\n", {"http": [], "events": ["a"]}, id="empty-pragma"),
        pytest.param("@static false\n", {"static": [False]}, id="value-on-the-pragma-line"),
        pytest.param("@x\nm\n\n  k v\n\n  l w\n", {"x": [{"m": {"k": "v", "l": "w"}}]}, id="blank-lines-inside"),
        pytest.param("@x\na@b.c $x ~/p %20 a=b\n", {"x": [["a@b.c", "$x", "~/p", "%20", "a=b"]]}, id="loose-strings"),
    ],
)
def test_parse_arc_shapes(text: str, expected: dict[str, list[Any]]) -> None:
    assert parse_arc(text) == expected


def test_parse_arc_fixture_matches_its_json_compilation() -> None:
    compiled = parse_arc((FIXTURES / "full.arc").read_text(), FIXTURES / "full.arc")
    assert compiled == json.loads((FIXTURES / "full.json").read_text())


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        pytest.param("", None, "no @pragma found; a manifest starts with a line like @app", id="empty-file"),
        pytest.param(
            "# only a comment\n\n", None, "no @pragma found; a manifest starts with a line like @app", id="no-pragma"
        ),
        pytest.param("app\n@app\nx\n", 1, "expected a @pragma line first: 'app'", id="value-before-pragma"),
        pytest.param(
            "@app\nx\n@http\n@app\ny\n", 4, "@app is already defined (line 1); a pragma may appear once", id="twice"
        ),
        pytest.param("@ap!p\nx\n", 1, "bad pragma name '@ap!p' (letters, digits, - and _ only)", id="bad-pragma-name"),
        pytest.param(
            "@x\n  a\n", 2, "bad indentation: 'a' is indented but follows no name", id="indented-without-parent"
        ),
        pytest.param("@x\nm\n   k v\n", 3, "bad indentation: indent by two spaces (found 3)", id="odd-indent"),
        pytest.param("@x\nm\n      k v\n", 3, "bad indentation: indent by two spaces (found 6)", id="too-deep"),
        pytest.param(
            "@x\nm\n    k v\n", 3, "bad indentation: the first line under a name is indented two spaces", id="jump-4"
        ),
        pytest.param(
            "@x\nget /a\n  src b\n",
            3,
            "bad indentation: 'get /a' has several values, so it cannot have indented lines under it",
            id="children-under-array",
        ),
        pytest.param("@x\nm\n  k v\n    w\n", 4, "bad indentation: 'k' already has a value on its line", id="k-v-list"),
        pytest.param("@x\nm\n  k v\n  j\n", 4, "'j' in 'm' has no value", id="map-key-without-value"),
        pytest.param("@x\nm\n  k v\n  k w\n", 4, "'k' is set twice in 'm'", id="map-key-twice"),
        pytest.param("@x\na{b\n", 2, "reserved character '{' (quote the value if you need it)", id="reserved-brace"),
        pytest.param("@x\n<a>\n", 2, "reserved character '<' (quote the value if you need it)", id="reserved-angle"),
        pytest.param("@x\na\\b\n", 2, "reserved character '\\\\' (quote the value if you need it)", id="backslash"),
        pytest.param(
            '@x\n"open quote\n', 2, 'unterminated "quoted" string (close it on the same line)', id="unterminated"
        ),
        pytest.param(
            "@x\r\na\r\n'b\r\n", 3, "unterminated 'quoted' string (close it on the same line)", id="unterminated-crlf"
        ),
    ],
)
def test_parse_arc_errors_name_file_and_line(text: str, line: int | None, problem: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_arc(text, "proj/app.arc")
    where = f"proj/app.arc:{line}" if line else "proj/app.arc"
    assert str(caught.value) == f"{where}: {problem}"
    assert (caught.value.line, caught.value.problem) == (line, problem)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("@ab1-_:/* \t\n\r#\"'`{<\\.")), max_size=60))
def test_parse_arc_only_ever_raises_manifest_errors(text: str) -> None:
    try:
        parse_arc(text)
    except ManifestError as error:
        assert error.path == Path("app.arc")
        assert error.line is None or 1 <= error.line <= text.count("\n") + text.count("\r") + 1
