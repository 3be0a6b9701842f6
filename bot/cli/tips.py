"""``advisor tips ...``: subscribe channels, list them, preview, and post the tips that are due.

The tips domain (``bot.tips``) is composed here with a store and, for posting, the Slack
layer's poster. Imports of the store, the scheduler and Slack stay inside the commands: the
CLI's cold start is measured (see ``bot.cli``).
"""

from __future__ import annotations

import logging
import signal
import threading
from zoneinfo import ZoneInfo

import click

from ..config import Settings, load_settings
from ..logguard import guard_logging, secret_settings
from ..tips.catalog import load_tips
from ..tips.order import next_tip
from ..tips.schedule import ScheduleError, Unreadable, next_due, parse_clock, parse_now, resolve_zone
from ..tips.scheduler import check_interval, run_due, run_forever
from ..tips.subscriptions import subscribe as start_tips
from .group import AdvisorGroup

logger = logging.getLogger(__name__)


def _settings():
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Settings) else load_settings()


def _store(settings):
    from ..storage import open_store

    return open_store(settings.database_url)


def _poster(settings, store):
    """Posts with each subscription's workspace's token: the bot token, or (OAuth mode) the
    installation's, refreshed when near expiry."""
    from ..slack.tips import SlackTipPoster
    from ..slack.workspaces import workspace_clients

    return SlackTipPoster(workspace_clients(settings, store.engine))


def _require_slack(settings) -> None:
    if settings.oauth:
        settings.require("slack_client_id", "slack_client_secret")
    else:
        settings.require("slack_bot_token")


def _state(subscription) -> str:
    if not subscription.active:
        return f"off ({subscription.paused_reason})" if subscription.paused_reason else "off"
    if subscription.paused_reason:
        return f"paused ({subscription.paused_reason})"
    if subscription.failures:
        return f"on, {subscription.failures} failure(s): {subscription.last_error}"
    return "on"


@click.group(cls=AdvisorGroup)
def tips() -> None:
    """Daily tips: one quoted piece of the article per channel per day."""


@tips.command()
@click.option("--team", required=True, help="Slack workspace (team) id, e.g. T0123.")
@click.option("--channel", required=True, help="Slack channel id, e.g. C0123.")
@click.option(
    "--time", "local_time", default="09:00", show_default=True, help="Local time: 9, 9am, 9:30pm, 21:30."
)
@click.option("--tz", required=True, help="Time zone: a city or Area/City, e.g. Paris or Europe/Paris.")
@click.option("--daily", is_flag=True, help="Every day (default: weekdays only).")
@click.option("--now", "now_text", default=None, help="ISO-8601 instant it is subscribed at (default: now).")
def subscribe(team: str, channel: str, local_time: str, tz: str, daily: bool, now_text: str | None) -> None:
    """Subscribe a channel to a tip a day. After today's time, the first tip is the next day's."""
    now = parse_now(now_text)
    try:  # read as the slash command reads them (bot.tips.schedule)
        local_time, tz = parse_clock(local_time), resolve_zone(tz)
    except Unreadable as exc:
        raise ScheduleError(exc.terse) from None
    store = _store(_settings())
    try:
        s = start_tips(
            store,
            team=team,
            channel=channel,
            local_time=local_time,
            tz=tz,
            days="daily" if daily else "weekdays",
            created_by="cli",
            now=now,
        ).subscription
    finally:
        store.close()
    click.echo(f"subscribed {s.team}/{s.channel}: {s.local_time} {s.tz}, {s.days}")


@tips.command()
@click.option("--team", required=True, help="Slack workspace (team) id.")
@click.option("--channel", required=True, help="Slack channel id.")
def unsubscribe(team: str, channel: str) -> None:
    """Stop a channel's tips."""
    store = _store(_settings())
    try:
        changed = store.unsubscribe(team, channel)
    finally:
        store.close()
    if not changed:
        raise click.ClickException(f"{team}/{channel} is not subscribed")
    click.echo(f"unsubscribed {team}/{channel}")


@tips.command("list")
@click.option("--team", default=None, help="Only this workspace.")
def list_(team: str | None) -> None:
    """List subscriptions with their state and last post."""
    store = _store(_settings())
    try:
        rows = []
        for s in store.list_subscriptions(team):
            posts = store.posts(s.team, s.channel)
            last = f"{posts[-1].local_date} {posts[-1].status}" if posts else "-"
            rows.append((s.team, s.channel, s.local_time, s.tz, s.days, _state(s), last))
    finally:
        store.close()
    if not rows:
        click.echo("no subscriptions")
        return
    header = ("TEAM", "CHANNEL", "TIME", "TZ", "DAYS", "STATE", "LAST POST")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@tips.command()
@click.option("--now", "now_text", default=None, help="ISO-8601 instant (default: now).")
def preview(now_text: str | None) -> None:
    """Show the next tip of each subscribed channel and when it is due."""
    now = parse_now(now_text)
    settings = _settings()
    catalog = load_tips(settings.knowledge_dir)
    store = _store(settings)
    try:
        live = [s for s in store.list_subscriptions() if s.live]
        if not live:
            click.echo("no active subscriptions")
        for s in live:
            try:
                when = next_due(
                    local_time=s.local_time,
                    tz=s.tz,
                    days=s.days,
                    now=now,
                    posted_today=_posted_today(store, s, now),
                )
            except (ValueError, KeyError) as exc:  # a row stored by hand: the scheduler skips it too
                click.echo(f"{s.team}/{s.channel}  cannot be scheduled ({s.local_time!r} {s.tz!r}): {exc}")
                continue
            tip_id, _ = next_tip(
                store.tip_order(s.team, s.channel), catalog.ids, team=s.team, channel=s.channel
            )
            tip = catalog.get(tip_id)
            click.echo(f"{s.team}/{s.channel}  {when:%Y-%m-%d %H:%M} {s.tz}  [{tip_id}] {tip.title}")
            click.echo(f"    \u201c{tip.quote}\u201d \u2014 {tip.section_heading}")
    finally:
        store.close()


def _posted_today(store, subscription, now) -> bool:
    today = now.astimezone(ZoneInfo(subscription.tz)).date()
    post = store.post_for(subscription.team, subscription.channel, today)
    return post is not None and post.status != "failed"


@tips.command("run-due")
@click.option("--now", "now_text", default=None, help="ISO-8601 instant (default: now).")
def run_due_command(now_text: str | None) -> None:
    """Post every tip due at this moment, then exit (for cron)."""
    now = parse_now(now_text)
    settings = _settings()
    _require_slack(settings)
    catalog = load_tips(settings.knowledge_dir)
    store = _store(settings)
    try:
        report = run_due(
            store=store, poster=_poster(settings, store), catalog=catalog, settings=settings, now=now
        )
    finally:
        store.close()
    click.echo(report.summary())


@tips.command()
def worker() -> None:
    """Post tips as they fall due, checking every ADVISOR_TIPS_CHECK_SECONDS, until stopped."""
    settings = _settings()
    _require_slack(settings)
    # Long-running, like ``serve``: during a database outage every check fails the same way;
    # its traceback is logged once a minute, not once a check (secrets are scrubbed already).
    guard_logging(secret_settings(settings))
    catalog = load_tips(settings.knowledge_dir)
    store = _store(settings)
    stop = threading.Event()

    def _stop(signum, _frame) -> None:
        logger.info("tips worker: %s, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger.info("tips worker: %d tips, checking every %.0f s", len(catalog.tips), check_interval(settings))
    try:
        run_forever(
            store=store, poster=_poster(settings, store), catalog=catalog, settings=settings, stop=stop
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
    click.echo("tips worker stopped")
