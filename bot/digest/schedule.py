"""Digest schedules: standard five-field cron in a time zone, checked before anything is stored.

APScheduler 3's `CronTrigger` is not crontab: it numbers weekdays from Monday (0 = Monday) where cron
counts from Sunday, and it ANDs day-of-month with day-of-week where cron ORs them. Given to
`CronTrigger.from_crontab`, `0 9 * * 1-5` fires Tuesday to Saturday. So expressions are parsed here:
weekdays become names (`mon-fri`), and the both-days form, which the two would read differently, is
refused with a clear error instead of being guessed.

The slot arithmetic (`latest_slot`) is pure and takes `now` as an argument, so misfire decisions
can be tested with a controlled clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.errors import InputError

MIN_INTERVAL = timedelta(hours=1)
"""A digest is a summary: more than one an hour would be a monitoring feed, and would be muted."""

MISFIRE_GRACE = timedelta(minutes=30)
"""How late a digest may still be posted (a rollout, a node drain, a leader change). Later than
that it competes with the team's day and the next slot says the same: it is skipped with a log
line. Longer than the store's 10-minute claim lease, so a slot whose claimer died is still taken
over in time; shorter than MIN_INTERVAL, so a late slot is never confused with the next one."""

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbering: 0 (and 7) = Sunday
_TOKEN = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")
_ALLOWED = re.compile(r"^[0-9a-z*,/-]+$")
_CRON_TZ = re.compile(r"^CRON_TZ=(\S+)\s+(.*)$")
_PROBE = 48  # fire times looked at for the minimum interval (two days of hourly digests)


@dataclass(frozen=True)
class Schedule:
    """A validated cron expression (as the user wrote it) and its IANA time zone."""

    cron: str
    timezone: str = "UTC"

    @property
    def label(self) -> str:
        return f"{self.cron} ({self.timezone})"

    def trigger(self) -> CronTrigger:
        return _trigger(self.cron, self.timezone)

    def next_runs(self, after: datetime, count: int = 3) -> list[datetime]:
        return fire_times(self.trigger(), after, count)


def parse_schedule(text: str, default_timezone: str = "UTC") -> Schedule:
    """`0 9 * * 1-5`, `CRON_TZ=Europe/Paris 0 9 * * 1-5` or a macro (`@daily`); InputError says what is wrong."""
    text = " ".join((text or "").split())
    timezone = default_timezone
    prefixed = _CRON_TZ.match(text)
    if prefixed:
        timezone, text = prefixed.group(1), prefixed.group(2)
    if not text:
        raise InputError('empty cron expression: give five fields, e.g. "0 9 * * 1-5" (09:00 on weekdays)')
    schedule = Schedule(text, zone(timezone).key)
    trigger = schedule.trigger()
    _check_interval(schedule, trigger)
    return schedule


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or UTC") from None


def fire_times(trigger: CronTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times at or after `after`."""
    return list(islice(_fire_times(trigger, after), count))


def _fire_times(trigger: CronTrigger, after: datetime) -> Iterator[datetime]:
    moment = trigger.get_next_fire_time(None, after)
    while moment is not None:
        yield moment
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))


def latest_slot(trigger: CronTrigger, now: datetime, window: timedelta = MISFIRE_GRACE) -> datetime | None:
    """The last fire time in [now - window, now]: the slot a digest is still owed for, if any."""
    latest = None
    for moment in _fire_times(trigger, now - window):
        if moment > now:
            break
        latest = moment
    return latest


def _trigger(cron: str, timezone: str) -> CronTrigger:
    expr = MACROS.get(cron.lower(), cron)
    fields = expr.split()
    if len(fields) != 5:
        got = f"{len(fields)} field{'s' * (len(fields) != 1)}"
        zone_last = len(fields) == 6 and "/" in fields[5] and fields[5][0].isupper()
        hint = " (a time zone goes first: CRON_TZ=Europe/Paris 0 9 * * 1-5)" if zone_last else ""
        raise InputError(
            f"cron {cron!r} has {got}; it needs five: minute hour day-of-month month day-of-week "
            f'(e.g. "0 9 * * 1-5" for 09:00 on weekdays){hint}'
        )
    fields = [f.lower() for f in fields]
    for name, value in zip(FIELDS, fields, strict=True):
        if not _ALLOWED.match(value):
            raise InputError(f"cron {cron!r}: {name} {value!r} is not standard cron (digits, names, * , - /)")
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise InputError(
            f"cron {cron!r} restricts both day of month and day of week; cron would run on either, "
            "this scheduler only on both: restrict one of them"
        )
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekdays(weekday, cron),
            timezone=zone(timezone),
        )
    except ValueError as exc:
        raise InputError(f"cron {cron!r}: {_culprit(fields)}{exc}") from None


def _culprit(fields: list[str]) -> str:
    """`hour '25': ` for the first field APScheduler refuses on its own (its errors do not name it)."""
    keys = ("minute", "hour", "day", "month")
    for name, key, value in zip(FIELDS, keys, fields, strict=False):
        try:
            CronTrigger(**{key: value})
        except ValueError:
            return f"{name} {value!r}: "
    return ""


def _weekdays(field: str, cron: str) -> str:
    """Cron's day-of-week field as APScheduler day names (`1-5` -> `mon,tue,wed,thu,fri`)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for token in field.split(","):
        match = _TOKEN.match(token)
        if not match:
            raise InputError(f"cron {cron!r}: day of week {token!r} is not a day, a range or a step")
        span, step = match.group(1), int(match.group(2) or 1)
        if step < 1:
            raise InputError(f"cron {cron!r}: day of week step must be at least 1")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _day(low, cron)
            last = _day(high, cron) if high else (6 if match.group(2) else first)
            if high and last == 0 and first > 0:
                last = 7  # `5-7` and `5-0`... Sunday closes a range as 7
            if last < first:
                raise InputError(f"cron {cron!r}: day of week range {span!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _day(token: str, cron: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token[:3] in _DAY_NAMES and len(token) == 3:
        return _DAY_NAMES.index(token)
    raise InputError(f"cron {cron!r}: {token!r} is not a day of week (0-7 or sun-sat)")


def _check_interval(schedule: Schedule, trigger: CronTrigger) -> None:
    start = datetime(2030, 1, 7, tzinfo=zone(schedule.timezone))  # a fixed Monday: the answer never flickers
    times = fire_times(trigger, start, _PROBE)
    if not times:
        raise InputError(f"cron {schedule.cron!r} never fires")
    gaps = [b - a for a, b in pairwise(times)]
    if gaps and min(gaps) < MIN_INTERVAL:
        minutes = int(min(gaps).total_seconds() // 60)
        raise InputError(
            f"cron {schedule.cron!r} fires every {minutes} minutes; a digest may run at most once an hour"
        )
