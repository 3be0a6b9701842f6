"""Post every due tip exactly once: claim the day's row, then call Slack, then record the result.

``run_due`` is one pass (the ``advisor tips run-due`` command, the worker loop and the thread
inside the serving process all call it). Any number of them may run at once: the
(team, channel, local date) row is claimed in the database *before* Slack is called, so a
channel gets at most one tip per local day. If the process dies after Slack accepted the
message but before the result was recorded, the row stays ``claimed`` and is never posted
again that day (at most once: a missed tip beats a double post; see docs/tips.md).

The scheduler is handed a ``Poster`` (``bot.tips.poster``) and never sees Slack: the poster
says whether a failed post paused the channel, revoked the workspace, can be retried, or may
have gone out.

One subscription never stops the others: a row that cannot be scheduled or posted (a time
zone this machine does not know, a database error on that row) is logged with its traceback
and skipped; the pass goes on with the next one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..config import Settings
from .catalog import TipCatalog, load_tips
from .ledger import SchedulerStore, TipLedger
from .order import make_picker
from .poster import ChannelUnavailable, Poster, PostError, PostFailed, PostUnconfirmed, WorkspaceRevoked
from .records import PostRecord, SubscriptionRecord
from .schedule import due_date

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_CHECK_SECONDS = 60.0


@dataclass
class RunReport:
    """What one pass did."""

    posted: list[PostRecord] = field(default_factory=list)
    paused: list[tuple[str, str, str]] = field(default_factory=list)  # team, channel, reason
    deactivated: list[tuple[str, str, int]] = field(default_factory=list)  # team, reason, count
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # team, channel, error
    unknown: list[tuple[str, str]] = field(default_factory=list)  # Slack may or may not have it
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, channel: an error, logged

    def summary(self) -> str:
        parts = [f"posted {len(self.posted)} tip(s)"]
        if self.paused:
            parts.append(f"paused {len(self.paused)} channel(s)")
        if self.deactivated:
            parts.append(f"deactivated {len(self.deactivated)} workspace(s)")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (see the log)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed (retried on a later check)")
        if self.unknown:
            parts.append(f"{len(self.unknown)} unconfirmed (no answer from Slack)")
        return ", ".join(parts)


def due_now(
    store: TipLedger, now: datetime, report: RunReport | None = None
) -> list[tuple[SubscriptionRecord, date]]:
    """Live subscriptions whose tip is due at ``now`` and not yet claimed for their local date.

    A subscription that cannot be checked (say, a time zone unknown here) is logged, noted in
    ``report.skipped`` and left out; the others are still checked.
    """
    due = []
    for subscription in store.list_subscriptions():
        if not subscription.live:
            continue
        try:
            local_date = due_date(
                local_time=subscription.local_time, tz=subscription.tz, days=subscription.days, now=now
            )
            if local_date is None:
                continue
            post = store.post_for(subscription.team, subscription.channel, local_date)
        except Exception:
            logger.exception(
                "cannot schedule tips for %s/%s (time %r, zone %r); skipping it",
                subscription.team,
                subscription.channel,
                subscription.local_time,
                subscription.tz,
            )
            if report is not None:
                report.skipped.append((subscription.team, subscription.channel))
            continue
        if post is None or post.status == "failed":
            due.append((subscription, local_date))
    return due


def run_due(
    *,
    store: TipLedger,
    poster: Poster,
    catalog: TipCatalog,
    settings: Settings,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> RunReport:
    """Post every tip due at ``now``, about one message per ``tips_pace_seconds`` per workspace."""
    now = now or datetime.now(UTC)
    report = RunReport()
    queues: OrderedDict[str, deque] = OrderedDict()
    for subscription, local_date in due_now(store, now, report):
        queues.setdefault(subscription.team, deque()).append((subscription, local_date))
    last_call: dict[str, float] = {}
    pace = settings.tips_pace_seconds
    # Round-robin over workspaces so one large workspace does not hold up the others.
    while queues:
        for team in list(queues):
            queue = queues[team]
            subscription, local_date = queue.popleft()
            if not queue:
                del queues[team]
            wait = last_call.get(team, float("-inf")) + pace - time.monotonic()
            if wait > 0 and _sleep(wait, stop):
                return report
            if stop is not None and stop.is_set():
                return report
            try:
                called, revoked = _post_one(store, poster, catalog, subscription, local_date, now, report)
            except Exception:  # e.g. the database failed on this row: log it, serve the others
                logger.exception("tip for %s/%s failed; skipping it", team, subscription.channel)
                report.skipped.append((team, subscription.channel))
                called, revoked = True, False
            if called:
                last_call[team] = time.monotonic()
            if revoked:
                queues.pop(team, None)
    return report


def _sleep(seconds: float, stop: threading.Event | None) -> bool:
    """Sleep; True if asked to stop meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def _post_one(
    store: TipLedger,
    poster: Poster,
    catalog: TipCatalog,
    subscription: SubscriptionRecord,
    local_date: date,
    now: datetime,
    report: RunReport,
) -> tuple[bool, bool]:
    """Claim and post one channel's tip. Returns (the poster was called, workspace was revoked)."""
    team, channel = subscription.team, subscription.channel
    post = store.claim_post(
        team=team,
        channel=channel,
        local_date=local_date,
        pick=make_picker(catalog.ids, team=team, channel=channel),
        max_attempts=MAX_ATTEMPTS,
        now=now,
    )
    if post is None:
        return False, False  # another process (or an earlier pass) has this day
    tip = catalog.get(post.tip_id or "")
    if tip is None:  # a retried day whose tip has since been removed from the file
        logger.warning("tip %s is no longer in the tips file; posting another", post.tip_id)
        tip = catalog.tips[0]
    try:
        message_ts = poster(channel, tip, team=team)
    except PostUnconfirmed as exc:
        # A timeout, or the connection lost after the request went out: it may have been
        # posted. Record that we cannot tell, and never post it again today.
        logger.warning("tip post to %s/%s unconfirmed (%s); not retried today", team, channel, exc.reason)
        store.finish_post(post.id, status="unknown", error=exc.reason, now=now)
        report.unknown.append((team, channel))
        return True, False
    except PostError as exc:
        if exc.__cause__ is not None:  # nothing reached the platform: keep the traceback
            logger.warning("tip post to %s/%s failed", team, channel, exc_info=exc.__cause__)
        return True, _failed(store, subscription, post, exc, now, report)
    store.finish_post(post.id, status="sent", message_ts=message_ts, now=now)
    if subscription.failures:
        store.note_subscription_result(team, channel, None)
    report.posted.append(store.post_for(team, channel, local_date) or post)
    logger.info("posted tip %s to %s/%s for %s", tip.id, team, channel, local_date)
    return True, False


def _failed(
    store: TipLedger,
    subscription: SubscriptionRecord,
    post: PostRecord,
    failure: PostError,
    now: datetime,
    report: RunReport,
) -> bool:
    """Record a failed post; pause, deactivate or leave for a retry. True if the team is revoked."""
    team, channel = subscription.team, subscription.channel
    error = failure.reason
    if isinstance(failure, ChannelUnavailable):
        store.finish_post(post.id, status="failed", error=error, now=now)
        store.pause_subscription(team, channel, error)
        report.paused.append((team, channel, error))
        logger.warning("paused tips for %s/%s: %s", team, channel, error)
        return False
    if isinstance(failure, WorkspaceRevoked):
        store.finish_post(post.id, status="failed", error=error, now=now)
        count = store.deactivate_team(team, error)
        report.deactivated.append((team, error, count))
        logger.warning("deactivated %d subscription(s) of workspace %s: %s", count, team, error)
        return True
    assert isinstance(failure, PostFailed), failure
    final = post.attempts >= MAX_ATTEMPTS
    store.finish_post(post.id, status="gave_up" if final else "failed", error=error, now=now)
    store.note_subscription_result(team, channel, error)
    report.failed.append((team, channel, error))
    logger.warning(
        "tip post to %s/%s failed (attempt %d of %d%s): %s",
        team,
        channel,
        post.attempts,
        MAX_ATTEMPTS,
        ", giving up for today" if final else ", retried on a later check",
        error,
    )
    return False


def check_interval(settings: Settings) -> float:
    """Seconds between passes: the setting, but at least once a minute."""
    return min(max(settings.tips_check_seconds, 0.05), MAX_CHECK_SECONDS)


def run_forever(
    *,
    store: SchedulerStore,
    poster: Poster,
    catalog: TipCatalog,
    settings: Settings,
    stop: threading.Event,
) -> None:
    """Run a pass every ``check_interval`` until ``stop`` is set; a failed pass is logged. Each
    pass also applies the question log's retention (``purge_question_text``)."""
    interval = check_interval(settings)
    while not stop.is_set():
        try:
            report = run_due(store=store, poster=poster, catalog=catalog, settings=settings, stop=stop)
            if report.posted or report.failed or report.paused or report.deactivated or report.skipped:
                logger.info("tips: %s", report.summary())
        except Exception:
            logger.exception("tips pass failed; trying again in %.0f s", interval)
        purge_question_text(store, settings)
        stop.wait(interval)


def purge_question_text(store: SchedulerStore, settings: Settings) -> None:
    """The question log's retention (docs/privacy.md): the scheduler forgets question texts
    older than ``question_retention_days`` (checked at most hourly by the store)."""
    try:
        purged = store.maybe_purge_question_text(settings.question_retention_days)
        if purged:
            logger.info("question log: forgot the text of %d question(s) past retention", purged)
    except Exception:
        logger.exception("could not purge question texts past retention; trying again later")


class SchedulerThread:
    """The schedule running inside the serving process; ``stop()`` ends it."""

    def __init__(self, thread: threading.Thread, stop_event: threading.Event):
        self._thread = thread
        self._stop = stop_event

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start_scheduler_thread(
    settings: Settings, store: SchedulerStore, poster: Poster, *, catalog: TipCatalog | None = None
) -> SchedulerThread:
    """Start the tip schedule in a daemon thread (checks at least once a minute)."""
    catalog = catalog or load_tips(settings.knowledge_dir)
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        kwargs=dict(store=store, poster=poster, catalog=catalog, settings=settings, stop=stop_event),
        name="tips-scheduler",
        daemon=True,
    )
    thread.start()
    return SchedulerThread(thread, stop_event)
