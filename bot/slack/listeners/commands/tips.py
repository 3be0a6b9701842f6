"""``/advisor tips on|off|status`` and ``/advisor tip``: the daily tips' Slack surface.

The ``/advisor`` listener (``advisor.py``) asks ``tips_arguments`` whether its text is a tips
command (typos forgiven: ``tipps on``, ``tips of``) and calls these with the text after
``tips``; it sends the returned ``{"text", "blocks"}`` payload ephemerally. Times and zones
are read forgivingly (``9am Paris``, ``21:30 europe/paris``; ``bot.tips.schedule``), every
error is one line with a pointer to ``/advisor help``, and nothing here raises.

Turning tips on says exactly when the first tip comes, and tells the channel who turned them
on and how to stop them. When today's time has already passed, the first tip comes on the next
day and never the same evening (the start rule, ``bot.tips.subscriptions``).
"""

from __future__ import annotations

import difflib
import functools
import logging
import random
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from ....config import Settings
from ....tips.catalog import TipCatalog, load_tips
from ....tips.ledger import Subscriptions
from ....tips.records import SubscriptionRecord
from ....tips.schedule import (
    ScheduleError,
    describe_moment,
    looks_like_clock,
    next_due,
    parse_clock,
    parse_tz,
    resolve_zone,
)
from ....tips.subscriptions import subscribe
from ...blocks import COMMAND, PAUSED_BECAUSE, notice
from ...escape import escape
from ...messaging import NOT_IN_CHANNEL, post
from ...tips import ONE_TIP_FOOTER, tip_card

logger = logging.getLogger(__name__)

DEFAULT_TIME = "09:00"
TIPS_ACTIONS = ("on", "off", "status", "help")
HELP = f"See `{COMMAND} help`."
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_DAILY = ("--daily", "daily", "-d", "everyday")
_WEEKDAYS = ("--weekdays", "weekdays", "-w")
_FILLER = ("at", "in", "every", "day", "days", "tz", "zone", "time")

USAGE = (
    "*Daily tips* \u2014 one quoted piece of the article in this channel each day:\n"
    f"\u2022 `{COMMAND} tips on [TIME] [ZONE] [--daily]` \u2014 subscribe this channel, e.g. "
    f"`{COMMAND} tips on 9am Paris` or `{COMMAND} tips on 21:30 America/New_York --daily` "
    "(default 09:00 in your time zone, weekdays)\n"
    f"\u2022 `{COMMAND} tips off` \u2014 stop\n"
    f"\u2022 `{COMMAND} tips status` \u2014 what is set up here\n"
    f"\u2022 `{COMMAND} tip` \u2014 one tip now, just for you"
)


def tips_arguments(text: str) -> str | None:
    """The text after ``tips`` when ``/advisor TEXT`` is a tips command, typos in ``tips`` or
    in its action forgiven (``tipps on``, ``tips of``); None when it is a question
    (``tips for setting the quota?``)."""
    words = (text or "").split()
    if not words or "?" in text:
        return None
    first = words[0].lower()
    if first != "tips" and not difflib.get_close_matches(first, ["tips"], n=1, cutoff=0.8):
        return None
    if len(words) == 1:
        return "" if first == "tips" else None
    action = words[1].lower()
    if action in TIPS_ACTIONS or _close_action(action):
        return " ".join(words[1:])
    return None


def _close_action(word: str) -> str | None:
    close = difflib.get_close_matches(word.lower(), TIPS_ACTIONS, n=1, cutoff=0.6)
    return close[0] if close else None


def _reply(text: str) -> dict:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _error(text: str) -> dict:
    """One line saying what is wrong, and where the full usage is unless it gives the fix
    already (a command to type, in backticks)."""
    text = text.rstrip(".")
    text = f"{text}{'' if text.endswith('?') else '.'}"
    return _reply(text if "`" in text else f"{text} {HELP}")


def _channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else escape(channel_id)


@functools.lru_cache(maxsize=4)
def _catalog(knowledge_dir: str) -> TipCatalog:
    return load_tips(knowledge_dir)


def _schedule_words(s: SubscriptionRecord) -> str:
    days = "every day" if s.days == "daily" else "weekdays"
    return f"{days} at {s.local_time} {escape(s.tz)}"


def _paused_words(s: SubscriptionRecord) -> str:
    where = _channel(s.channel)
    reason = PAUSED_BECAUSE.get(s.paused_reason or "")
    if reason is None:
        return (
            f"Slack refused the last tip ({escape(s.paused_reason or '')}); "
            f"run `{COMMAND} tips on` here again once that is fixed"
        )
    return reason.format(channel=where) + f", then run `{COMMAND} tips on` again"


def _next_tip(subscription: SubscriptionRecord, store: Subscriptions, now: datetime) -> str:
    s = subscription
    today = now.astimezone(ZoneInfo(s.tz)).date()
    post_today = store.post_for(s.team, s.channel, today)
    posted_today = post_today is not None and post_today.status != "failed"
    when = next_due(local_time=s.local_time, tz=s.tz, days=s.days, now=now, posted_today=posted_today)
    if when <= now.astimezone(when.tzinfo):
        return "within a minute"  # today's tip is due and not posted yet (catching up)
    return describe_moment(when, now, s.tz)


def _describe(subscription: SubscriptionRecord, store: Subscriptions, now: datetime) -> str:
    s = subscription
    where = _channel(s.channel)
    if not s.active:
        return f"Daily tips are *off* for {where}. Turn them on with `{COMMAND} tips on`."
    if s.paused_reason:
        return f"Daily tips for {where} are *paused*: {_paused_words(s)}."
    return f"Daily tips are *on* for {where}: {_schedule_words(s)}. Next tip: {_next_tip(s, store, now)}."


def _bot_is_member(client, channel_id: str) -> bool:
    """False only when Slack says the bot is not in the channel (or cannot see it)."""
    try:
        response = client.conversations_info(channel=channel_id)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_IN_CHANNEL:
            return False
        logger.warning("conversations.info for %s failed: %s", channel_id, exc.response.get("error"))
        return True  # cannot tell; posting will pause the subscription if need be
    return bool((response.get("channel") or {}).get("is_member", True))


def _user_tz(client, user_id: str) -> str | None:
    try:
        response = client.users_info(user=user_id)
        return parse_tz(str((response.get("user") or {}).get("tz") or ""))
    except (SlackApiError, ScheduleError) as exc:
        logger.warning("no usable time zone for user %s: %s", user_id, exc)
        return None


def parse_on(tokens: list[str]) -> tuple[str | None, str | None, str]:
    """``tips on`` arguments -> (HH:MM or None, IANA zone or None, days); ScheduleError
    naming what could not be read. ``9 am`` may be two words, a zone several (``New York``)."""
    local_time, days, zone_words = None, "weekdays", []
    words = [t for t in tokens if t]
    i = 0
    while i < len(words):
        word, lowered = words[i], words[i].lower()
        following = words[i + 1].lower().rstrip(".") if i + 1 < len(words) else ""
        if lowered in _DAILY:
            days = "daily"
        elif lowered in _WEEKDAYS:
            days = "weekdays"
        elif following in ("am", "pm", "a.m", "p.m") and looks_like_clock(word + following):
            local_time = parse_clock(word + following)
            i += 1
        elif looks_like_clock(word):
            if local_time is not None:
                raise ScheduleError(f"two times given ({local_time} and {word!r}): give one")
            local_time = parse_clock(word)
        elif lowered not in _FILLER:
            zone_words.append(word)
        i += 1
    tz = resolve_zone(" ".join(zone_words)) if zone_words else None
    return local_time, tz, days


def handle_tips_command(
    args: str,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    client,
    store: Subscriptions,
    settings: Settings,
    now: datetime | None = None,
) -> dict:
    """Answer ``/advisor tips on|off|status``; returns an ephemeral ``{"text", "blocks"}`` payload."""
    now = now or datetime.now(UTC)
    tokens = args.split()
    if tokens and tokens[0].lower() == "tips":
        tokens = tokens[1:]
    word = tokens[0].lower() if tokens else "help"
    action = word if word in TIPS_ACTIONS else None
    try:
        if action is None:
            close = _close_action(word)
            rest = " ".join(tokens[1:])
            if close:
                suggestion = f"`{COMMAND} tips {close}{' ' + escape(rest) if rest else ''}`"
                return _error(f"Did you mean {suggestion}?")
            return _error(f"I don't know `tips {escape(word)}`: use tips on, tips off or tips status")
        if action == "on":
            return _tips_on(tokens[1:], team_id, channel_id, user_id, client, store, now)
        if action == "off":
            if store.unsubscribe(team_id, channel_id):
                # The channel was told when tips started: it is told they stopped.
                told = _announce(
                    client, channel_id, f":zzz: Daily tips are off here. Back on: `{COMMAND} tips on`."
                )
                reply = (
                    f"Daily tips are off for {_channel(channel_id)}. "
                    f"Turn them back on with `{COMMAND} tips on`."
                )
                return _reply(reply if told else reply + " (I couldn't post the notice in the channel.)")
            return _reply(f"{_channel(channel_id)} was not subscribed to daily tips.")
        if action == "status":
            subscription = store.get_subscription(team_id, channel_id)
            if subscription is None:
                return _reply(
                    f"{_channel(channel_id)} is not subscribed to daily tips. "
                    f"Subscribe with `{COMMAND} tips on 9am Paris` (your time and city)."
                )
            return _reply(_describe(subscription, store, now))
        return _reply(USAGE)
    except ScheduleError as exc:
        return _error(escape(str(exc)))
    except Exception:
        logger.exception("/advisor tips %s failed in %s/%s", word, team_id, channel_id)
        return _error("Sorry, something went wrong with daily tips; please try again later")


def _tips_on(tokens, team_id, channel_id, user_id, client, store, now) -> dict:
    local_time, tz, days = parse_on(tokens)
    if not _bot_is_member(client, channel_id):
        return _error(
            f"I'm not in {_channel(channel_id)} yet, so I can't post tips there: invite me with "
            f"`/invite @advisor`, then run `{COMMAND} tips on` again"
        )
    note = ""
    if tz is None:
        tz = _user_tz(client, user_id)
        if tz is None:
            tz = "UTC"
            note = " I couldn't read your time zone, so it is UTC; add a city (e.g. `Paris`) to change it."
    subscribed = subscribe(
        store,
        team=team_id,
        channel=channel_id,
        local_time=local_time or DEFAULT_TIME,
        tz=tz,
        days=days,
        created_by=user_id,
        now=now,
    )
    subscription = subscribed.subscription
    when = describe_moment(subscribed.first_tip, now, tz)
    told = _tell_channel(client, channel_id, user_id, subscription, when)
    reply = (
        f"Daily tips are *on* for {_channel(channel_id)}: {_schedule_words(subscription)}. "
        f"First tip: {when}.{note} Stop with `{COMMAND} tips off`."
    )
    if not told:
        reply += " (I couldn't post the notice in the channel.)"
    return _reply(reply)


def _tell_channel(client, channel_id: str, user_id: str, subscription: SubscriptionRecord, when: str) -> bool:
    """The public notice, one line: when tips come, the first one, how to stop them (who
    turned them on is in Slack's own record of the command; no one is pinged)."""
    first = when.split(" at ")[0]  # "tomorrow": the time is said once, in the schedule
    text = (
        f":bulb: Daily tips are on here: {_schedule_words(subscription)}, the first one {first}. "
        f"Stop: `{COMMAND} tips off`."
    )
    return _announce(client, channel_id, text)


def _announce(client, channel_id: str, text: str) -> bool:
    """Post a one-line notice in the channel; False (logged) if Slack refused."""
    try:
        post(client, channel_id, notice(text))
        return True
    except Exception:
        logger.exception("could not post the tips notice in %s", channel_id)
        return False


def handle_tip_now(
    args: str = "",
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    settings: Settings,
    client=None,
    store: Subscriptions | None = None,
) -> dict:
    """Answer ``/advisor tip``: one tip now, for the asker only (leaves channel orders alone)."""
    try:
        catalog = _catalog(str(settings.knowledge_dir))
    except Exception:
        logger.exception("cannot load tips for /advisor tip")
        return _error("Sorry, the tips are not available right now")
    return tip_card(random.choice(catalog.tips), heading="Tip", footer=ONE_TIP_FOOTER)
