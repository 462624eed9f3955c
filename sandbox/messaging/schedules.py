"""When a @scheduled function fires next: EventBridge's rate() and six-field cron(), with time zones."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sandbox.errors import ValidationError
from sandbox.model import ScheduleSpec

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_DOW_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def rate_seconds(rate: str) -> float:
    match = re.fullmatch(r"\s*(\d+)\s+([a-zA-Z]+)\s*", rate)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValidationError(f"rate({rate}) is not 'N minute(s)|hour(s)|day(s)'")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _aws_dow_to_cron(field: str) -> str:
    """EventBridge counts days of the week 1-7 from Sunday; cron counts 0-6."""

    def convert(token: str) -> str:
        name, sep, nth = token.partition("#")
        if name.isdigit():
            name = str(int(name) - 1)
        elif name.upper() in _DOW_NAMES:
            name = str(_DOW_NAMES[name.upper()] - 1)
        return name + sep + nth

    out = []
    for part in field.split(","):
        step = ""
        if "/" in part:
            part, step = part.split("/", 1)
            step = "/" + step
        out.append("-".join(convert(t) for t in part.split("-")) + step)
    return ",".join(out)


def _years(field: str) -> set[int] | None:
    if field in ("*", "?"):
        return None
    years: set[int] = set()
    for part in field.split(","):
        low, _, high = part.partition("-")
        years |= set(range(int(low), int(high or low) + 1))
    return years


@dataclass(frozen=True)
class Schedule:
    spec: ScheduleSpec

    def next_after(self, now: float) -> float | None:
        """The first firing strictly after `now` (epoch seconds); None if there is none."""
        if self.spec.rate is not None:
            return now + rate_seconds(self.spec.rate)
        assert self.spec.cron is not None
        fields = self.spec.cron.split()
        if len(fields) != 6:
            raise ValidationError(f"cron({self.spec.cron}) must have 6 fields")
        minute, hour, dom, month, dow, year = fields
        expression = " ".join([minute, hour, dom.replace("?", "*"), month, _aws_dow_to_cron(dow.replace("?", "*"))])
        zone = ZoneInfo(self.spec.timezone) if self.spec.timezone else dt.UTC
        start = dt.datetime.fromtimestamp(now, tz=zone)
        years = _years(year)
        from croniter import croniter  # here: most apps have no cron() schedule, and start faster without it

        iterator = croniter(expression, start, day_or=False)
        for _ in range(10_000):
            candidate: dt.datetime = iterator.get_next(dt.datetime)
            if years is None or candidate.year in years:
                return candidate.timestamp()
            if years and candidate.year > max(years):
                return None
        return None
