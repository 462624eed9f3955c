"""`arc-sandbox`: start an app, scaffold one, reset its data, fire a function by hand."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import signal
from pathlib import Path

import click

from sandbox._cli.lazy import LazyGroup
from sandbox._version import __version__
from sandbox.config import DATA_DIR, DB_FILE, SandboxConfig
from sandbox.errors import StartupError

APP_DIR = click.Path(file_okay=False, path_type=Path)


@click.group(
    cls=LazyGroup,
    lazy={name: f"sandbox._cli.commands:{name}" for name in ("tables", "messages", "replay", "purge", "logs")},
)
@click.version_option(__version__, prog_name="arc-sandbox")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """A local sandbox for Architect-style Python serverless apps."""
    from sandbox.console import colour_choice

    ctx.color = colour_choice()  # NO_COLOR / FORCE_COLOR, else colour only on a terminal


@cli.command()
@click.argument("app_dir", type=APP_DIR, default=".")
@click.option("-p", "--port", type=click.IntRange(0, 65535), help="HTTP port (default 3333; 0 picks a free one).")
@click.option("-h", "--host", default="127.0.0.1", show_default=True, help="Address to bind every service to.")
@click.option("--events-port", type=click.IntRange(0, 65535), help="Events/queues port (default 4444).")
@click.option("--tables-port", type=click.IntRange(0, 65535), help="DynamoDB port (default 5555).")
@click.option("--internal-port", type=click.IntRange(0, 65535), help="SSM discovery / livereload port (default 2222).")
@click.option("--memory", is_flag=True, help="Keep tables and queues in memory only: nothing is written to disk.")
@click.option("--no-watch", is_flag=True, help="Do not reload on file changes.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option(
    "--requests",
    "show_requests",
    type=click.Choice(["all", "errors"]),
    default="all",
    show_default=True,
    help="Request lines to print: all, or only errors (hides 2xx and 304, e.g. a page polling).",
)
@click.option("-v", "--verbose", is_flag=True, help="More detail, ports included.")
def start(
    app_dir: Path,
    port: int | None,
    host: str,
    events_port: int | None,
    tables_port: int | None,
    internal_port: int | None,
    memory: bool,
    no_watch: bool,
    quiet: bool,
    show_requests: str,
    verbose: bool,
) -> None:
    """Start the app in APP_DIR (default: the current folder)."""
    config = SandboxConfig(
        app_dir=app_dir.resolve(),
        host=host,
        http_port=port,
        events_port=events_port,
        tables_port=tables_port,
        internal_port=internal_port,
        memory=memory,
        quiet=quiet or bool(os.environ.get("ARC_QUIET") or os.environ.get("QUIET")),
        verbose=verbose,
        show_requests=show_requests,
        watch=not no_watch,
    )
    run_sandbox(config)


def run_sandbox(config: SandboxConfig) -> None:
    """Run until Ctrl-C or SIGTERM; a start-up failure is one line and a non-zero exit."""
    from sandbox.console import setup_logging

    setup_logging(
        quiet=config.quiet, verbose=config.verbose, requests="errors" if config.show_requests == "errors" else "all"
    )
    try:
        from sandbox.event_loop import new_event_loop

        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(_serve_until_signalled(config))
    except StartupError as error:
        raise click.ClickException(error.message) from None


async def _serve_until_signalled(config: SandboxConfig) -> None:
    from sandbox.console import banner
    from sandbox.sandbox import Sandbox

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox(config)
    try:
        async with sandbox:
            _collect_garbage_again()
            if not config.quiet:
                click.echo(banner(sandbox, verbose=config.verbose), err=True)
            await stop.wait()
            click.echo("Stopping: finishing in-flight work…", err=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _collect_garbage_again() -> None:
    """`arc-sandbox start` ran with the collector off (`_entry.py`): on again, with everything start-up
    built moved out of its reach, since it all lives as long as the process."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


@cli.command()
@click.argument("dest", type=APP_DIR, default=".")
@click.option("--name", "app_name", help="The @app name (default: the folder's name).")
def init(dest: Path, app_name: str | None) -> None:
    """Scaffold a project in DEST: app.arc and a Python handler per function (never overwrites)."""
    from sandbox.scaffold import init_project

    written = init_project(dest.resolve(), app_name=app_name)
    for path in written:
        click.echo(f"  created {path}")
    click.echo(f"{len(written)} file(s) written" if written else "Nothing to do: every handler already exists.")


@cli.command()
@click.argument("app_dir", type=APP_DIR, default=".")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(app_dir: Path, yes: bool) -> None:
    """Delete the app's stored tables and queued messages (APP_DIR/.sandbox)."""
    data = app_dir.resolve() / DATA_DIR
    if not data.exists():
        click.echo(f"Nothing to reset: {data} does not exist.")
        return
    _refuse_while_running(data)
    if not yes:
        click.confirm(f"Delete {data} (all tables and queued messages)?", abort=True)
        _refuse_while_running(data)  # it may have started while we asked
    shutil.rmtree(data)
    click.echo(f"Deleted {data}")


def _refuse_while_running(data: Path) -> None:
    """A running sandbox keeps writing to the file it has open: deleting it under it loses data silently."""
    from sandbox.datalock import holder_of

    holder = holder_of(data / DB_FILE)
    if holder is not None:
        raise click.ClickException(
            f"a sandbox is running on this app{holder}: stop it (Ctrl-C) before resetting {data}"
        )


@cli.command()
@click.argument("pragma", type=click.Choice(["events", "queues", "scheduled"]))
@click.argument("name")
@click.argument("payload", default="{}")
@click.option(
    "--app", "app_dir", type=APP_DIR, default=".", show_default=True, help="The app folder (prefs.arc ports)."
)
@click.option("--events-port", type=int, help="The running sandbox's events port (default: as `start` picks it).")
def invoke(pragma: str, name: str, payload: str, app_dir: Path, events_port: int | None) -> None:
    """Fire one event, queue message or scheduled function in a running sandbox, by hand."""
    from sandbox._cli.client import SandboxClient, sandbox_port

    try:
        data = json.loads(payload)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="PAYLOAD") from None
    port = sandbox_port(app_dir.resolve(), "events", events_port)
    result = SandboxClient(port).send("POST", "/_sandbox/invoke", {"pragma": pragma, "name": name, "payload": data})
    click.echo(json.dumps(result, indent=2))
    if not result.get("ok", False):
        raise SystemExit(1)


if __name__ == "__main__":  # `python -m sandbox.cli ...` works too, not only `python -m sandbox` and `arc-sandbox`
    cli()
