"""Which port each service listens on: flag, then prefs.arc, then environment variable, then default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.config import DEFAULT_PORTS, SandboxConfig
from sandbox.errors import StartupError
from sandbox.model import Ports

SERVICES = ("http", "events", "tables", "internal")
ENV_VARS: dict[str, tuple[str, ...]] = {
    "http": ("ARC_HTTP_PORT", "PORT"),
    "events": ("ARC_EVENTS_PORT",),
    "tables": ("ARC_TABLES_PORT",),
    "internal": ("ARC_INTERNAL_PORT",),
}


@dataclass(frozen=True)
class PortChoice:
    port: int
    fixed: bool  # asked for explicitly: a busy port is an error rather than a reason to try the next one


def resolve_ports(config: SandboxConfig, prefs: Ports, environ: Mapping[str, str]) -> dict[str, PortChoice]:
    flags = {"http": config.http_port, "events": config.events_port, "tables": config.tables_port}
    flags["internal"] = config.internal_port
    from_prefs = {"http": prefs.http, "events": prefs.events, "tables": prefs.tables, "internal": prefs.internal}
    choices: dict[str, PortChoice] = {}
    for service in SERVICES:
        chosen = flags[service] if flags[service] is not None else from_prefs[service]
        if chosen is None:
            chosen = _from_environ(service, environ)
        if chosen is None:
            # Architect never moves the http port: a browser tab and docs point at it.
            choices[service] = PortChoice(DEFAULT_PORTS[service], fixed=service == "http")
        else:
            choices[service] = PortChoice(chosen, fixed=True)
    return choices


def _from_environ(service: str, environ: Mapping[str, str]) -> int | None:
    for var in ENV_VARS[service]:
        raw = environ.get(var)
        if raw:
            try:
                port = int(raw)
            except ValueError:
                raise StartupError(f"{var}={raw!r} is not a port number") from None
            if not 0 <= port <= 65535:
                raise StartupError(f"{var}={raw!r} is not a port number (0-65535)")
            return port
    return None
