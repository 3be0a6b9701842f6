"""The App Home tab (what the article says, the workspace's tips) and the ask modal."""

from __future__ import annotations

from collections.abc import Sequence

from .common import (
    ASK_INPUT_ACTION,
    ASK_INPUT_BLOCK,
    ASK_MODAL,
    ASKED,
    COMMAND,
    HEADING_CHARS,
    MAX_HOME_BLOCKS,
    OPEN_ASK_MODAL,
    ChannelTips,
    SectionInfo,
    _button,
    _context,
    _section,
    link,
    question_rows,
    safe,
    verdict_name,
)
from .tips import subscription_state
from .words import say


def section_summary(s: SectionInfo) -> str:
    """A section on the Home tab: its heading, its takeaway, and who gets which jobs."""
    lines = [f"*{safe(s.heading, HEADING_CHARS)}*", safe(s.takeaway, 600)]
    jobs = []
    if s.sales:
        jobs.append("*Sales:* " + safe(", ".join(s.sales), 300))
    if s.marketing:
        jobs.append("*Marketing:* " + safe(", ".join(s.marketing), 300))
    if not jobs and s.owner in ("sales", "marketing"):
        jobs.append(f"*{verdict_name(s.owner)}'s* job throughout")
    if jobs:
        lines.append("  ·  ".join(jobs))
    return "\n".join(lines)


def home_view(
    *,
    title: str,
    publisher: str | None,
    date: str | None,
    url: str | None,
    sections: Sequence[SectionInfo],
    examples: Sequence[str],
    subscriptions: Sequence[ChannelTips] | None = (),
    admin_blocks: Sequence[dict] = (),
    lang: str = "en",
) -> dict:
    """The App Home tab, made to fit one phone screen for everyone: for an admin this week's
    figures first (``admin_blocks``, built elsewhere), then the ask button, one line on what I
    do, example questions one per part of the article (each with its own "Ask" button,
    answered by DM), and the workspace's daily tips in words.

    ``sections`` are kept for the article's parts (their questions are the ``examples``, one a
    part, in the article's order). ``subscriptions`` None means they could not be loaded: the
    tab says so instead of claiming that no channel gets tips.
    """
    source = ", ".join(safe(p, 100) for p in (publisher, date) if p)
    about = (
        "Ask who should own a piece of work, *Sales* or *Marketing*: I answer with a quote from "
        f"{link(url, title)}" + (f" ({source})" if source else "") + "."
    )
    blocks: list[dict] = list(admin_blocks)
    if blocks:
        blocks.append({"type": "divider"})
    blocks += [
        {"type": "header", "text": {"type": "plain_text", "text": "Sales & Marketing advisor"}},
        _section(about, "about"),
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [_button(say(lang, "button.ask_question"), OPEN_ASK_MODAL, "ask", "primary")],
        },
    ]
    examples = list(examples)[:6]
    if examples:
        blocks.append(_context("*Try one* (one per part of the article; I answer in our messages):"))
        blocks += question_rows("example", examples, ASKED, lang)
    blocks.append({"type": "divider"})
    tips = f"*Daily tips*: a quoted tip a day in a channel: `{COMMAND} tips on 9am Paris` there."
    lines = [f"• {subscription_state(sub)}" for sub in list(subscriptions or ())[:40] if sub.active]
    if subscriptions is None:
        blocks.append(_section(tips, "tips"))
        blocks.append(_context("I couldn't load the channels subscribed to daily tips right now."))
    elif lines:
        blocks.append(_section(tips + "\n" + "\n".join(lines), "tips"))
    else:
        blocks.append(_section(tips, "tips"))
        blocks.append(_context("No channel in this workspace gets daily tips yet."))
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def ask_modal(question: str = "") -> dict:
    """A modal with one question field (filled with ``question`` when rephrasing one); the
    answer arrives as a direct message."""
    field = {
        "type": "plain_text_input",
        "action_id": ASK_INPUT_ACTION,
        "multiline": True,
        "max_length": 1000,
        "placeholder": {"type": "plain_text", "text": "Who should set next year's sales quota?"},
    }
    if question.strip():
        field["initial_value"] = question.strip()[:1000]
    return {
        "type": "modal",
        "callback_id": ASK_MODAL,
        "title": {"type": "plain_text", "text": "Ask the advisor"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": ASK_INPUT_BLOCK,
                "label": {"type": "plain_text", "text": "Your question"},
                "element": field,
            },
            _context("I'll answer in a direct message, quoting the article."),
        ],
    }


def ask_sent() -> dict:
    """What the ask form turns into once a question is sent: where the answer goes."""
    return {
        "type": "modal",
        "callback_id": f"{ASK_MODAL}_sent",
        "title": {"type": "plain_text", "text": "Ask the advisor"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            _section(
                ":incoming_envelope: Got it. The answer is on its way to our direct messages: "
                "*advisor* under *Apps* in the sidebar.",
                "sent",
            )
        ],
    }
