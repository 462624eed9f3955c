"""What a developer sees in the terminal: the banner, the route table, one coloured line per event.

Only the CLI calls `setup_logging`; the library just logs to the `arc_sandbox` logger.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from sandbox.sandbox import Sandbox

LOGGER_NAME = "arc_sandbox"
_LEVEL_COLOURS = {logging.WARNING: "yellow", logging.ERROR: "red", logging.CRITICAL: "red"}


def _status_colour(status: int) -> str:
    return "green" if status < 300 else "cyan" if status < 400 else "yellow" if status < 500 else "red"


class ConsoleFormatter(logging.Formatter):
    def __init__(self, *, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if not self.colour:
            return text
        status = getattr(record, "status", None)
        if isinstance(status, int):
            method, _, rest = text.partition(" ")
            return f"{click.style(method, bold=True)} {click.style(rest, fg=_status_colour(status))}"
        colour = _LEVEL_COLOURS.get(record.levelno)
        return click.style(text, fg=colour) if colour else text


def setup_logging(*, quiet: bool, verbose: bool, stream: TextIO | None = None) -> logging.Logger:
    stream = stream or sys.stderr
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ConsoleFormatter(colour=stream.isatty()))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return logger


def banner(sandbox: Sandbox, *, verbose: bool) -> str:
    m = sandbox.manifest
    lines = [
        f"{_dim('App')}      ⌁ {m.app}",
        f"{_dim('Region')}   ⌁ {m.aws.region}",
        f"{_dim('Env')}      ⌁ {sandbox.arc_env}",
        f"{_dim('cwd')}      ⌁ {m.root}",
        f"{_dim('Data')}     ⌁ {_data_line(sandbox)}",
        "",
    ]
    if verbose:
        ports = sandbox.ports
        lines.insert(
            -1,
            f"Using ports: http: {ports['http']}, events/queues: {ports['events']}, tables: {ports['tables']}, "
            f"_arc: {ports['internal']}",
        )
    for route in m.http:
        src = route.function.src_dir.relative_to(m.root) if route.function.src_dir.is_relative_to(m.root) else ""
        lines.append(f"  {route.method:<7} {route.path} {'.' * max(2, 44 - len(route.path))} {src}")
    for kind, names in (
        ("@events", [e.name for e in m.events]),
        ("@queues", [q.name for q in m.queues]),
        ("@scheduled", [s.name for s in m.scheduled]),
        ("@tables", [t.name for t in m.tables]),
    ):
        if names:
            lines.append(f"  {kind:<11} {', '.join(names)}")
    for pragma in m.not_emulated:
        lines.append(click.style(f"  ⚠ @{pragma} is parsed but not emulated yet", fg="yellow"))
    lines += ["", click.style(sandbox.url, bold=True)]
    lines += _bind_lines(sandbox.config.host)
    if sandbox.started_in is not None:
        lines.append(f"✓ Sandbox started in {sandbox.started_in * 1000:.0f}ms")
    lines.append("❤︎ Local environment ready!")
    return "\n".join(lines)


def _bind_lines(host: str) -> list[str]:
    """Where the ports really listen, when that is more than this machine."""
    from sandbox.guard import EVERY_INTERFACE, is_loopback

    if is_loopback(host):
        return []
    where = f"{host or '0.0.0.0'} (every network interface)" if host in EVERY_INTERFACE else host
    text = f"⚠ Bound to {where}: other machines can reach the app and the sandbox's own ports"
    return [click.style(text, fg="yellow")]


def _dim(text: str) -> str:
    return click.style(text, fg="bright_black")


def _data_line(sandbox: Sandbox) -> str:
    path = sandbox.config.database_path
    if path is None:
        return "in memory (gone when the sandbox stops)"
    return f"{path} (reset with `arc-sandbox reset`, or start with --memory)"
