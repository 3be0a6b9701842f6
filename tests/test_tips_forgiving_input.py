"""The tips domain's forgiving input (times and zones as people type them) and the first
tip's moment, checked on whole results without Slack."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.tips.schedule import ScheduleError, describe_moment, first_tip, parse_clock, resolve_zone

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("9", "09:00"),
        ("09", "09:00"),
        ("9am", "09:00"),
        ("9 AM", "09:00"),
        ("9a.m.", "09:00"),
        ("9:30pm", "21:30"),
        ("21:30", "21:30"),
        ("9.30", "09:30"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("0:05", "00:05"),
    ],
)
def test_times_as_people_type_them(typed, expected):
    assert parse_clock(typed) == expected


@pytest.mark.parametrize("typed", ["24:00", "13pm", "0am", "9:60", "noon", "", "9:5"])
def test_impossible_times_are_refused_with_examples(typed):
    with pytest.raises(ScheduleError, match="try 9, 9am, 9:30pm or 21:30"):
        parse_clock(typed)


@pytest.mark.parametrize(
    "typed, zone",
    [
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("EUROPE/PARIS", "Europe/Paris"),
        ("Paris", "Europe/Paris"),
        ("tokyo", "Asia/Tokyo"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("San Francisco", "America/Los_Angeles"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
    ],
)
def test_zones_in_any_case_and_cities(typed, zone):
    assert resolve_zone(typed) == zone


@pytest.mark.parametrize(
    "typed, suggestion",
    [
        ("PST", "America/Los_Angeles"),
        ("est", "America/New_York"),
        ("IST", "Asia/Kolkata"),
        ("CET", "Europe/Paris"),
    ],
)
def test_abbreviations_are_refused_with_the_zone_to_use(typed, suggestion):
    with pytest.raises(ScheduleError, match="abbreviations") as refused:
        resolve_zone(typed)
    assert suggestion in str(refused.value)


def test_a_near_miss_gets_a_did_you_mean_and_nonsense_an_example():
    with pytest.raises(ScheduleError, match=r"did you mean Europe/Paris\?"):
        resolve_zone("Pariss")
    with pytest.raises(ScheduleError, match="e.g. Paris or Europe/Paris"):
        resolve_zone("Mars/Olympus")


@pytest.mark.parametrize(
    "now, local_time, days, expected",
    [
        (datetime(2026, 12, 1, 7, 0, tzinfo=PARIS), "08:30", "weekdays", "today at 08:30 Europe/Paris"),
        (datetime(2026, 12, 1, 20, 37, tzinfo=PARIS), "08:30", "weekdays", "tomorrow at 08:30 Europe/Paris"),
        (
            datetime(2026, 12, 4, 20, 37, tzinfo=PARIS),
            "08:30",
            "weekdays",
            "on Mon 7 Dec at 08:30 Europe/Paris",
        ),
        (datetime(2026, 12, 4, 20, 37, tzinfo=PARIS), "08:30", "daily", "tomorrow at 08:30 Europe/Paris"),
        (
            datetime(2026, 12, 5, 7, 0, tzinfo=PARIS),
            "08:30",
            "weekdays",
            "on Mon 7 Dec at 08:30 Europe/Paris",
        ),
        # the exact minute counts as passed: never "now", the same evening or otherwise
        (datetime(2026, 12, 1, 8, 30, tzinfo=PARIS), "08:30", "weekdays", "tomorrow at 08:30 Europe/Paris"),
    ],
)
def test_the_first_tip_is_never_the_same_evening(now, local_time, days, expected):
    moment = first_tip(local_time=local_time, tz="Europe/Paris", days=days, now=now)
    assert moment > now
    assert describe_moment(moment, now, "Europe/Paris") == expected
