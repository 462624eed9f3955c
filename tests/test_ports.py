"""Port resolution: flags over prefs.arc over environment variables over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.errors import StartupError
from sandbox.model import Ports
from sandbox.ports import PortChoice, resolve_ports


def choose(environ: dict[str, str] | None = None, prefs: Ports | None = None, **flags: int) -> dict[str, PortChoice]:
    config = SandboxConfig(app_dir=Path("."), **flags)  # type: ignore[arg-type]
    return resolve_ports(config, prefs or Ports(), environ or {})


def test_ports_default_to_architects() -> None:
    got = choose()
    assert {k: v.port for k, v in got.items()} == {"http": 3333, "events": 4444, "tables": 5555, "internal": 2222}
    assert got["http"].fixed and not got["events"].fixed


@pytest.mark.parametrize(
    ("environ", "prefs", "flags", "service", "expected"),
    [
        pytest.param({"ARC_HTTP_PORT": "4000"}, None, {}, "http", 4000, id="env-http"),
        pytest.param({"PORT": "4001"}, None, {}, "http", 4001, id="env-PORT"),
        pytest.param({"ARC_HTTP_PORT": "4000", "PORT": "4001"}, None, {}, "http", 4000, id="ARC_HTTP_PORT-first"),
        pytest.param({"ARC_EVENTS_PORT": "4500"}, None, {}, "events", 4500, id="env-events"),
        pytest.param({"ARC_TABLES_PORT": "4600"}, None, {}, "tables", 4600, id="env-tables"),
        pytest.param({"ARC_INTERNAL_PORT": "4700"}, None, {}, "internal", 4700, id="env-internal"),
        pytest.param({"ARC_HTTP_PORT": "4000"}, Ports(http=5000), {}, "http", 5000, id="prefs-over-env"),
        pytest.param({}, Ports(http=5000), {"http_port": 0}, "http", 0, id="flag-over-prefs"),
        pytest.param({}, None, {"tables_port": 9000}, "tables", 9000, id="flag-tables"),
    ],
)
def test_ports_resolution_order(
    environ: dict[str, str], prefs: Ports | None, flags: dict[str, int], service: str, expected: int
) -> None:
    choice = choose(environ, prefs, **flags)[service]
    assert choice == PortChoice(expected, fixed=True)


def test_ports_reject_a_variable_that_is_not_a_port() -> None:
    with pytest.raises(StartupError, match="ARC_EVENTS_PORT='abc' is not a port number"):
        choose({"ARC_EVENTS_PORT": "abc"})
    with pytest.raises(StartupError, match="0-65535"):
        choose({"PORT": "99999"})
