"""Short messages: help, errors, notices, and the agent surface (the Messages tab): its
status, suggested prompts and welcome."""

from __future__ import annotations

from collections.abc import Sequence

from .common import (
    COMMAND,
    _context,
    _section,
    fit,
    plain,
    safe,
)


def help_message(examples: Sequence[str]) -> dict:
    """Usage, with example questions."""
    usage = (
        "*Ask me how to split work between Sales and Marketing.* I answer from one article "
        "and quote it.\n"
        "• Mention me in a channel: `@advisor who should set next year's sales quota?` "
        "(I reply in the thread; ask follow-ups there without mentioning me)\n"
        "• Send me a direct message\n"
        f"• `{COMMAND} QUESTION`: a private answer you can share in the channel\n"
        f"• `{COMMAND} tips on [TIME] [ZONE] [--daily]` (e.g. `{COMMAND} tips on 9am Paris`), "
        f"`{COMMAND} tips off`, `{COMMAND} tips status`: a daily tip in this channel\n"
        f"• `{COMMAND} tip`: one tip now"
    )
    blocks = [_section(usage, "usage")]
    if examples:
        lines = ["*Try:*"] + [f"• {safe(q, 200)}" for q in list(examples)[:6]]
        blocks.append(_section("\n".join(lines), "examples"))
    text = (
        f"Ask me how to split work between Sales and Marketing: mention me, DM me or use "
        f"{COMMAND} QUESTION. Daily tips: {COMMAND} tips on."
    )
    return fit({"text": text, "blocks": blocks})


def error_message() -> dict:
    text = "Sorry, something went wrong while answering. Please try again in a moment."
    return {"text": text, "blocks": [_section(f":warning: {text}", "error")]}


def ask_form_unavailable() -> dict:
    """Sent by DM when the ask form cannot be opened (a button must never do nothing)."""
    text = (
        f"Sorry, I couldn't open the question form. Ask with `{COMMAND} QUESTION` in any channel, "
        "or send me your question here."
    )
    return {"text": text, "blocks": [_section(f":warning: {text}", "ask_form_unavailable")]}


def notice(text: str) -> dict:
    """A short plain notice (``text`` is ours, not user text)."""
    return {"text": text, "blocks": [_section(text, "notice")]}


# --- the agent surface (the Messages tab of an agent app) -------------------------------------

THINKING = "is reading the article..."
LOADING_MESSAGES = ("Reading the article...", "Finding the passage that answers this...")


def suggested_prompts(examples: Sequence[str]) -> list[dict]:
    """Suggested prompts for the Messages tab (Slack shows up to four): example questions."""
    return [{"title": plain(q, 75), "message": plain(q, 500)} for q in list(examples)[:4]]


def welcome_message(examples: Sequence[str]) -> dict:
    """The first message a new user gets in the Messages tab."""
    text = (
        "Hi! Ask me who should own a piece of work, Sales or Marketing, and I'll answer with a "
        "verdict and a quote from the article. Pick a suggested prompt or type your question."
    )
    blocks = [_section(":wave: " + text, "welcome")]
    if examples:
        blocks.append(_context("For example: " + " · ".join(safe(q, 150) for q in list(examples)[:2])))
    return fit({"text": text, "blocks": blocks})
