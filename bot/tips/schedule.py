"""When a tip is due: local dates and times in the subscription's time zone (zoneinfo, DST aware).

A tip is due on a local date when the subscription's days include that date and the local
wall-clock time has reached the subscription's time. Comparing wall-clock times makes DST
simple: on a spring-forward day a 02:30 subscription in a zone that jumps from 02:00 to
03:00 is due at 03:00 (the first local time at or after 02:30); on a fall-back day the
first 01:30 makes it due and the post row stops the second.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import AdvisorError

DAYS = ("weekdays", "daily")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(AdvisorError, ValueError):
    """An invalid time, time zone or days value; the message says what is accepted."""


def check_subscription(
    local_time: str, tz: str, days: str, *, canonical: bool = False
) -> tuple[str, str, str]:
    """The one check of a subscription's schedule: ``(HH:MM, zone, days)`` normalised, or
    ScheduleError naming the bad value. ``canonical`` (the store's check before it writes a
    row) also refuses what would need normalising, such as ``9:00``."""
    if days not in DAYS:
        raise ScheduleError(f"invalid days {days!r}: use one of {', '.join(DAYS)}")
    checked_time, checked_tz = parse_local_time(local_time), parse_tz(tz)
    if canonical and checked_time != local_time:
        raise ScheduleError(_bad_time(local_time))
    if canonical and checked_tz != tz:
        raise ScheduleError(_bad_tz(tz))
    return checked_time, checked_tz, days


def _bad_time(value) -> str:
    return f"invalid time {value!r}: use 24-hour HH:MM, e.g. 09:00"


def _bad_tz(value) -> str:
    return f"unknown time zone {value!r}: use Area/City, e.g. Europe/Paris"


def parse_local_time(value: str) -> str:
    """``"9:05"`` -> ``"09:05"``; raises ScheduleError for anything but a 24-hour HH:MM."""
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ScheduleError(_bad_time(value))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_tz(value: str) -> str:
    """A valid IANA time zone name such as ``Europe/Paris``; raises ScheduleError otherwise."""
    name = value.strip() if isinstance(value, str) else ""
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ScheduleError(_bad_tz(value))
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(_bad_tz(value)) from None
    return name


def parse_now(value: str | None) -> datetime:
    """An ISO-8601 instant (naive means UTC); None means the current time."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ScheduleError(f"invalid time {value!r}: use ISO-8601, e.g. 2024-03-10T09:00:00+01:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _clock(local_time: str) -> time:
    hours, minutes = local_time.split(":")
    return time(int(hours), int(minutes))


def runs_on(days: str, day: date) -> bool:
    return days == "daily" or day.weekday() < 5


def due_date(*, local_time: str, tz: str, days: str, now: datetime) -> date | None:
    """The local date whose tip is due at ``now``, or None if nothing is due yet today.

    Only today counts: a tip missed earlier today is still due (catch-up after downtime);
    earlier days are never due again.
    """
    local_now = now.astimezone(ZoneInfo(tz))
    today = local_now.date()
    if not runs_on(days, today):
        return None
    if local_now.time().replace(tzinfo=None) < _clock(local_time):
        return None
    return today


def next_due(*, local_time: str, tz: str, days: str, now: datetime, posted_today: bool) -> datetime:
    """The local moment of the next tip (now, if one is due and not yet posted)."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    day = local_now.date()
    if due_date(local_time=local_time, tz=tz, days=days, now=now) and not posted_today:
        return local_now
    clock = _clock(local_time)
    if posted_today or local_now.time().replace(tzinfo=None) >= clock or not runs_on(days, day):
        day += timedelta(days=1)
    while not runs_on(days, day):
        day += timedelta(days=1)
    return first_local_moment(day, clock, zone)


def first_local_moment(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant on ``day`` whose local wall time is at or after ``clock``.

    Usually ``day clock`` itself. For a wall time skipped by a DST jump it is the jump: 03:00
    for 02:30 in Los Angeles on 2024-03-10, and 01:00 on 2024-09-08 for 00:00 (or 00:30) in
    Santiago, whose clocks go from 23:59:59 on the 7th straight to 01:00 on the 8th: the answer
    is always on ``day``, never the evening before.
    """
    moment = datetime.combine(day, clock, tzinfo=zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment.replace(tzinfo=None):
        return moment
    # In a DST gap the two readings of the wall time bracket the jump; find it by the minute.
    earlier = min(moment.astimezone(UTC), moment.replace(fold=1).astimezone(UTC))
    for minute in range(0, 25 * 60):
        candidate = (earlier + timedelta(minutes=minute)).astimezone(zone)
        if candidate.date() > day or (candidate.date() == day and candidate.time() >= clock):
            return candidate
    return moment
