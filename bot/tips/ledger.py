"""What the tip scheduler needs of the database: a narrow interface, as ``Poster`` is for Slack.

``bot.storage.Store`` is one; the composition root (``bot.serve``, ``bot.cli.tips``) hands it in,
so this package never imports storage. A claim is taken in the database before Slack is called
(``claim_post``), which is what makes a tip at most once per channel and local day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from .records import PostRecord, SubscriptionRecord, TipPicker


class TipLedger(Protocol):
    """Subscriptions and the day's post of each (claimed, then finished)."""

    def list_subscriptions(self, team: str | None = None) -> list[SubscriptionRecord]: ...

    def post_for(self, team: str, channel: str, local_date: date) -> PostRecord | None: ...

    def claim_post(
        self,
        *,
        team: str,
        channel: str,
        local_date: date,
        pick: TipPicker,
        max_attempts: int,
        now: datetime | None = None,
    ) -> PostRecord | None: ...

    def finish_post(
        self,
        post_id: int,
        *,
        status: str,
        message_ts: str | None = None,
        error: str | None = None,
        now: datetime | None = None,
    ) -> None: ...

    def note_subscription_result(self, team: str, channel: str, error: str | None) -> None: ...

    def pause_subscription(self, team: str, channel: str, reason: str) -> None: ...

    def deactivate_team(self, team: str, reason: str) -> int: ...


class SchedulerStore(TipLedger, Protocol):
    """The scheduler's store: the tip ledger, and the question log's retention it enforces."""

    def maybe_purge_question_text(self, retention_days: int) -> int | None: ...


class Subscriptions(Protocol):
    """Turning a channel's tips on and off, and reading its state (``/advisor tips``)."""

    def subscribe(
        self,
        *,
        team: str,
        channel: str,
        local_time: str,
        tz: str,
        days: str = "weekdays",
        created_by: str | None = None,
    ) -> SubscriptionRecord: ...

    def unsubscribe(self, team: str, channel: str) -> bool: ...

    def get_subscription(self, team: str, channel: str) -> SubscriptionRecord | None: ...

    def skip_day(self, team: str, channel: str, local_date: date) -> bool: ...

    def post_for(self, team: str, channel: str, local_date: date) -> PostRecord | None: ...
