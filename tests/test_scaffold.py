"""arc-sandbox init: a starter project, missing handlers for an existing manifest, never overwriting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sandbox.cli import cli
from sandbox.manifest import load_manifest
from sandbox.scaffold import init_project


def test_scaffold_writes_a_starter_project_that_loads(tmp_path: Path) -> None:
    written = init_project(tmp_path / "My App")
    names = sorted(str(p.relative_to(tmp_path / "My App")) for p in written)
    assert names == ["app.arc", "src/events/hello/lambda.py", "src/http/get-index/lambda.py"]
    assert load_manifest(tmp_path / "My App").app == "my-app"
    assert init_project(tmp_path / "My App") == []  # idempotent


def test_scaffold_fills_in_missing_handlers_without_overwriting(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text("@app\nmine\n@http\nget /\npost /notes/:id\n@queues\njobs\n")
    (tmp_path / "src" / "http" / "get-index").mkdir(parents=True)
    (tmp_path / "src" / "http" / "get-index" / "index.py").write_text("# mine\n")
    written = init_project(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == [
        "src/http/post-notes-000id/lambda.py",
        "src/queues/jobs/lambda.py",
    ]
    assert (tmp_path / "src" / "http" / "get-index" / "index.py").read_text() == "# mine\n"


def test_scaffold_through_the_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "x"), "--name", "named-app"])
    assert result.exit_code == 0, result.output
    assert "3 file(s) written" in result.output
    assert load_manifest(tmp_path / "x").app == "named-app"


def test_scaffold_writes_ws_and_table_stream_handlers_that_load(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text("@app\nmine\n@tables\nnotes\n  id *String\n@tables-streams\nnotes\n@ws\nping\n")
    written = init_project(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == [
        "src/tables-streams/notes/lambda.py",
        "src/ws/connect/lambda.py",
        "src/ws/default/lambda.py",
        "src/ws/disconnect/lambda.py",
        "src/ws/ping/lambda.py",
    ]
    for path in written:
        namespace: dict[str, object] = {}
        exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102
        assert callable(namespace["handler"]), path
