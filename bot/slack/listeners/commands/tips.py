"""``/advisor tips on|off|status`` and ``/advisor tip``: the daily tips' Slack surface.

The ``/advisor`` listener (``advisor.py``) calls these with the command's text after ``tips``
(a leading ``tips`` is accepted too) and sends the returned ``{"text", "blocks"}`` payload
ephemerally. Anything that goes wrong becomes a plain message; nothing here raises.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from ....config import Settings
from ....storage import Store
from ....tips.catalog import TipCatalog, load_tips
from ....tips.records import SubscriptionRecord
from ....tips.schedule import ScheduleError, next_due, parse_local_time, parse_tz
from ...escape import escape
from ...messaging import NOT_IN_CHANNEL
from ...tips import tip_card

logger = logging.getLogger(__name__)

DEFAULT_TIME = "09:00"
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]+$")
_TIME_LIKE = re.compile(r"^\d{1,2}:\d{2}$")

USAGE = (
    "*Daily tips* \u2014 one quoted piece of the article in this channel each day:\n"
    "\u2022 `/advisor tips on [HH:MM] [Area/City] [--daily]` \u2014 subscribe this channel "
    "(default 09:00 in your time zone, weekdays)\n"
    "\u2022 `/advisor tips off` \u2014 stop\n"
    "\u2022 `/advisor tips status` \u2014 what is set up here\n"
    "\u2022 `/advisor tip` \u2014 one tip now, just for you"
)


def _reply(text: str) -> dict:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else escape(channel_id)


@functools.lru_cache(maxsize=4)
def _catalog(knowledge_dir: str) -> TipCatalog:
    return load_tips(knowledge_dir)


def _describe(subscription: SubscriptionRecord, store: Store, now: datetime) -> str:
    s = subscription
    days = "every day" if s.days == "daily" else "weekdays"
    where = _channel(s.channel)
    if not s.active:
        reason = f" ({escape(s.paused_reason)})" if s.paused_reason else ""
        return f"Daily tips are *off* for {where}{reason}. Turn them on with `/advisor tips on`."
    if s.paused_reason:
        how = (
            "Invite me with `/invite @advisor`, then run `/advisor tips on` again."
            if s.paused_reason in NOT_IN_CHANNEL
            else "Run `/advisor tips on` again once that is fixed."
        )
        return (
            f"Daily tips for {where} are *paused*: Slack said `{escape(s.paused_reason)}` "
            f"when I tried to post. {how}"
        )
    today = now.astimezone(ZoneInfo(s.tz)).date()
    post = store.post_for(s.team, s.channel, today)
    posted_today = post is not None and post.status != "failed"
    when = next_due(local_time=s.local_time, tz=s.tz, days=s.days, now=now, posted_today=posted_today)
    next_text = (
        "within a minute"
        if when <= now.astimezone(when.tzinfo)
        else f"{when:%a %d %b, %H:%M} ({escape(s.tz)})"
    )
    return f"Daily tips are *on* for {where}: {s.local_time} {escape(s.tz)}, {days}. Next tip: {next_text}."


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


def _parse_on(tokens: list[str]) -> tuple[str | None, str | None, str]:
    local_time, tz, days = None, None, "weekdays"
    for token in tokens:
        lowered = token.lower()
        if lowered in ("--daily", "daily", "-d"):
            days = "daily"
        elif lowered in ("--weekdays", "weekdays"):
            days = "weekdays"
        elif _TIME_LIKE.match(token):
            local_time = parse_local_time(token)
        elif "/" in token or token.upper() == "UTC":
            tz = parse_tz("UTC" if token.upper() == "UTC" else token)
        else:
            raise ScheduleError(f"I don't understand {token!r}")
    return local_time, tz, days


def handle_tips_command(
    args: str,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    client,
    store: Store,
    settings: Settings,
    now: datetime | None = None,
) -> dict:
    """Answer ``/advisor tips on|off|status``; returns an ephemeral ``{"text", "blocks"}`` payload."""
    now = now or datetime.now(UTC)
    tokens = args.split()
    if tokens and tokens[0].lower() == "tips":
        tokens = tokens[1:]
    action = tokens[0].lower() if tokens else "help"
    try:
        if action == "on":
            return _tips_on(tokens[1:], team_id, channel_id, user_id, client, store, now)
        if action == "off":
            if store.unsubscribe(team_id, channel_id):
                return _reply(f"Daily tips are off for {_channel(channel_id)}.")
            return _reply(f"{_channel(channel_id)} was not subscribed to daily tips.")
        if action == "status":
            subscription = store.get_subscription(team_id, channel_id)
            if subscription is None:
                return _reply(
                    f"{_channel(channel_id)} is not subscribed to daily tips. "
                    "Subscribe with `/advisor tips on`."
                )
            return _reply(_describe(subscription, store, now))
        return _reply(USAGE)
    except ScheduleError as exc:
        return _reply(f"{escape(str(exc))}.\n\n{USAGE}")
    except Exception:
        logger.exception("/advisor tips %s failed in %s/%s", action, team_id, channel_id)
        return _reply("Sorry, something went wrong with daily tips. Please try again later.")


def _tips_on(tokens, team_id, channel_id, user_id, client, store, now) -> dict:
    local_time, tz, days = _parse_on(tokens)
    if not _bot_is_member(client, channel_id):
        return _reply(
            f"I'm not in {_channel(channel_id)} yet, so I can't post tips there. "
            "Invite me with `/invite @advisor`, then run `/advisor tips on` again."
        )
    note = ""
    if tz is None:
        tz = _user_tz(client, user_id)
        if tz is None:
            tz = "UTC"
            note = " (I couldn't read your time zone; add one, e.g. `Europe/Paris`, to change it)"
    subscription = store.subscribe(
        team=team_id,
        channel=channel_id,
        local_time=local_time or DEFAULT_TIME,
        tz=tz,
        days=days,
        created_by=user_id,
    )
    return _reply(_describe(subscription, store, now) + note + " Stop with `/advisor tips off`.")


def handle_tip_now(
    args: str = "",
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    settings: Settings,
    client=None,
    store: Store | None = None,
) -> dict:
    """Answer ``/advisor tip``: one tip now, for the asker only (leaves channel orders alone)."""
    try:
        catalog = _catalog(str(settings.knowledge_dir))
    except Exception:
        logger.exception("cannot load tips for /advisor tip")
        return _reply("Sorry, the tips are not available right now.")
    return tip_card(random.choice(catalog.tips), heading="Tip")
