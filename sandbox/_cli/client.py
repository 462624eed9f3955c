"""Find a running sandbox's ports as `start` chose them, and call its endpoints as JSON."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from sandbox._manifest.prefs import load_prefs
from sandbox.config import SandboxConfig
from sandbox.datalock import running_ports
from sandbox.errors import ManifestError
from sandbox.model import Ports
from sandbox.ports import resolve_ports

DASHBOARD_API = "/_dashboard/api"


def sandbox_port(app_dir: Path, service: str, flag: int | None) -> int:
    """The port of `service` of the sandbox running for `app_dir`: the flag, else the port that sandbox
    recorded in its data folder (it may have moved past a busy one), else the one `start` would choose
    (prefs.arc, ARC_*_PORT, the default)."""
    if flag is not None:
        return flag
    config = SandboxConfig(app_dir=app_dir)
    if config.database_path is not None:
        recorded = running_ports(config.database_path).get(service)
        if recorded is not None:
            return recorded
    try:
        prefs = load_prefs(app_dir, Path.home()).ports  # prefs.arc only: app.arc's functions are not needed
    except ManifestError:
        prefs = Ports()  # a broken prefs.arc or .env must not stop us reaching a sandbox started before it broke
    return resolve_ports(config, prefs, os.environ)[service].port


class SandboxClient:
    def __init__(self, port: int, *, host: str = "127.0.0.1") -> None:
        self.port = port
        self.base = f"http://{host}:{port}"

    def _open(self, request: urllib.request.Request, timeout: float) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read() or b"{}").get("error") or str(error)
            except ValueError:
                message = str(error)
            raise click.ClickException(message) from None
        except urllib.error.URLError as error:
            raise click.ClickException(self._unreachable(error.reason)) from None

    def _unreachable(self, reason: object) -> str:
        return (
            f"no sandbox answers on port {self.port}: {reason} "
            "(is `arc-sandbox start` running for this app? --app and the port options point elsewhere)"
        )

    def get(self, path: str, params: dict[str, Any] | None = None, *, timeout: float = 30) -> Any:
        query = {k: str(v) for k, v in (params or {}).items() if v not in (None, "")}
        url = self.base + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        return self._open(urllib.request.Request(url), timeout)

    def send(self, method: str, path: str, body: dict[str, Any], *, timeout: float = 60) -> Any:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        return self._open(request, timeout)

    def stream(self, path: str) -> Iterator[tuple[str, Any]]:
        """Server-sent events as (event, data) until the sandbox stops."""
        try:
            response = urllib.request.urlopen(self.base + path, timeout=None)
        except urllib.error.URLError as error:
            raise click.ClickException(self._unreachable(error.reason)) from None
        with response:
            kind, data = "message", ""
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    yield kind, json.loads(data)
                    kind, data = "message", ""
