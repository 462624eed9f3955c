"""prefs.arc / preferences.arc (global then local, key by key) and .env replacing @env."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import ManifestError
from sandbox.manifest import load_manifest
from sandbox.model import Ports, Prefs


def project(tmp_path: Path, local: dict[str, str], home_files: dict[str, str] | None = None) -> tuple[Path, Path]:
    root, home = tmp_path / "app", tmp_path / "home"
    for folder, files in ((root, {"app.arc": "@app\nmy-app\n"} | local), (home, home_files or {})):
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    return root, home


def prefs(tmp_path: Path, local: dict[str, str], home_files: dict[str, str] | None = None) -> Prefs:
    root, home = project(tmp_path, local, home_files)
    return load_manifest(root, home=home).prefs


PREFS_ARC = """\
@sandbox
env staging
livereload false
seed-data data/seed.json
ports
  http 3000
  queues 4000
  tables 5000
  _arc 2000

@env
testing
  API_URL http://localhost:3000
  GREETING hello there  world
  COUNT 007
production
  API_URL https://example.com

@sandbox-start
echo hi
"""


def test_prefs_arc_settings(tmp_path: Path) -> None:
    assert prefs(tmp_path, {"prefs.arc": PREFS_ARC}) == Prefs(
        ports=Ports(http=3000, events=4000, tables=5000, internal=2000),
        env="staging",
        livereload=False,
        seed_data="data/seed.json",
        env_vars={
            "testing": {"API_URL": "http://localhost:3000", "GREETING": "hello there world", "COUNT": "007"},
            "production": {"API_URL": "https://example.com"},
        },
    )


def test_no_prefs_gives_defaults(tmp_path: Path) -> None:
    assert prefs(tmp_path, {}) == Prefs()


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=n) for n in ("preferences.arc", "prefs.arc", ".preferences.arc", ".prefs.arc")]
)
def test_prefs_file_names(tmp_path: Path, name: str) -> None:
    assert prefs(tmp_path, {name: "@sandbox\nenv production\n"}).env == "production"


def test_preferences_arc_wins_over_prefs_arc(tmp_path: Path) -> None:
    files = {"prefs.arc": "@sandbox\nenv staging\n", "preferences.arc": "@sandbox\nenv production\n"}
    assert prefs(tmp_path, files).env == "production"


def test_local_prefs_override_global_key_by_key(tmp_path: Path) -> None:
    home = {
        "prefs.arc": "@sandbox\nenv staging\nlivereload false\nports\n  http 1111\n  events 2222\n"
        "@env\ntesting\n  A global-a\n  B global-b\nstaging\n  S global-s\n"
    }
    local = {"preferences.arc": "@sandbox\nenv production\nports\n  http 3333\n@env\ntesting\n  A local-a\n"}
    assert prefs(tmp_path, local, home) == Prefs(
        ports=Ports(http=3333, events=2222),
        env="production",
        livereload=False,
        env_vars={"testing": {"A": "local-a", "B": "global-b"}, "staging": {"S": "global-s"}},
    )


def test_dotenv_replaces_the_whole_env_block(tmp_path: Path) -> None:
    home = {"prefs.arc": "@env\ntesting\n  FROM_HOME 1\n"}
    local = {
        "prefs.arc": "@env\ntesting\n  FROM_PREFS 1\nproduction\n  P 1\n",
        ".env": '# a comment\nexport TOKEN=abc\nQUOTED="a b # c"\nEMPTY=\nREF=${TOKEN}\n',
    }
    result = prefs(tmp_path, local, home)
    assert result.env_vars == {"testing": {"TOKEN": "abc", "QUOTED": "a b # c", "EMPTY": "", "REF": "${TOKEN}"}}


def test_manifest_user_env_reads_the_arc_env_section(tmp_path: Path) -> None:
    root, home = project(tmp_path, {"prefs.arc": "@env\nstaging\n  X 1\n"})
    manifest = load_manifest(root, home=home)
    assert (manifest.user_env("staging"), manifest.user_env("testing")) == ({"X": "1"}, {})


PREFS_ERRORS = [
    pytest.param(
        {"prefs.arc": "@sandbox\nenv dev\n"},
        "prefs.arc",
        2,
        "@sandbox env must be one of testing, staging, production, not 'dev'",
        id="env",
    ),
    pytest.param(
        {"prefs.arc": "@sandbox\nlivereload yes\n"},
        "prefs.arc",
        2,
        "@sandbox livereload must be true or false, not 'yes'",
        id="livereload",
    ),
    pytest.param(
        {"prefs.arc": "@sandbox\nports 3333\n"},
        "prefs.arc",
        2,
        "@sandbox ports takes indented lines such as `  http 3333`",
        id="ports-scalar",
    ),
    pytest.param(
        {"prefs.arc": "@sandbox\nports\n  http 70000\n"},
        "prefs.arc",
        3,
        "@sandbox ports http must be a whole number from 0 to 65535, not 70000",
        id="port-range",
    ),
    pytest.param(
        {"prefs.arc": "@sandbox\nports\n  ws 1\n"},
        "prefs.arc",
        3,
        "unknown @sandbox ports setting 'ws' (known: http, events, queues, tables, _arc)",
        id="port-key",
    ),
    pytest.param(
        {"prefs.arc": "@sandbox\nports\n  events 1\n  queues 2\n"},
        "prefs.arc",
        4,
        "events and queues share one port: give them the same number",
        id="events-queues-differ",
    ),
    pytest.param(
        {"prefs.arc": "@env\ndev\n  A 1\n"},
        "prefs.arc",
        2,
        "@env sections are testing, staging, production, each with `KEY value` lines",
        id="env-section",
    ),
    pytest.param(
        {"prefs.arc": "@env\ntesting\n  A-B 1\n"},
        "prefs.arc",
        3,
        "bad variable name 'A-B' (letters, digits and _ only)",
        id="env-key",
    ),
    pytest.param(
        {"prefs.arc": "@env\ntesting\n  A\n  B\n"},
        "prefs.arc",
        2,
        "@env testing: each line is `KEY value`",
        id="env-vector",
    ),
    pytest.param(
        {"prefs.arc": "@sandbox\n  env testing\n"},
        "prefs.arc",
        2,
        "bad indentation: 'env' is indented but follows no name",
        id="grammar",
    ),
    pytest.param(
        {".env": "A=1\nB='unclosed\nC=3\n"},
        ".env",
        2,
        'cannot parse "B=\'unclosed" (expected NAME=value)',
        id="dotenv-parse",
    ),
    pytest.param(
        {".env": "A=1\n\nLONELY\n"},
        ".env",
        3,
        "LONELY has no value (write LONELY= for an empty one)",
        id="dotenv-no-value",
    ),
]


@pytest.mark.parametrize(("files", "culprit", "line", "problem"), PREFS_ERRORS)
def test_prefs_errors(tmp_path: Path, files: dict[str, str], culprit: str, line: int, problem: str) -> None:
    root, home = project(tmp_path, files)
    with pytest.raises(ManifestError) as caught:
        load_manifest(root, home=home)
    assert str(caught.value) == f"{root / culprit}:{line}: {problem}"


def test_global_prefs_errors_name_the_global_file(tmp_path: Path) -> None:
    root, home = project(tmp_path, {}, {".prefs.arc": "@sandbox\nenv nope\n"})
    with pytest.raises(ManifestError) as caught:
        load_manifest(root, home=home)
    assert caught.value.path == home / ".prefs.arc"
    assert caught.value.line == 2
