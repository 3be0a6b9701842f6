"""The tips domain's records: a channel's subscription, its post for a local day, its tip order.

Plain frozen dataclasses; the storage layer reads and writes them (``bot.storage.tips``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class SubscriptionRecord:
    team: str
    channel: str
    local_time: str  # "HH:MM"
    tz: str
    days: str  # "weekdays" | "daily"
    active: bool
    paused_reason: str | None
    created_by: str | None
    failures: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def live(self) -> bool:
        """Subscribed and not paused: tips are due for this channel."""
        return self.active and self.paused_reason is None


@dataclass(frozen=True)
class PostRecord:
    id: int
    team: str
    channel: str
    local_date: date
    tip_id: str | None
    message_ts: str | None
    status: str  # claimed | sent | failed | gave_up | unknown | skipped (tips turned on too late)
    attempts: int
    error: str | None
    claimed_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TipOrderState:
    """Where a channel is in its walk through the tips."""

    round: int
    order: tuple[str, ...]
    position: int


# pick(state or None) -> (tip id to post, new state); runs inside the claim's transaction.
TipPicker = Callable[[TipOrderState | None], tuple[str, TipOrderState]]
