"""Tip cards, and a channel's tips described in words (on the Home tab and in commands)."""

from __future__ import annotations

from .common import (
    _SLACK_ID,
    COMMAND,
    HEADING_CHARS,
    MAX_FALLBACK_TEXT,
    QUOTE_CHARS,
    ChannelTips,
    Quote,
    _context,
    _section,
    fit,
    plain,
    safe,
    slack_quote,
    source_line,
)


def _channel_ref(channel: str) -> str:
    return f"<#{channel}>" if _SLACK_ID.match(channel or "") else safe(channel, 40)


# Why a subscription was paused (the Slack error its last post got), in words, with the fix.
PAUSED_BECAUSE = {
    "not_in_channel": "the bot was removed from {channel}; invite it back with `/invite @advisor`",
    "channel_not_found": "I can't see {channel} any more; invite me back with `/invite @advisor`",
    "is_archived": "{channel} was archived; unarchive it, then run `/advisor tips on` there",
}


def subscription_state(sub: ChannelTips) -> str:
    """One line saying what a channel's tips do now, in words (never a raw error code alone)."""
    channel = _channel_ref(sub.channel)
    days = "every day" if sub.days == "daily" else "on weekdays"
    when = f"{days} at {safe(sub.local_time, 10)} {safe(sub.tz, 60)}"
    if not sub.active:
        return f"{channel}: off"
    if sub.paused_reason:
        reason = PAUSED_BECAUSE.get(sub.paused_reason)
        if reason is None:
            reason = (
                f"Slack refused the last tip ({safe(sub.paused_reason, 60)}); "
                f"run `{COMMAND} tips on` in {{channel}} once that is fixed"
            )
        return f"{channel}: *paused*: " + reason.format(channel=channel)
    return f"{channel}: {when}"


def tip_card(title: str, quote: Quote, *, heading: str = "Tip of the day", footer: str | None = None) -> dict:
    """A tip: our title, the article's words as a quote, one source line, and ``footer`` (ours:
    how to stop or change the channel's tips) as the last line."""
    blocks = [
        _section(f":bulb: *{safe(heading, HEADING_CHARS)}: {safe(title, HEADING_CHARS)}*", "tip_title"),
        _section(slack_quote(quote.text, QUOTE_CHARS), "tip_quote"),
        {**_context(source_line(quote)), "block_id": "tip_source"},
    ]
    if footer:
        blocks.append({**_context(footer), "block_id": "tip_footer"})
    text = plain(f"{heading}: {title} — “{quote.text}” ({quote.section})", MAX_FALLBACK_TEXT)
    return fit({"text": text, "blocks": blocks})
