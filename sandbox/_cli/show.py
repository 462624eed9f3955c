"""How the CLI prints what a running sandbox reports: readable times, one line per thing, colour when wanted."""

from __future__ import annotations

import json
import time
from typing import Any

import click

STATUS_COLOURS = {
    "ok": "green", "running": "blue", "error": "red", "crash": "red", "oom": "red", "timeout": "yellow",
    "pending": "white", "in_flight": "blue", "delayed": "yellow", "retrying": "yellow", "dead": "red",
}  # fmt: skip


def clock(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}"


def when(epoch: float | None, now: float) -> str:
    """ "14:03:07 (in 28s)" / "14:02:30 (9s ago)"."""
    if epoch is None:
        return "-"
    seconds = round(epoch - now)
    if abs(seconds) < 1:
        return f"{clock(epoch)} (now)"
    span = abs(seconds)
    text = f"{span}s" if span < 120 else f"{span // 60}m" if span < 7200 else f"{span // 3600}h"
    return f"{clock(epoch)} ({'in ' + text if seconds > 0 else text + ' ago'})"


def status(value: str, width: int = 9) -> str:
    return click.style(value.ljust(width), fg=STATUS_COLOURS.get(value))


def compact(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def invocation_line(inv: dict[str, Any]) -> str:
    duration = "" if inv.get("duration_ms") is None else f"{inv['duration_ms']:.1f}ms"
    line = (
        f"{clock(inv['started_at'])} {status(inv['status'])} {inv['function']:<24} "
        f"{'@' + inv['trigger']:<11} {duration:>9}  {click.style(inv['request_id'], dim=True)}"
    )
    if inv.get("error"):
        line += "\n    " + click.style(inv["error"], fg="red")
    return line
