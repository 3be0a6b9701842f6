"""Turning a channel's tips on: the one start rule, for every surface (``/advisor tips on``,
``advisor tips subscribe``).

Tips turned on after today's time start on the next day the subscription runs, never the
same evening: today is marked ``skipped`` before the subscription goes live, so no scheduler
(this process's thread, a worker, cron's ``run-due``) ever sees today's tip as due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from .records import SubscriptionRecord
from .schedule import check_subscription, due_date, first_tip


class SubscriptionStore(Protocol):
    """What turning tips on needs of the store."""

    def skip_day(self, team: str, channel: str, local_date: date) -> bool: ...

    def subscribe(
        self, *, team: str, channel: str, local_time: str, tz: str, days: str, created_by: str | None
    ) -> SubscriptionRecord: ...


@dataclass(frozen=True)
class Subscribed:
    subscription: SubscriptionRecord
    first_tip: datetime  # local to the subscription's zone


def subscribe(
    store: SubscriptionStore,
    *,
    team: str,
    channel: str,
    local_time: str,
    tz: str,
    days: str,
    created_by: str | None,
    now: datetime,
) -> Subscribed:
    """Subscribe a channel at ``now`` (or change its schedule and lift a pause): the first tip
    is today at ``local_time`` if that is still ahead, else on the next day it runs.

    Raises ScheduleError for a time, zone or days the store would refuse, before writing."""
    check_subscription(local_time, tz, days, canonical=True)
    if due_date(local_time=local_time, tz=tz, days=days, now=now) is not None:
        # Today's time has passed: no catch-up post this evening. Marked before the
        # subscription goes live, so the scheduler never sees it due.
        store.skip_day(team, channel, now.astimezone(ZoneInfo(tz)).date())
    subscription = store.subscribe(
        team=team, channel=channel, local_time=local_time, tz=tz, days=days, created_by=created_by
    )
    return Subscribed(subscription, first_tip(local_time=local_time, tz=tz, days=days, now=now))
