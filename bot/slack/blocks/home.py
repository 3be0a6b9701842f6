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
    _question_buttons,
    _section,
    link,
    safe,
    verdict_name,
)
from .tips import subscription_state


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
) -> dict:
    """The App Home tab: the ask button first, example questions as buttons (answered by
    DM), what each section says, and the workspace's daily tips in words.

    ``subscriptions`` None means they could not be loaded: the tab says so instead of
    claiming that no channel gets tips. ``admin_blocks`` (built elsewhere, e.g. for workspace
    admins) go at the end, after a divider.
    """
    source = ", ".join(safe(p, 100) for p in (publisher, date) if p)
    about = (
        "Ask who should own a piece of work, *Sales* or *Marketing*: I answer with a verdict and "
        f"a quote from {link(url, title)}" + (f" ({source})" if source else "") + ". "
        f"Mention me in a channel, message me, or type `{COMMAND} QUESTION`."
    )
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Sales & Marketing advisor"}},
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [_button("Ask a question", OPEN_ASK_MODAL, "ask", "primary")],
        },
        _section(about, "about"),
    ]
    examples = list(examples)[:5]
    if examples:
        blocks.append(_section("*Try one of these* (I answer in our messages):", "examples"))
        blocks.append(_question_buttons("example_questions", examples, ASKED))
    blocks += [{"type": "divider"}, _section("*What the article says*", "covers")]
    for i, s in enumerate(list(sections)[:30]):
        blocks.append(_section(section_summary(s), f"section_{i}"))
    blocks.append({"type": "divider"})
    tips = (
        "*Daily tips*: one quoted tip a day in a channel. Invite me there (`/invite @advisor`), "
        f"then type `{COMMAND} tips on 9am Paris` (`--daily` includes weekends); "
        f"`{COMMAND} tips off` stops them."
    )
    blocks.append(_section(tips, "tips"))
    lines = [f"• {subscription_state(sub)}" for sub in list(subscriptions or ())[:40] if sub.active]
    if subscriptions is None:
        blocks.append(_context("I couldn't load the channels subscribed to daily tips right now."))
    elif lines:
        blocks.append(_section("*Channels getting tips*\n" + "\n".join(lines), "subscriptions"))
    else:
        blocks.append(_context("No channel in this workspace gets daily tips yet."))
    if admin_blocks:
        blocks.append({"type": "divider"})
        blocks += list(admin_blocks)
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def ask_modal() -> dict:
    """A modal with one question field; the answer arrives as a direct message."""
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
                "element": {
                    "type": "plain_text_input",
                    "action_id": ASK_INPUT_ACTION,
                    "multiline": True,
                    "max_length": 1000,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "Who should set next year's sales quota?",
                    },
                },
            },
            _context("I'll answer in a direct message, quoting the article."),
        ],
    }
