"""The README documents every CLI command and option, every understood pragma, and the plugin's fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from sandbox.cli import cli
from sandbox.manifest import KNOWN_PRAGMAS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def cli_options() -> list[str]:
    found = []
    assert isinstance(cli, click.Group)
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):  # not `cli.commands`: it holds only the subcommands imported so far
        command = cli.get_command(ctx, name)
        assert command is not None
        found.append(f"arc-sandbox {name}")
        for param in command.params:
            if isinstance(param, click.Option):
                found += [opt for opt in param.opts if opt.startswith("--") and opt != "--help"]
    return found


@pytest.mark.parametrize("text", cli_options())
def test_docs_readme_mentions_cli(text: str) -> None:
    assert text in README


@pytest.mark.parametrize("pragma", sorted(KNOWN_PRAGMAS))
def test_docs_readme_mentions_pragma(pragma: str) -> None:
    assert f"@{pragma}" in README


@pytest.mark.parametrize("fixture", ["arc_sandbox", "arc_client", "arc_clock", "arc_app_dir", "arc_sandbox_app"])
def test_docs_readme_mentions_plugin_fixture(fixture: str) -> None:
    assert f"`{fixture}`" in README or f"{fixture} =" in README


def test_docs_readme_names_every_public_name_and_its_base() -> None:
    import sandbox
    from sandbox import errors

    section = README[README.index("### Embedding the sandbox") :]
    section = section[: section.index("\n## ")].replace("\n", " ")
    for name in sandbox.__all__:
        if name != "__version__":
            assert f"`{name}`" in section, name
    # "X and its kinds `A`, `B`": each kind really is a subclass of X.
    families = re.findall(r"`(\w+)` and its kinds ((?:`\w+`(?:,| and)? ?)+)", section)
    assert [base for base, _ in families] == ["StartupError", "InvocationError", "AwsError"]
    for base, kinds in families:
        for kind in re.findall(r"`(\w+)`", kinds):
            assert issubclass(getattr(errors, kind), getattr(errors, base)), (kind, base)
