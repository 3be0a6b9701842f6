"""When a tip is due: local dates and times in the subscription's time zone (zoneinfo, DST aware).

A tip is due on a local date when the subscription's days include that date and the local
wall-clock time has reached the subscription's time. Comparing wall-clock times makes DST
simple: on a spring-forward day a 02:30 subscription in a zone that jumps from 02:00 to
03:00 is due at 03:00 (the first local time at or after 02:30); on a fall-back day the
first 01:30 makes it due and the post row stops the second.
"""

from __future__ import annotations

import difflib
import functools
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..errors import AdvisorError

DAYS = ("weekdays", "daily")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(AdvisorError, ValueError):
    """An invalid time, time zone or days value; the message says what is accepted."""


class Unreadable(ScheduleError):
    """A time or zone the forgiving readers (``parse_clock``, ``resolve_zone``) could not read.
    Its message speaks to a person in Slack (``I can't read '25:00' as a time: ...``);
    ``terse`` says the same in an operator's words (``invalid time '25:00': ...``)."""

    def __init__(self, message: str, terse: str):
        super().__init__(message)
        self.terse = terse


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


# --- forgiving input (/advisor tips on, advisor tips subscribe) ------------------------------------

_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])?\.?m?\.?$")

# Abbreviations people type for a zone. None of them is safe to guess (CST is Chicago or
# Shanghai, IST is India, Ireland or Israel, and the fixed-offset "EST" in the tz database
# ignores daylight saving time), so they are refused with the zones they usually mean.
ABBREVIATIONS = {
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "mst": "America/Denver (or America/Phoenix)",
    "mdt": "America/Denver",
    "cst": "America/Chicago (or Asia/Shanghai)",
    "cdt": "America/Chicago",
    "est": "America/New_York",
    "edt": "America/New_York",
    "et": "America/New_York",
    "bst": "Europe/London",
    "cet": "Europe/Paris (or Europe/Berlin)",
    "cest": "Europe/Paris (or Europe/Berlin)",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "ist": "Asia/Kolkata (or Europe/Dublin, Asia/Jerusalem)",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "hst": "Pacific/Honolulu",
    "akst": "America/Anchorage",
}

# Cities people name that are not the city of their zone in the tz database.
CITIES = {
    "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "nyc": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "austin": "America/Chicago",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "montreal": "America/Toronto",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "milan": "Europe/Rome",
    "barcelona": "Europe/Madrid",
    "geneva": "Europe/Zurich",
    "lyon": "Europe/Paris",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "melbourne": "Australia/Melbourne",
    "canberra": "Australia/Sydney",
    "tel aviv": "Asia/Jerusalem",
}


def parse_clock(value: str) -> str:
    """A time as people type it -> ``HH:MM``: ``9``, ``09``, ``9am``, ``9:30pm``, ``21:30``,
    ``9.30``, ``12am`` (midnight); ScheduleError otherwise."""
    text = "".join((value or "").lower().split())
    match = _CLOCK.match(text)
    hours = int(match.group(1)) if match else -1
    minutes = int(match.group(2) or 0) if match else -1
    half = match.group(3) if match else None
    if half and not 1 <= hours <= 12:
        hours = -1
    elif half:
        hours = hours % 12 + (12 if half == "p" else 0)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        examples = "try 9, 9am, 9:30pm or 21:30"
        raise Unreadable(
            f"I can't read {value!r} as a time: {examples}", f"invalid time {value!r}: {examples}"
        )
    return f"{hours:02d}:{minutes:02d}"


def looks_like_clock(value: str) -> bool:
    return bool(_CLOCK.match("".join((value or "").lower().split())))


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone name and every zone's city, lowercased (``europe/paris``, ``paris``,
    ``new york``), mapped to the zone. A city several names share is the longest name when
    they all keep the same time (an old alias: ``America/Buenos_Aires`` is
    ``America/Argentina/Buenos_Aires``), and left out when they do not (ambiguous)."""
    names: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    for zone in available_timezones():
        names[zone.lower()] = zone
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/")):
            city = zone.rsplit("/", 1)[1].replace("_", " ").lower()
            cities.setdefault(city, set()).add(zone)
    for city, zones in cities.items():
        if city not in names and (len(zones) == 1 or _same_clock(zones)):
            names[city] = max(zones, key=lambda z: (z.count("/"), z))
    for city, zone in CITIES.items():
        names.setdefault(city, zone)
    names["gmt"] = names["utc"] = "UTC"
    return names


def _same_clock(zones: set[str]) -> bool:
    """True when the zones keep the same time in winter and in summer."""
    moments = (datetime(2025, 1, 15, 12, tzinfo=UTC), datetime(2025, 7, 15, 12, tzinfo=UTC))
    return len({tuple(m.astimezone(ZoneInfo(z)).utcoffset() for m in moments) for z in zones}) == 1


def resolve_zone(value: str) -> str:
    """A time zone as people type it -> its IANA name: ``Europe/Paris`` in any case, a city
    (``Paris``, ``Tokyo``, ``New York``), or UTC. Abbreviations such as PST are refused with
    the zone to use instead; anything else is refused with the closest names."""
    text = " ".join((value or "").replace("_", " ").split()).lower()
    if text in ABBREVIATIONS:
        why = "they can mean several places and hide daylight saving time"
        use = f"use a city or zone, e.g. {ABBREVIATIONS[text]}"
        raise Unreadable(
            f"I don't guess abbreviations like {value!r} ({why}): {use}",
            f"ambiguous time zone {value!r} (abbreviations {why}): {use}",
        )
    names = _zone_names()
    zone = names.get(text) or names.get(text.replace(" ", "_"))
    if zone is None:
        close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.75)
        hint = f" (did you mean {names[close[0]]}?)" if close else ", e.g. Paris or Europe/Paris"
        raise Unreadable(
            f"I don't know the time zone {value!r}: use a city or Area/City{hint}",
            f"unknown time zone {value!r}: use a city or Area/City{hint}",
        )
    return parse_tz(zone)


def first_tip(*, local_time: str, tz: str, days: str, now: datetime) -> datetime:
    """When the first tip of a subscription made at ``now`` comes: today at ``local_time`` if
    that is still ahead, else the next day it runs (never "now", the same evening)."""
    passed_today = due_date(local_time=local_time, tz=tz, days=days, now=now) is not None
    return next_due(local_time=local_time, tz=tz, days=days, now=now, posted_today=passed_today)


def describe_moment(moment: datetime, now: datetime, tz: str) -> str:
    """``today at 08:30 Europe/Paris``, ``tomorrow at ...``, or ``on Mon 7 Dec at ...``."""
    local_now = now.astimezone(moment.tzinfo)
    days = (moment.date() - local_now.date()).days
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"on {moment:%a} {moment.day} {moment:%b}"
    return f"{when} at {moment:%H:%M} {tz}"
