"""@scheduled: `name rate(1 day)`, `name cron(0 15 ? * FRI *)` or a map with rate/cron/timezone/src."""

from __future__ import annotations

import re
import zoneinfo

from sandbox._manifest import values as v
from sandbox._manifest.functions import FunctionFactory
from sandbox._manifest.nodes import ArcDoc, Item
from sandbox.errors import ValidationError
from sandbox.messaging.schedules import check_cron
from sandbox.model import ScheduleSpec

WRAPPED = re.compile(r"(rate|cron)\((.*)\)")
RATE = re.compile(r"([0-9]+) +([a-zA-Z]+)")
UNITS = ("minute", "hour", "day")
KEYS = ("rate", "cron", "timezone", "src")
# The characters EventBridge accepts in each field of its six-field cron.
CRON_FIELDS = {
    "minutes": re.compile(r"[\d,*/-]+"),
    "hours": re.compile(r"[\d,*/-]+"),
    "day-of-month": re.compile(r"[\d,*/?LW-]+"),
    "month": re.compile(r"[\da-zA-Z,*/?LW-]+"),
    "day-of-week": re.compile(r"[\da-zA-Z,*?L#-]+"),
    "year": re.compile(r"[\d,*/-]+"),
}


def _rate(doc: ArcDoc, line: int | None, text: str) -> str:
    match = RATE.fullmatch(text.strip())
    hint = "expected rate(N unit) with unit minute, hour or day: rate(1 day), rate(5 minutes)"
    if not match:
        raise doc.error(line, f"bad rate {text!r}: {hint}")
    count, unit = int(match[1]), match[2].lower()
    if count < 1:
        raise doc.error(line, f"bad rate {text!r}: the number must be 1 or more")
    singular = unit.removesuffix("s")
    if singular not in UNITS:
        raise doc.error(line, f"bad rate {text!r}: unknown unit {unit!r}; {hint}")
    expected = singular if count == 1 else singular + "s"
    if unit != expected:
        raise doc.error(line, f"bad rate {text!r}: write {count} {expected}")
    return f"{count} {unit}"


def _cron(doc: ArcDoc, line: int | None, text: str) -> str:
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        raise doc.error(
            line,
            f"bad cron {text!r}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"found {len(fields)}",
        )
    for field, (label, allowed) in zip(fields, CRON_FIELDS.items(), strict=True):
        if not allowed.fullmatch(field):
            raise doc.error(line, f"bad cron {text!r}: {field!r} is not a valid {label} field")
    expression = " ".join(fields)
    try:
        check_cron(expression)
    except ValidationError as error:
        raise doc.error(line, f"bad cron {text!r}: {error.message}") from None
    return expression


def _unwrap(doc: ArcDoc, line: int | None, kind: str, text: str) -> str:
    match = WRAPPED.fullmatch(text.strip())
    if match is None:
        return text
    if match[1] != kind:
        raise doc.error(line, f"{kind} is set to a {match[1]}() expression")
    return match[2]


def _expression(doc: ArcDoc, item: Item, name: str) -> tuple[str | None, str | None]:
    """(rate, cron) text without the wrapper."""
    if item.kind == "array":
        text = " ".join(item.texts[1:])
        match = WRAPPED.fullmatch(text)
        if match is None:
            raise doc.error(item.line, f"@scheduled {name}: expected rate(…) or cron(…), got {text!r}")
        kind, inner = match[1], match[2]
        return (_rate(doc, item.line, inner), None) if kind == "rate" else (None, _cron(doc, item.line, inner))
    rate, cron = item.entry("rate"), item.entry("cron")
    if (rate is None) == (cron is None):
        raise doc.error(item.line, f"@scheduled {name}: needs exactly one of `rate` or `cron`")
    if rate is not None:
        return _rate(doc, rate.line, _unwrap(doc, rate.line, "rate", rate.text)), None
    assert cron is not None
    return None, _cron(doc, cron.line, _unwrap(doc, cron.line, "cron", cron.text))


def _timezone(doc: ArcDoc, item: Item) -> str | None:
    entry = item.entry("timezone")
    if entry is None:
        return None
    zone = v.text(doc, entry, "timezone")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise doc.error(entry.line, f"unknown timezone {zone!r} (an IANA name such as America/New_York)") from None
    return zone


def _check(doc: ArcDoc, item: Item, name: str) -> None:
    if item.kind == "scalar":
        raise doc.error(item.line, f"@scheduled {name}: add rate(…) or cron(…) after the name")
    if item.kind == "vector":
        raise doc.error(item.line, f"@scheduled {name}: expected `rate …`, `cron …` lines under it")
    for entry in item.entries:
        if entry.key not in KEYS:
            raise v.unknown(doc, entry, f"@scheduled {name}", KEYS)


def scheduled(doc: ArcDoc, factory: FunctionFactory) -> tuple[ScheduleSpec, ...]:
    section = doc.get("scheduled")
    found: dict[str, ScheduleSpec] = {}
    lines: dict[str, int | None] = {}
    for item in section.items if section else ():
        name = item.head
        if not v.LOOSE_NAME.fullmatch(name):
            raise doc.error(item.line, f"bad scheduled name {name!r} (letters, digits, - _ . only)")
        if name in found:
            raise doc.error(item.line, f"duplicate scheduled {name!r}{v.first_on(lines[name])}")
        _check(doc, item, name)
        rate, cron = _expression(doc, item, name)
        src_dir = factory.src_dir("scheduled", name, item.entry("src"))
        function = factory.build("scheduled", name, src_dir).spec
        found[name] = ScheduleSpec(name, function, rate=rate, cron=cron, timezone=_timezone(doc, item))
        lines[name] = item.line
    return tuple(found.values())
