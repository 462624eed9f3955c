"""Every manifest mistake is a ManifestError naming the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.errors import ManifestError
from sandbox.manifest import load_manifest

KNOWN = (
    "@app @aws @cdn @create @events @http @plugins @proxy @queues @scheduled @shared @static @tables @tables-indexes "
    "@tables-streams @views @ws"
)
RATE_HINT = "expected rate(N unit) with unit minute, hour or day: rate(1 day), rate(5 minutes)"


def arc(body: str) -> dict[str, str]:
    return {"app.arc": "@app\nmy-app\n" + body}


CASES = [
    # @app
    pytest.param(
        {"app.arc": "@http\nget /\n"},
        "app.arc",
        None,
        "@app is missing: add `@app` followed by a line with the app's name",
        id="app-missing",
    ),
    pytest.param(
        {"app.arc": "@app\nMy-App\n"},
        "app.arc",
        2,
        "invalid app name 'My-App': lower-case letter first, then letters, digits, - or _ (2 to 100 characters)",
        id="app-bad-name",
    ),
    pytest.param(
        {"app.arc": "@app\nmy app\n"},
        "app.arc",
        1,
        "@app takes exactly one name on the line after it",
        id="app-two-words",
    ),
    pytest.param(
        {"app.arc": "@app\n"}, "app.arc", 1, "@app takes exactly one name on the line after it", id="app-empty"
    ),
    pytest.param(arc("@lambda\nfoo\n"), "app.arc", 3, f"unknown pragma @lambda (known: {KNOWN})", id="unknown-pragma"),
    # @http
    pytest.param(
        arc("@http\nfetch /\n"),
        "app.arc",
        4,
        "unknown HTTP method 'fetch' (use one of: get post put patch delete options head any)",
        id="http-method",
    ),
    pytest.param(arc("@http\nget notes\n"), "app.arc", 4, "route path 'notes' must start with /", id="http-no-slash"),
    pytest.param(
        arc("@http\nget /notes/\n"), "app.arc", 4, "route path '/notes/' must not end with /", id="http-trailing-slash"
    ),
    pytest.param(arc("@http\nget /a//b\n"), "app.arc", 4, "route path '/a//b' must not contain //", id="http-double"),
    pytest.param(
        arc("@http\nget /*/x\n"),
        "app.arc",
        4,
        "route path '/*/x': * is only allowed as the whole last part (/*)",
        id="http-star",
    ),
    pytest.param(
        arc("@http\nget /a/:b+c\n"),
        "app.arc",
        4,
        "route path '/a/:b+c' has characters other than letters, digits and / - : . _ *",
        id="http-char",
    ),
    pytest.param(arc("@http\nget /a b\n"), "app.arc", 4, "@http 'get /a b': expected `method /path`", id="http-3"),
    pytest.param(arc("@http\n/a\n"), "app.arc", 4, "@http '/a': expected `method /path`", id="http-scalar"),
    pytest.param(
        arc("@http\n/a\n  src x\n"),
        "app.arc",
        4,
        "@http /a: add a `method get` (or post, put, …) line under it",
        id="http-map-no-method",
    ),
    pytest.param(
        arc("@http\n/a\n  method get\n  handler x\n"),
        "app.arc",
        6,
        "unknown @http /a setting 'handler' (known: method, src)",
        id="http-map-unknown-key",
    ),
    pytest.param(
        arc("@http\nget /a\npost /a\nGET /a\n"),
        "app.arc",
        6,
        "duplicate route get /a (first on line 4)",
        id="http-duplicate",
    ),
    # @events / @queues
    pytest.param(arc("@events\na\nb\na\n"), "app.arc", 6, "duplicate event 'a' (first on line 4)", id="event-dup"),
    pytest.param(
        arc("@events\nmy/event\n"),
        "app.arc",
        4,
        "bad event 'my/event' (letters, digits, - _ . only, starting with a letter or digit)",
        id="event-name",
    ),
    pytest.param(arc("@events\na b\n"), "app.arc", 4, "event 'a b': expected one name per line", id="event-array"),
    pytest.param(
        arc("@events\na\n  x\n  y\n"), "app.arc", 4, "event 'a': expected `key value` lines under it", id="event-vector"
    ),
    pytest.param(arc("@queues\nq\nq\n"), "app.arc", 5, "duplicate queue 'q' (first on line 4)", id="queue-dup"),
    pytest.param(
        arc("@queues\nq\n  batchSize 0\n"),
        "app.arc",
        5,
        "@queues q batchSize must be a whole number from 1 to 10000, not 0",
        id="queue-batch",
    ),
    pytest.param(
        arc("@queues\nq\n  batchWindow 301\n"),
        "app.arc",
        5,
        "@queues q batchWindow must be a number of seconds from 0 to 300, not 301",
        id="queue-window",
    ),
    pytest.param(
        arc("@queues\nq\n  fifo yes\n"),
        "app.arc",
        5,
        "@queues q fifo must be true or false, not 'yes'",
        id="queue-fifo",
    ),
    pytest.param(
        arc("@queues\nq\n  visibility -1\n"),
        "app.arc",
        5,
        "@queues q visibility must be a positive number of seconds, not -1",
        id="queue-visibility",
    ),
    pytest.param(
        arc("@queues\nq\n  retries 3\n"),
        "app.arc",
        5,
        "unknown @queues q setting 'retries' (known: src, fifo, batchSize, batchWindow, visibility, visibilityTimeout)",
        id="queue-unknown",
    ),
    # @scheduled
    pytest.param(
        arc("@scheduled\nnightly\n"),
        "app.arc",
        4,
        "@scheduled nightly: add rate(…) or cron(…) after the name",
        id="schedule-bare",
    ),
    pytest.param(
        arc("@scheduled\nn every day\n"),
        "app.arc",
        4,
        "@scheduled n: expected rate(…) or cron(…), got 'every day'",
        id="schedule-not-an-expression",
    ),
    pytest.param(arc("@scheduled\nn rate(1 days)\n"), "app.arc", 4, "bad rate '1 days': write 1 day", id="rate-plural"),
    pytest.param(
        arc("@scheduled\nn rate(2 hour)\n"), "app.arc", 4, "bad rate '2 hour': write 2 hours", id="rate-singular"
    ),
    pytest.param(
        arc("@scheduled\nn rate(0 minutes)\n"),
        "app.arc",
        4,
        "bad rate '0 minutes': the number must be 1 or more",
        id="rate-zero",
    ),
    pytest.param(
        arc("@scheduled\nn rate(2 weeks)\n"),
        "app.arc",
        4,
        f"bad rate '2 weeks': unknown unit 'weeks'; {RATE_HINT}",
        id="rate-unit",
    ),
    pytest.param(arc("@scheduled\nn rate(soon)\n"), "app.arc", 4, f"bad rate 'soon': {RATE_HINT}", id="rate-text"),
    pytest.param(
        arc("@scheduled\nn cron(0 15 * * ?)\n"),
        "app.arc",
        4,
        "bad cron '0 15 * * ?': a cron expression has 6 fields (minutes hours day-of-month month day-of-week "
        "year), found 5",
        id="cron-fields",
    ),
    pytest.param(
        arc("@scheduled\nn cron(0 25h * * ? *)\n"),
        "app.arc",
        4,
        "bad cron '0 25h * * ? *': '25h' is not a valid hours field",
        id="cron-hours",
    ),
    pytest.param(
        arc('@scheduled\nn cron(0 1 * * "MON#1" 20?)\n'),
        "app.arc",
        4,
        "bad cron '0 1 * * MON#1 20?': '20?' is not a valid year field",
        id="cron-year",
    ),
    pytest.param(
        arc("@scheduled\nn\n  timezone UTC\n"),
        "app.arc",
        4,
        "@scheduled n: needs exactly one of `rate` or `cron`",
        id="schedule-map-neither",
    ),
    pytest.param(
        arc("@scheduled\nn\n  rate 1 day\n  cron 0 1 * * ? *\n"),
        "app.arc",
        4,
        "@scheduled n: needs exactly one of `rate` or `cron`",
        id="schedule-map-both",
    ),
    pytest.param(
        arc("@scheduled\nn\n  rate 1 day\n  timezone Mars/Olympus\n"),
        "app.arc",
        6,
        "unknown timezone 'Mars/Olympus' (an IANA name such as America/New_York)",
        id="schedule-timezone",
    ),
    pytest.param(
        arc("@http\nget /a/:id/b/:id\n"),
        "app.arc",
        4,
        "route path '/a/:id/b/:id' names the parameter :id twice",
        id="route-param-twice",
    ),
    pytest.param(
        arc("@scheduled\nn cron(15 10 ? * 6X *)\n"),
        "app.arc",
        4,
        "bad cron '15 10 ? * 6X *': not a valid EventBridge cron expression (croniter: [15 10 * * 6x] is not acceptable)",
        id="schedule-cron-unknown-day",
    ),
    pytest.param(
        arc("@scheduled\nn cron(0 12 1 * MON *)\n"),
        "app.arc",
        4,
        "bad cron '0 12 1 * MON *': one of day-of-month and day-of-week must be ?",
        id="schedule-cron-both-days",
    ),
    pytest.param(
        arc("@scheduled\nn\n  rate cron(1 2 3 4 5 6)\n"),
        "app.arc",
        5,
        "rate is set to a cron() expression",
        id="schedule-rate-holds-cron",
    ),
    pytest.param(
        arc("@scheduled\nn rate(1 day)\nn rate(2 days)\n"),
        "app.arc",
        5,
        "duplicate scheduled 'n' (first on line 4)",
        id="schedule-dup",
    ),
    # @tables / @tables-indexes
    pytest.param(
        arc("@tables\nnotes\n"),
        "app.arc",
        4,
        "table 'notes' has no partition key: add an indented line such as `id *String`",
        id="table-bare",
    ),
    pytest.param(
        arc("@tables\nnotes\n  sk **String\n"),
        "app.arc",
        4,
        "table 'notes' has no partition key: add a line such as `id *String`",
        id="table-no-pk",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *Strng\n"),
        "app.arc",
        5,
        "bad key type '*Strng' for 'id': use *String, *Number, **String or **Number",
        id="table-key-type",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n  a **String\n  b **Number\n"),
        "app.arc",
        7,
        "table 'notes' has two sort key (**)s: 'a' and 'b'",
        id="table-two-sort-keys",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n  id2 *\n"),
        "app.arc",
        6,
        "table 'notes' has two partition key (*)s: 'id' and 'id2'",
        id="table-two-partition-keys",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n  colour blue\n"),
        "app.arc",
        6,
        "table 'notes': don't know colour 'blue' (a key *String, **Number, an attribute marked TTL, encrypt, "
        "PITR or stream)",
        id="table-unknown-line",
    ),
    pytest.param(
        arc("@tables\nab\n  id *String\n"),
        "app.arc",
        4,
        "bad table name 'ab' (3-255 letters, digits, / - . _)",
        id="table-name",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\nnotes\n  id *String\n"),
        "app.arc",
        6,
        "duplicate table 'notes' (first on line 4)",
        id="table-dup",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n@tables-indexes\npeople\n  email *String\n"),
        "app.arc",
        7,
        "index on unknown table 'people' (tables: notes)",
        id="index-unknown-table",
    ),
    pytest.param(
        arc("@tables-indexes\npeople\n  email *String\n"),
        "app.arc",
        4,
        "index on unknown table 'people' (tables: none)",
        id="index-no-tables",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n@tables-indexes\nnotes\n  name Foo\n"),
        "app.arc",
        7,
        "index on 'notes' has no partition key: add a line such as `id *String`",
        id="index-no-pk",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n@tables-indexes\nnotes\n  a *String\nnotes\n  a *String\n"),
        "app.arc",
        9,
        "table 'notes' already has an index named 'a-index'",
        id="index-dup-name",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n@tables-indexes\nnotes\n  a *String\n  projection keys x\n"),
        "app.arc",
        9,
        "projection is `all`, `keys` or a list of attribute names, not a mix",
        id="index-projection-mix",
    ),
    pytest.param(
        arc("@tables\nnotes\n  id *String\n@tables-indexes\nnotes\n  a *String\n@indexes\nnotes\n  b *\n"),
        "app.arc",
        9,
        "@indexes is the old name of @tables-indexes: use only one",
        id="indexes-both",
    ),
    # @aws, @static, @shared
    pytest.param(
        arc("@aws\ntimeout 0\n"),
        "app.arc",
        4,
        "@aws timeout must be a positive number of seconds, not 0",
        id="aws-timeout-zero",
    ),
    pytest.param(
        arc("@aws\ntimeout soon\n"),
        "app.arc",
        4,
        "@aws timeout must be a positive number of seconds, not 'soon'",
        id="aws-timeout-text",
    ),
    pytest.param(arc("@aws\ntimeout 1 2\n"), "app.arc", 4, "@aws timeout takes one value, got 2", id="aws-timeout-2"),
    pytest.param(
        arc("@aws\napigateway graphql\n"),
        "app.arc",
        4,
        "bad @aws apigateway 'graphql' (use one of: http, httpv2, httpv1, rest)",
        id="aws-apigateway",
    ),
    pytest.param(
        arc("@aws\nmemory 64\n"),
        "app.arc",
        4,
        "memory must be a whole number from 128 to 10240, not 64",
        id="aws-memory",
    ),
    pytest.param(
        arc("@aws\nregion us-east-1\nregion us-east-2\n"), "app.arc", 5, "@aws 'region' is set twice", id="aws-twice"
    ),
    pytest.param(
        arc("@aws\nzone a\n"),
        "app.arc",
        4,
        "unknown @aws setting 'zone' (known: region, profile, runtime, memory, timeout, concurrency, layers, "
        "policies, architecture, storage, apigateway, bucket)",
        id="aws-unknown",
    ),
    pytest.param(
        arc("@static\nspa maybe\n"), "app.arc", 4, "@static spa must be true or false, not 'maybe'", id="static-spa"
    ),
    pytest.param(
        arc("@static\nbase /x\n"),
        "app.arc",
        4,
        "unknown @static setting 'base' (known: fingerprint, folder, ignore, prefix, prune, spa, compression, "
        "staging, production)",
        id="static-unknown",
    ),
    # config.arc, arc.json, package.json
    pytest.param(
        arc("@events\nping\n") | {"src/events/ping/config.arc": "@aws\n\ntimeout -5\n"},
        "src/events/ping/config.arc",
        3,
        "@aws timeout must be a positive number of seconds, not -5",
        id="config-timeout",
    ),
    pytest.param(
        arc("@events\nping\n") | {"src/events/ping/config.arc": "@aws\ntimeout 1\n@http\n"},
        "src/events/ping/config.arc",
        3,
        "unknown pragma @http in a function config (known: @aws, @arc)",
        id="config-pragma",
    ),
    pytest.param(
        arc("@events\nping\n") | {"src/events/ping/config.arc": "@arc\nenv maybe\n"},
        "src/events/ping/config.arc",
        2,
        "@arc env must be true or false, not 'maybe'",
        id="config-env",
    ),
    pytest.param(
        arc("@events\nping\n") | {"src/events/ping/config.arc": "@arc\nhydrate false\n"},
        "src/events/ping/config.arc",
        2,
        "unknown @arc setting 'hydrate' (known: env, shared, views, ignoreDependencies)",
        id="config-arc-key",
    ),
    pytest.param(
        arc("@events\nping\n") | {"src/events/ping/config.arc": "@aws\ntimeout {5}\n"},
        "src/events/ping/config.arc",
        2,
        "reserved character '{' (quote the value if you need it)",
        id="config-grammar",
    ),
    pytest.param(
        {"arc.json": '{\n  "app": "x",\n}\n'},
        "arc.json",
        3,
        "invalid JSON: Expecting property name enclosed in double quotes (column 1)",
        id="arc-json-syntax",
    ),
    pytest.param(
        {"arc.json": '["app"]'}, "arc.json", None, "the manifest must be an object of pragmas", id="arc-json-shape"
    ),
    pytest.param(
        {"arc.json": '{"app": "my-app", "http": [["get", {"a": 1}]]}'},
        "arc.json",
        None,
        "@http: expected a string, number or boolean, got dict",
        id="arc-json-nested",
    ),
    pytest.param(
        {"arc.json": '{"app": "my-app", "http": [["get", "/a/"]]}'},
        "arc.json",
        None,
        "route path '/a/' must not end with /",
        id="arc-json-semantic",
    ),
    pytest.param(
        {"arc.json": '{"app": "my-app", "events": [[]]}'},
        "arc.json",
        None,
        "@events: an empty list is not an item",
        id="arc-json-empty-item",
    ),
    pytest.param(
        {"arc.json": '{"app": "my-app", "events": ["a", "a"]}'},
        "arc.json",
        None,
        "duplicate event 'a'",
        id="arc-json-duplicate-has-no-line",
    ),
    pytest.param(
        arc("@http\nget\n  /a\n  /b\n"), "app.arc", 4, "@http 'get': expected `method /path`", id="http-vector"
    ),
    pytest.param(
        {"package.json": '{"arc": {"app": "Bad"}}'},
        "package.json",
        None,
        "invalid app name 'Bad': lower-case letter first, then letters, digits, - or _ (2 to 100 characters)",
        id="package-json",
    ),
    pytest.param(
        {"arc.yaml": "app: [unclosed\n"},
        "arc.yaml",
        2,
        "invalid YAML: expected ',' or ']', but got '<stream end>'",
        id="arc-yaml-syntax",
    ),
]


@pytest.mark.parametrize(("files", "culprit", "line", "problem"), CASES)
def test_manifest_errors(tmp_path: Path, files: dict[str, str], culprit: str, line: int | None, problem: str) -> None:
    root = tmp_path / "app"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(root, home=tmp_path)
    where = f"{root / culprit}:{line}" if line else str(root / culprit)
    assert str(caught.value) == f"{where}: {problem}"


def test_shared_src_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "app.arc").write_text("@app\nmy-app\n@shared\nsrc lib/nowhere\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "app", home=tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'app' / 'app.arc'}:4: @shared src folder {tmp_path / 'app' / 'lib' / 'nowhere'} does not exist"
    )


def test_missing_project_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "nowhere", home=tmp_path)
    assert str(caught.value) == f"{tmp_path / 'nowhere'}: the project folder does not exist"


LINE_POOL = [
    "@http",
    "@events",
    "@queues",
    "@scheduled",
    "@tables",
    "@tables-indexes",
    "@aws",
    "@static",
    "@shared",
    "@views",
    "@ws",
    "get /",
    "post /a/:b",
    "any /*",
    "name",
    "other",
    "x y z",
    "  src lib",
    "  method get",
    "  id *String",
    "  sk **Number",
    "  ttl TTL",
    "  fifo false",
    "  batchSize 3",
    "  rate 1 day",
    "  cron 0 1 * * ? *",
    "  key",
    "    value",
    "timeout 3",
    "apigateway rest",
    "spa true",
    "false",
    "n rate(2 hours)",
    "n cron(0 1 * * ? *)",
    "  projection keys",
    "  name Idx",
    "",
    "# comment",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(LINE_POOL), max_size=14))
def test_load_manifest_only_ever_raises_manifest_errors(tmp_path: Path, lines: list[str]) -> None:
    (tmp_path / "app.arc").write_text("@app\nmy-app\n" + "\n".join(lines) + "\n")
    try:
        load_manifest(tmp_path, home=tmp_path)
    except ManifestError as error:
        assert error.path.name in ("app.arc", "config.arc")
        assert error.line is None or 1 <= error.line <= len(lines) + 2
