"""What a developer sees in the terminal: the banner, the route table, one coloured line per event.

Only the CLI calls `setup_logging`; the library just logs to the `arc_sandbox` logger.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, TextIO

import click

from sandbox.config import DEFAULT_PORTS

if TYPE_CHECKING:
    from sandbox.sandbox import Sandbox

LOGGER_NAME = "arc_sandbox"
ShowRequests = Literal["all", "errors"]
QUIET_STATUSES = range(200, 300)
NOT_MODIFIED = 304  # a polling page's "nothing new": as quiet as a 2xx
CLEAR_PREVIOUS_LINE = "\x1b[1A\r\x1b[2K"
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


def colour_choice(environ: Mapping[str, str] | None = None) -> bool | None:
    """NO_COLOR (https://no-color.org) turns colour off, FORCE_COLOR on; None: colour when writing to a terminal."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return None


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    choice = colour_choice(environ)
    return stream.isatty() if choice is None else choice


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """One line per record, except request lines: 2xx ones hidden when asked, identical ones in a row collapsed.

    "GET /tasks 200" a second time in a row rewrites the last line as "... (x2)" on a terminal; elsewhere
    the repeats are counted and said once the run ends, so logs stay greppable.
    """

    def __init__(self, stream: TextIO, *, requests: ShowRequests = "all", rewrite: bool = False) -> None:
        super().__init__(stream)
        self.requests = requests
        self.rewrite = rewrite
        self._last_key: tuple[object, ...] | None = None
        self._repeats = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:  # noqa: BLE001 - logging's own contract: a handler reports, never raises
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        key = _request_key(record)
        if key is not None and self.requests == "errors" and _is_quiet(record):
            return
        if key is not None and key == self._last_key:
            self._repeats += 1
            if self.rewrite:
                self.stream.write(f"{CLEAR_PREVIOUS_LINE}{self.format(record)} {_dim(f'(x{self._repeats + 1})')}\n")
                self.flush()
            return
        self._end_run()
        self._last_key = key
        super().emit(record)

    def _end_run(self) -> None:
        if self._repeats and not self.rewrite:
            self.stream.write(f"  (the line above repeated {self._repeats} more time(s))\n")
        self._repeats = 0
        self._last_key = None


def _request_key(record: logging.LogRecord) -> tuple[object, ...] | None:
    if getattr(record, "kind", None) != "request":
        return None
    head = record.args[:2] if isinstance(record.args, tuple) and len(record.args) > 1 else ("", "")
    return (*head, getattr(record, "status", None))


def _is_quiet(record: logging.LogRecord) -> bool:
    status = getattr(record, "status", None)
    return isinstance(status, int) and (status in QUIET_STATUSES or status == NOT_MODIFIED)


def setup_logging(
    *, quiet: bool, verbose: bool, stream: TextIO | None = None, requests: ShowRequests = "all"
) -> logging.Logger:
    stream = stream or sys.stderr
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    colour = use_colour(stream)
    handler = ConsoleHandler(stream, requests=requests, rewrite=colour and stream.isatty())
    handler.setFormatter(ConsoleFormatter(colour=colour))
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
    ports = sandbox.ports
    if verbose or any(ports.get(service) != port for service, port in DEFAULT_PORTS.items()):
        lines.insert(
            -1,
            f"Using ports: http: {ports['http']}, events/queues: {ports['events']}, tables: {ports['tables']}, "
            f"_arc: {ports['internal']}",
        )
    for route in m.http:
        src = route.function.src_dir.relative_to(m.root) if route.function.src_dir.is_relative_to(m.root) else ""
        lines.append(f"  {route.method:<7} {route.path} {'.' * max(2, 44 - len(route.path))} {src}")
    if m.ws:
        ws_url = "ws" + sandbox.url.removeprefix("http")
        lines.append(f"  {'@ws':<11} {', '.join(w.name for w in m.ws)} {_dim('on ' + ws_url)}")
    for kind, names in (
        ("@events", [e.name for e in m.events]),
        ("@queues", [q.name for q in m.queues]),
        ("@scheduled", [s.name for s in m.scheduled]),
        ("@tables", [t.name for t in m.tables]),
        ("@tables-streams", [s.name for s in m.tables_streams]),
        ("@ws", [w.name for w in m.ws]),
    ):
        if names:
            lines.append(f"  {kind:<11} {', '.join(names)}")
    for pragma in m.not_emulated:
        hint = " (`arc-sandbox init` writes missing handlers)" if pragma == "create" else ""
        lines.append(click.style(f"  ⚠ @{pragma} is parsed but not emulated yet{hint}", fg="yellow"))
    if any(sandbox.restored.values()):
        lines.append(f"  ↺ Restored from the last run: {restored_text(sandbox.restored)}")
    internal = sandbox.ports.get("internal")
    lines += ["", click.style(sandbox.url, bold=True)]
    lines += _bind_lines(sandbox.config.host)
    if internal:
        lines.append(f"{_dim('Dashboard')} ⌁ http://localhost:{internal}/")
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


def restored_text(counts: Mapping[str, int]) -> str:
    names = {
        "messages": "queued message(s)", "retries": "event retry(ies)", "invokes": "Lambda async invoke(s)",
        "dead_letters": "dead letter(s)",
    }  # fmt: skip
    return ", ".join(f"{n} {names[k]}" for k, n in counts.items() if n and k in names)
