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
MIN_YEAR, MAX_YEAR = 1970, 2199  # EventBridge's range for the year field


def rate_seconds(rate: str) -> float:
    match = re.fullmatch(r"\s*(\d+)\s+([a-zA-Z]+)\s*", rate)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValidationError(f"rate({rate}) is not 'N minute(s)|hour(s)|day(s)'")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _aws_dow_to_cron(field: str) -> str:
    """EventBridge counts days of the week 1-7 from Sunday, cron 0-6; EventBridge's last Friday of the month
    is `6L` (and `L` alone is Saturday), croniter's `L5`."""

    def day(name: str) -> str:
        if name.isdigit():
            return str(int(name) - 1)
        return str(_DOW_NAMES[name.upper()] - 1) if name.upper() in _DOW_NAMES else name

    def convert(token: str) -> str:
        if token.upper() == "L":
            return "6"
        if len(token) > 1 and token[-1] in "Ll":
            return "L" + day(token[:-1])
        name, sep, nth = token.partition("#")
        return day(name) + sep + nth

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
        span, _, step = part.partition("/")
        low, _, high = span.partition("-")
        first = MIN_YEAR if low == "*" else int(low)
        last = MAX_YEAR if low == "*" or (step and not high) else int(high or low)
        years |= set(range(first, last + 1, int(step or 1)))
    return years


def _last_weekday(day: dt.datetime) -> bool:
    """Whether `day` is the last Monday-to-Friday of its month (EventBridge's `LW`)."""
    following = day + dt.timedelta(days=1)
    while following.month == day.month:
        if following.weekday() < 5:
            return False
        following += dt.timedelta(days=1)
    return day.weekday() < 5


def check_cron(expression: str) -> None:
    """Raise ValidationError saying what is wrong with a six-field EventBridge cron expression, if anything
    (the manifest's check, so that a mistake stops start-up at its line rather than the scheduler)."""
    _Cron.parse(expression).next_from(dt.datetime.now(dt.UTC), tries=1)


@dataclass(frozen=True)
class _Cron:
    """An EventBridge cron expression as croniter reads it, with what croniter cannot say itself."""

    text: str
    expression: str  # five croniter fields
    years: set[int] | None  # None: any year
    last_weekday: bool  # EventBridge's LW: croniter is given the days it can fall on, then each is checked

    @classmethod
    def parse(cls, text: str) -> _Cron:
        fields = text.split()
        if len(fields) != 6:
            raise ValidationError(f"a cron expression has 6 fields, found {len(fields)}")
        minute, hour, dom, month, dow, year = fields
        if "?" not in (dom, dow):
            raise ValidationError("one of day-of-month and day-of-week must be ?")
        last_weekday = dom.upper() == "LW"
        days = "26-31" if last_weekday else dom.replace("?", "*")
        expression = " ".join([minute, hour, days, month, _aws_dow_to_cron(dow.replace("?", "*"))])
        try:
            years = _years(year)
        except ValueError:
            raise ValidationError(f"{year!r} is not a valid year field") from None
        return cls(text, expression, years, last_weekday)

    def next_from(self, start: dt.datetime, *, tries: int = 10_000) -> dt.datetime | None:
        """The first firing after `start`, looking at up to `tries` of croniter's candidates."""
        from croniter import CroniterError, croniter  # here: most apps have no cron() schedule, and start faster

        years = self.years
        try:
            iterator = croniter(self.expression, start, day_or=False)
            for _ in range(tries):
                candidate: dt.datetime = iterator.get_next(dt.datetime)
                if years and candidate.year > max(years):
                    return None
                if (years is None or candidate.year in years) and (not self.last_weekday or _last_weekday(candidate)):
                    return candidate
        except (CroniterError, ValueError, KeyError) as error:
            raise ValidationError(f"not a valid EventBridge cron expression (croniter: {error})") from None
        return None


@dataclass(frozen=True)
class Schedule:
    spec: ScheduleSpec

    def next_after(self, now: float) -> float | None:
        """The first firing strictly after `now` (epoch seconds); None if there is none."""
        if self.spec.rate is not None:
            return now + rate_seconds(self.spec.rate)
        assert self.spec.cron is not None
        zone = ZoneInfo(self.spec.timezone) if self.spec.timezone else dt.UTC
        found = _Cron.parse(self.spec.cron).next_from(dt.datetime.fromtimestamp(now, tz=zone))
        return None if found is None else found.timestamp()
