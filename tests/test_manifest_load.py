"""load_manifest: a project folder into model.Manifest (functions, routes, queues, schedules, tables, static, aws)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import ManifestError
from sandbox.manifest import load_manifest
from sandbox.model import (
    AwsSettings,
    EventSpec,
    FunctionSpec,
    IndexSpec,
    KeyAttr,
    Manifest,
    Pragma,
    QueueSpec,
    ScheduleSpec,
    StaticSpec,
    TableSpec,
)


def make_app(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def load(tmp_path: Path, files: dict[str, str]) -> Manifest:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return load_manifest(make_app(tmp_path, files), home=home)


@pytest.fixture(autouse=True)
def _no_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)


FULL = """\
@app
notes-app

@aws
region eu-west-1
timeout 12
apigateway httpv2
profile work

@http
get /
get /notes/:id
post /notes
/legacy
  method put
  src lib/legacy

@events
note-created
audit
  src lib/audit

@queues
thumbnails
  batchSize 5
  batchWindow 2
  visibilityTimeout 90
standard
  fifo false

@scheduled
nightly rate(1 day)
weekly cron(0 15 ? * FRI *)
hourly
  rate 2 hours
  timezone America/New_York

@tables
notes
  noteID *String
  created **Number
  expires TTL
people
  email *

@tables-indexes
notes
  author *String
  projection keys
notes
  author *String
  created **Number
  name ByAuthor
  projection title body

@static
folder dist
prefix assets
spa true
fingerprint true
ignore
  .DS_Store
"""


def test_load_manifest_full_project(tmp_path: Path) -> None:
    manifest = load(tmp_path, {"app.arc": FULL, "src/shared/util.py": ""})
    root = tmp_path / "app"

    def fn(pragma: Pragma, name: str, folder: str, *, views: bool = False) -> FunctionSpec:
        return FunctionSpec(pragma, name, root / folder, timeout=12.0, views=views)

    assert manifest.app == "notes-app"
    assert manifest.root == root
    assert manifest.source == root / "app.arc"
    assert manifest.aws == AwsSettings(region="eu-west-1", profile="work", apigateway="http", timeout=12.0)
    assert [(r.method, r.path, r.function) for r in manifest.http] == [
        ("get", "/notes/:id", fn("http", "get /notes/:id", "src/http/get-notes-000id", views=True)),
        ("get", "/", fn("http", "get /", "src/http/get-index", views=True)),
        ("post", "/notes", fn("http", "post /notes", "src/http/post-notes")),
        ("put", "/legacy", fn("http", "put /legacy", "lib/legacy")),
    ]
    assert manifest.events == (
        EventSpec("note-created", fn("events", "note-created", "src/events/note-created")),
        EventSpec("audit", fn("events", "audit", "lib/audit")),
    )
    assert manifest.queues == (
        QueueSpec("thumbnails", fn("queues", "thumbnails", "src/queues/thumbnails"), True, 5, 2.0, 90.0),
        QueueSpec("standard", fn("queues", "standard", "src/queues/standard"), fifo=False),
    )
    assert manifest.scheduled == (
        ScheduleSpec("nightly", fn("scheduled", "nightly", "src/scheduled/nightly"), rate="1 day"),
        ScheduleSpec("weekly", fn("scheduled", "weekly", "src/scheduled/weekly"), cron="0 15 ? * FRI *"),
        ScheduleSpec("hourly", fn("scheduled", "hourly", "src/scheduled/hourly"), "2 hours", None, "America/New_York"),
    )
    created = KeyAttr("created", "N")
    author = KeyAttr("author", "S")
    assert manifest.tables == (
        TableSpec(
            "notes",
            KeyAttr("noteID", "S"),
            created,
            ttl_attribute="expires",
            indexes=(
                IndexSpec("author-index", author, None, "KEYS_ONLY"),
                IndexSpec("ByAuthor", author, created, "INCLUDE", ("title", "body")),
            ),
        ),
        TableSpec("people", KeyAttr("email", "S")),
    )
    assert manifest.static == StaticSpec("dist", "assets", spa=True, fingerprint=True, ignore=(".DS_Store",))
    assert manifest.shared_dir == root / "src" / "shared"
    assert manifest.views_dir is None
    assert manifest.not_emulated == ()


def test_load_manifest_example_app() -> None:
    example = Path(__file__).parent.parent / "example-app"
    manifest = load_manifest(example, home=example / "src")
    assert manifest.app == "background-tasks"
    assert [(r.method, r.path) for r in manifest.http] == [("get", "/tasks"), ("get", "/"), ("post", "/background")]
    assert [(q.name, q.fifo) for q in manifest.queues] == [("task-progress", False)]
    assert manifest.tables == (
        TableSpec("tasks", KeyAttr("taskID", "S")),
        TableSpec("connections", KeyAttr("connectionID", "S")),
    )
    assert [w.name for w in manifest.ws] == ["connect", "default", "disconnect"]


CONFIG_CASES = [
    pytest.param({}, "", {}, id="defaults"),
    pytest.param({"timeout": 9.0}, "@aws\ntimeout 9\n", {}, id="project-aws"),
    pytest.param(
        {"timeout": 20.0, "memory": 256},
        "@aws\ntimeout 9\n",
        {"config.arc": "@aws\ntimeout 20\nmemory 256\n"},
        id="config-arc-over-project-aws",
    ),
    pytest.param(
        {"runtime": "python3.12"},
        "@aws\nruntime python3.11\n",
        {"config.arc": "@aws\nruntime py\n"},
        id="runtime-alias",
    ),
    pytest.param(
        {"runtime": "python3.11", "timeout": 3.5},
        "@aws\nruntime python3.11\n",
        {"config.arc": "@aws\ntimeout 3.5\n"},
        id="runtime-from-project-timeout-from-config",
    ),
    pytest.param(
        {"env": False, "shared": False, "views": False},
        "",
        {"config.arc": "@arc\nenv false\nshared false\nviews false\n"},
        id="config-arc-at-arc",
    ),
    pytest.param({"timeout": 7.0}, "", {".arc-config": "@aws\ntimeout 7\n"}, id="dot-arc-config"),
    pytest.param({"timeout": 8.0}, "", {"arc.json": json.dumps({"aws": {"timeout": 8}})}, id="arc-json-config"),
    pytest.param(
        {"timeout": 6.0},
        "",
        {"config.arc": "@aws\ntimeout 6\n", "arc.json": '{"aws": {"timeout": 1}}'},
        id="config-arc-wins-over-arc-json",
    ),
]


@pytest.mark.parametrize(("expected", "project_aws", "config_files"), CONFIG_CASES)
def test_function_config_layering(
    tmp_path: Path, expected: dict[str, Any], project_aws: str, config_files: dict[str, str]
) -> None:
    files = {"app.arc": f"@app\nlayered\n{project_aws}@events\nping\n"}
    files |= {f"src/events/ping/{name}": text for name, text in config_files.items()}
    (event,) = load(tmp_path, files).events
    base = FunctionSpec("events", "ping", tmp_path / "app" / "src" / "events" / "ping")
    assert event.function == replace(base, **expected)


def test_config_arc_fifo_sets_queue_default(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        {
            "app.arc": "@app\nqq\n@queues\none\ntwo\n  fifo true\n",
            "src/queues/one/config.arc": "@aws\nfifo false\n",
            "src/queues/two/config.arc": "@aws\nfifo false\n",
        },
    )
    assert [(q.name, q.fifo) for q in manifest.queues] == [("one", False), ("two", True)]


def test_default_project_when_no_manifest(tmp_path: Path) -> None:
    manifest = load(tmp_path, {"src/views/page.py": ""})
    root = tmp_path / "app"
    assert manifest == Manifest(
        app="app-default", root=root, source=None, static=StaticSpec(), views_dir=root / "src" / "views"
    )


@pytest.mark.parametrize(
    ("files", "source"),
    [
        pytest.param({"app.arc": "@app\nfound\n", ".arc": "@app\nother\n"}, "app.arc", id="app-arc-first"),
        pytest.param({".arc": "@app\nfound\n", "arc.json": '{"app": "other"}'}, ".arc", id="dot-arc"),
        pytest.param({"arc.json": '{"app": "found"}', "arc.yaml": "app: other\n"}, "arc.json", id="arc-json"),
        pytest.param({"arc.yaml": "app: found\n"}, "arc.yaml", id="arc-yaml"),
        pytest.param({"arc.yml": "app:\n  - found\nhttp:\n"}, "arc.yml", id="arc-yml-empty-pragma"),
        pytest.param({"package.json": '{"name": "x", "arc": {"app": "found"}}'}, "package.json", id="package-arc"),
        pytest.param({"package.json": '{"architect": {"app": ["found"]}}'}, "package.json", id="package-architect"),
    ],
)
def test_manifest_sources_in_architect_order(tmp_path: Path, files: dict[str, str], source: str) -> None:
    manifest = load(tmp_path, files)
    assert (manifest.app, manifest.source) == ("found", tmp_path / "app" / source)


def test_package_json_without_arc_key_is_the_default_project(tmp_path: Path) -> None:
    assert load(tmp_path, {"package.json": '{"name": "x"}'}).app == "app-default"


def test_arc_json_project(tmp_path: Path) -> None:
    arc = {
        "app": "json-app",
        "http": [["get", "/"], {"/x": {"method": "post", "src": "custom"}}],
        "queues": [{"jobs": {"fifo": False, "batchSize": 3}}],
        "scheduled": [["tick", "rate(5 minutes)"]],
        "tables": [{"things": {"id": "*String", "n": "**Number"}}],
        "aws": {"timeout": 30, "region": "ap-south-1"},
    }
    manifest = load(tmp_path, {"arc.json": json.dumps(arc)})
    root = tmp_path / "app"
    assert [(r.method, r.path, r.function.src_dir) for r in manifest.http] == [
        ("get", "/", root / "src/http/get-index"),
        ("post", "/x", root / "custom"),
    ]
    assert (manifest.queues[0].fifo, manifest.queues[0].batch_size) == (False, 3)
    assert manifest.scheduled[0].rate == "5 minutes"
    assert manifest.tables == (TableSpec("things", KeyAttr("id", "S"), KeyAttr("n", "N")),)
    assert (manifest.aws.region, manifest.aws.timeout, manifest.http[0].function.timeout) == ("ap-south-1", 30, 30)


def test_arc_yaml_without_pyyaml_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, {"arc.yaml": "app: x\n"})
    path = tmp_path / "app" / "arc.yaml"
    assert str(caught.value) == f"{path}: reading YAML needs PyYAML: `pip install pyyaml` (or use app.arc)"


@pytest.mark.parametrize(
    ("arc", "static"),
    [
        pytest.param("@app\nxy\n@http\n", StaticSpec(), id="implied-by-http"),
        pytest.param("@app\nxy\n@events\ne\n", None, id="absent-without-http"),
        pytest.param("@app\nxy\n@http\n@static false\n", None, id="disabled-same-line"),
        pytest.param("@app\nxy\n@http\n@static\nfalse\n", None, id="disabled-next-line"),
        pytest.param("@app\nxy\n@http\n@static\ndisabled\n", None, id="disabled-word"),
        pytest.param(
            "@app\nxy\n@static\nspa false\nfingerprint external\nprune true\n",
            StaticSpec(fingerprint="external"),
            id="external-fingerprint-and-deploy-keys",
        ),
    ],
)
def test_static(tmp_path: Path, arc: str, static: StaticSpec | None) -> None:
    assert load(tmp_path, {"app.arc": arc}).static == static


def test_region_from_environment_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert load(tmp_path, {"app.arc": "@app\nxy\n"}).aws.region == "ca-central-1"
    assert load(tmp_path, {"app.arc": "@app\nxy\n@aws\nregion us-east-2\n"}).aws.region == "us-east-2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(v, e, id=v)
        for v, e in [("http", "http"), ("httpv2", "http"), ("httpv1", "httpv1"), ("REST", "rest")]
    ],
)
def test_apigateway_values(tmp_path: Path, value: str, expected: str) -> None:
    arc = f"@app\nxy\n@aws\napigateway {value}\n"
    assert load(tmp_path, {"app.arc": arc}).aws.apigateway == expected


def test_not_emulated_pragmas_are_listed(tmp_path: Path) -> None:
    proxy = "@proxy\ntesting http://a\nstaging http://b\nproduction http://c\n@http\nget /\n"
    arc = f"@app\nxy\n@ws\n@plugins\nmy-plugin\n@cdn\n{proxy}@create\nautocreate true\n"
    assert load(tmp_path, {"app.arc": arc}).not_emulated == ("plugins", "cdn", "create")


def test_ws_routes_always_have_connect_default_disconnect(tmp_path: Path) -> None:
    arc = "@app\nxy\n@ws\nping\ndefault\nlegacy\n  src lib/legacy\n"
    manifest = load(tmp_path, {"app.arc": arc})
    assert [(w.name, w.function.src_dir.relative_to(manifest.root)) for w in manifest.ws] == [
        ("connect", Path("src/ws/connect")),
        ("default", Path("src/ws/default")),
        ("disconnect", Path("src/ws/disconnect")),
        ("ping", Path("src/ws/ping")),
        ("legacy", Path("lib/legacy")),
    ]
    assert load(tmp_path, {"app.arc": "@app\nxy\n"}).ws == ()


def test_proxy_urls_by_environment(tmp_path: Path) -> None:
    arc = "@app\nxy\n@http\nget /\n@proxy\ntesting http://localhost:8000/\nstaging http://s\nproduction https://example.org\n"
    assert load(tmp_path, {"app.arc": arc}).proxy == {
        "testing": "http://localhost:8000",
        "staging": "http://s",
        "production": "https://example.org",
    }


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        pytest.param("dev http://a", "unknown", id="unknown-env"),
        pytest.param("testing ftp://a", "http:// or https://", id="not-http"),
        pytest.param("testing http://a\nproduction http://c", r"missing: staging\)", id="an-environment-missing"),
    ],
)
def test_proxy_errors(tmp_path: Path, lines: str, problem: str) -> None:
    with pytest.raises(ManifestError, match=problem):
        load(tmp_path, {"app.arc": f"@app\nxy\n@http\nget /\n@proxy\n{lines}\n"})


def test_proxy_needs_http(tmp_path: Path) -> None:
    arc = "@app\nxy\n@proxy\ntesting http://a\nstaging http://b\nproduction http://c\n"
    with pytest.raises(ManifestError, match="@proxy needs @http"):
        load(tmp_path, {"app.arc": arc})


def test_shared_and_views_custom_src_and_views_route_list(tmp_path: Path) -> None:
    arc = "@app\nxy\n@http\nget /a\nget /b\nany /c\n@shared\nsrc lib/common\n@views\nsrc lib/tpl\nget /b\n"
    manifest = load(tmp_path, {"app.arc": arc, "lib/common/x.py": "", "lib/tpl/y.py": ""})
    root = tmp_path / "app"
    assert (manifest.shared_dir, manifest.views_dir) == (root / "lib/common", root / "lib/tpl")
    assert [(r.path, r.function.views) for r in manifest.http] == [("/a", False), ("/b", True), ("/c", False)]


def test_indexes_alias_and_rates(tmp_path: Path) -> None:
    arc = (
        "@app\nxy\n@tables\ntb1\n  pk *String\n  sk **\n@indexes\ntb1\n  sk *Number\n  pk **string\n"
        '@scheduled\na rate(1 Minute)\nb rate(10 minutes)\nc\n  cron "cron(*/5 * ? * MON#2 2030)"  # quoted: # starts a comment\n'
    )
    manifest = load(tmp_path, {"app.arc": arc})
    (table,) = manifest.tables
    assert table.sort_key == KeyAttr("sk", "S")
    assert table.indexes == (IndexSpec("sk-pk-index", KeyAttr("sk", "N"), KeyAttr("pk", "S")),)
    assert [(s.rate, s.cron) for s in manifest.scheduled] == [
        ("1 minute", None),
        ("10 minutes", None),
        (None, "*/5 * ? * MON#2 2030"),
    ]


@pytest.mark.parametrize(
    ("stream", "streamed"),
    [pytest.param("true", True, id="stream-true"), pytest.param("false", False, id="stream-false")],
)
def test_legacy_table_stream_makes_a_stream_function(tmp_path: Path, stream: str, streamed: bool) -> None:
    arc = f"@app\nxy\n@tables\nnotes\n  id *String\n  stream {stream}\n"
    manifest = load(tmp_path, {"app.arc": arc})
    assert manifest.not_emulated == ()
    assert manifest.tables[0].stream is streamed
    assert [(s.name, s.table, s.function.src_dir) for s in manifest.tables_streams] == (
        [("notes", "notes", tmp_path / "app/src/tables-streams/notes")] if streamed else []
    )


def test_legacy_table_stream_keeps_an_existing_src_tables_folder(tmp_path: Path) -> None:
    arc = "@app\nxy\n@tables\nnotes\n  id *String\n  stream true\n"
    manifest = load(tmp_path, {"app.arc": arc, "src/tables/notes/index.py": ""})
    assert manifest.tables_streams[0].function.src_dir == tmp_path / "app/src/tables/notes"


def test_tables_streams_names_tables_and_folders(tmp_path: Path) -> None:
    arc = (
        "@app\nxy\n@tables\nnotes\n  id *String\n  stream true\nusers\n  id *String\n"
        "@tables-streams\nusers\naudit\n  table notes\n  src lib/audit\n"
    )
    manifest = load(tmp_path, {"app.arc": arc})
    root = tmp_path / "app"
    assert [(s.name, s.table, s.function.src_dir, s.function.pragma) for s in manifest.tables_streams] == [
        ("users", "users", root / "src/tables-streams/users", "tables-streams"),
        ("audit", "notes", root / "lib/audit", "tables-streams"),  # `stream true` on notes adds nothing more
    ]
    assert [t.stream for t in manifest.tables] == [True, True]


def test_tables_streams_on_an_unknown_table_is_an_error(tmp_path: Path) -> None:
    arc = "@app\nxy\n@tables\nnotes\n  id *String\n@tables-streams\naudit\n  table nope\n"
    with pytest.raises(ManifestError, match="unknown table 'nope'"):
        load(tmp_path, {"app.arc": arc})
