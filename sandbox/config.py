"""SandboxConfig: everything a Sandbox needs to start, built once by the CLI or by a test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORTS = {"http": 3333, "events": 4444, "tables": 5555, "internal": 2222}
DATA_DIR = ".sandbox"
DB_FILE = "data.db"


@dataclass(frozen=True)
class SandboxConfig:
    """Ports left as None are resolved at start: prefs.arc, then ARC_*_PORT variables, then defaults.

    Port 0 asks the OS for a free port; the sandbox reports the real one.
    """

    app_dir: Path
    host: str = DEFAULT_HOST
    http_port: int | None = None
    events_port: int | None = None
    tables_port: int | None = None
    internal_port: int | None = None
    memory: bool = False  # throw-away database (tests); otherwise <app>/.sandbox/data.db
    db_path: Path | None = None  # overrides the default file location
    arc_env: str | None = None  # None: prefs.arc @sandbox env, else "testing"
    quiet: bool = False
    verbose: bool = False
    show_requests: str = "all"  # "errors": the console hides 2xx (and 304) request lines
    watch: bool = False  # hot reload; the CLI turns it on
    livereload: bool | None = None  # None: prefs.arc, default on
    shutdown_grace: float = 10.0  # seconds in-flight work may take to finish on stop
    run_schedules: bool = True  # fire @scheduled functions from the clock
    concurrency: int = 10  # execution environments per function; calls beyond it queue
    idle_timeout: float = 600.0  # seconds an unused execution environment stays warm
    launcher: str = "auto"  # "fork" (from a warm template), "spawn" (a fresh interpreter), "auto"
    header_timeout: float = 15.0  # seconds a connection may take to send a complete request line and headers
    body_timeout: float = 30.0  # seconds a request may take to send its body
    max_connections: int | None = None  # open connections, all ports together; None: from the file limit

    @property
    def database_path(self) -> Path | None:
        """None for an in-memory database."""
        if self.memory:
            return None
        return self.db_path or (self.app_dir / DATA_DIR / DB_FILE)

    @classmethod
    def ephemeral(cls, app_dir: Path, **overrides: Any) -> Self:
        """Free ports, an in-memory database, quiet: what tests and benchmarks start."""
        settings: dict[str, Any] = {
            "http_port": 0,
            "events_port": 0,
            "tables_port": 0,
            "internal_port": 0,
            "memory": True,
            "quiet": True,
        }
        return cls(app_dir=app_dir, **{**settings, **overrides})
