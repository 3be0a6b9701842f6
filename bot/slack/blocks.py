"""Block Kit builders: plain data in, Slack message dicts out. No Slack calls, no core imports.

Every piece of user or article text goes through ``escape`` (after undoing Slack's own
escaping of user text), so nothing a user types or the article says can ping or link.
Messages stay inside Block Kit's limits: ``fit`` trims any message to at most
``MAX_BLOCKS`` blocks, ``MAX_SECTION_TEXT`` characters per text and ``MESSAGE_BUDGET``
characters in all, and every message carries a plain ``text`` fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote as percent_encode

from .escape import escape, unescape

MAX_SECTION_TEXT = 3000  # Slack's limit for a section's text
MAX_BLOCKS = 50  # Slack's limit for a message
MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
MESSAGE_BUDGET = 8000  # our cap on a message's blocks as JSON plus its text (Slack's: 12,000+)
MAX_FALLBACK_TEXT = 3000
MAX_BUTTON_VALUE = 2000  # Slack's limit for a button value
QUOTE_CHARS = 1200  # a longer quote is cut (with "…") before it reaches Slack
HEADING_CHARS = 200
QUESTION_ECHO_CHARS = 300
QUESTION_VALUE_CHARS = 500  # the question carried in button values, for "More passages"
PAGE = 2  # passages per "More passages" page
MAX_PASSAGES = 9  # after this many passages, no more "More passages"
COMMAND = "/advisor"

VERDICTS = {"sales": "Sales", "marketing": "Marketing", "both": "Both Sales and Marketing"}

# Action and callback ids the listeners register.
SHARE_ANSWER = "share_answer"
MORE_PASSAGES = "more_passages"
FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
OPEN_ASK_MODAL = "open_ask_modal"
ASK_MODAL = "ask_question"
ASK_INPUT_BLOCK = "question"
ASK_INPUT_ACTION = "question_text"

_SLACK_ID = re.compile(r"^[A-Z][A-Z0-9]+$")


@dataclass(frozen=True)
class Quote:
    """One quoted passage with where it comes from (plain data, built by the caller)."""

    text: str  # verbatim from the article
    section: str  # the section heading, verbatim
    owner: str | None  # "sales" | "marketing" | "both" | None
    passage_id: str
    source_title: str
    source_url: str | None = None


@dataclass(frozen=True)
class SectionInfo:
    heading: str
    takeaway: str
    owner: str


@dataclass(frozen=True)
class ChannelTips:
    channel: str
    local_time: str
    tz: str
    days: str
    active: bool
    paused_reason: str | None


# --- text helpers ---------------------------------------------------------------------------


def user_text(raw: str) -> str:
    """A user's Slack text as plain text: Slack's own escapes undone (escape it again to show)."""
    return unescape(raw or "")


def safe(raw: str, limit: int) -> str:
    """``raw`` escaped for mrkdwn, cut (with "…") so the escaped text fits in ``limit`` chars."""
    raw = raw or ""
    text = escape(raw)
    if len(text) <= limit:
        return text
    cut = min(len(raw), limit - 1)
    while cut > 0:
        text = escape(raw[:cut].rstrip()) + "…"
        if len(text) <= limit:
            return text
        cut = min(cut - 1, int(cut * 0.9))
    return "…"


def plain(raw: str, limit: int) -> str:
    """Plain text (for plain_text objects and fallbacks), escaped and cut to ``limit``."""
    return safe(" ".join((raw or "").split()), limit)


def link(url: str | None, label: str) -> str:
    """A mrkdwn link to a curated http(s) URL, or just the escaped label."""
    label_text = safe(label, 150).replace("|", "¦")
    if not url or not url.startswith(("http://", "https://")):
        return label_text
    href = percent_encode(url, safe=":/?#[]@!$&'()*+,;=%~-._").replace("&", "&amp;")
    return f"<{href}|{label_text}>"


def slack_quote(text: str, limit: int) -> str:
    """``text`` as a Slack block quote (each line starts with ``>``), escaped."""
    body = safe(text.strip(), limit)
    return "\n".join(f">{line}" if line.strip() else ">" for line in body.splitlines())


def _value(**data) -> str:
    """A button value: compact JSON, the question cut to fit Slack's 2,000 characters."""
    if "q" in data:
        data["q"] = (data["q"] or "")[:QUESTION_VALUE_CHARS]
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    while len(value) > MAX_BUTTON_VALUE and data.get("q"):
        data["q"] = data["q"][: len(data["q"]) // 2]
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return value


def read_value(value: str) -> dict:
    """Parse a button value written by ``_value`` (an empty dict if it is not ours)."""
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _section(text: str, block_id: str | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}]}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def verdict_name(owner: str | None) -> str:
    return VERDICTS.get(owner or "", "No single owner")


def question_echo(question: str) -> str:
    return f"*Q:* {safe(' '.join(user_text(question).split()), QUESTION_ECHO_CHARS)}"


def quote_block(quote: Quote, *, block_id: str | None = None, with_owner: bool = False) -> dict:
    """The quoted guidance as a Slack quote, with its section heading and a link to the source."""
    attribution = f"— *{safe(quote.section, HEADING_CHARS)}* · {link(quote.source_url, quote.source_title)}"
    lines = [slack_quote(quote.text, QUOTE_CHARS), attribution]
    if with_owner and quote.owner:
        lines.append(f"_Points to {verdict_name(quote.owner)}._")
    return _section("\n".join(lines), block_id)


# --- messages -------------------------------------------------------------------------------


def _verdict_line(status: str, owner: str | None) -> str:
    if status == "low_confidence":
        return (
            ":thinking_face: *I'm not sure the article answers this.* "
            f"The closest guidance it has points to *{verdict_name(owner)}*, "
            "but check that it fits your question."
        )
    if owner == "sales":
        return "*Verdict: Sales.* Per the article, this is the sales department's job."
    if owner == "marketing":
        return "*Verdict: Marketing.* Per the article, this is the marketing department's job."
    if owner == "both":
        return "*Verdict: Both Sales and Marketing.* The article gives each department a part."
    return "*Verdict:* the article names no single owner for this."


def _fallback_verdict(status: str, owner: str | None) -> str:
    if status == "low_confidence":
        return f"Not sure the article answers this; the closest guidance points to {verdict_name(owner)}."
    return f"Verdict: {verdict_name(owner)}."


def answer_card(
    question: str,
    status: str,
    owner: str | None,
    quotes: Sequence[Quote],
    *,
    examples: Sequence[str] = (),
    has_more: bool = False,
    ephemeral: bool = False,
) -> dict:
    """The answer card: verdict, the best quote, the question, and its buttons.

    ``question`` is the user's text as Slack sent it; ``quotes`` are best first (only the first
    is shown; "More passages" shows the rest). For ``not_covered`` no quote is shown: the card
    says so and suggests ``examples`` the article does answer.
    """
    if status == "not_covered" or not quotes:
        return not_covered(question, examples)
    best = quotes[0]
    blocks = [
        _section(_verdict_line(status, owner), "verdict"),
        quote_block(best, block_id="passage_0"),
        _context(question_echo(question)),
    ]
    buttons = []
    if has_more:
        buttons.append(_button("More passages", MORE_PASSAGES, _value(q=question, o=1)))
    buttons.append(_button(":+1: Helpful", FEEDBACK_HELPFUL, _value(q=question, p=best.passage_id)))
    buttons.append(_button(":-1: Not helpful", FEEDBACK_NOT_HELPFUL, _value(q=question, p=best.passage_id)))
    if ephemeral:
        buttons.append(_button("Share in channel", SHARE_ANSWER, _value(q=question), "primary"))
    blocks.append({"type": "actions", "block_id": "answer_actions", "elements": buttons})
    text = (
        f"{_fallback_verdict(status, owner)} “{plain(best.text, 2000)}” "
        f"({plain(best.section, HEADING_CHARS)})"
    )
    return fit({"text": text, "blocks": blocks})


def not_covered(question: str, examples: Sequence[str]) -> dict:
    """The article does not cover the question: say so, suggest questions it does cover."""
    lines = ["*The article doesn't cover that.* It answers questions like these:"]
    lines += [f"• {safe(q, 200)}" for q in list(examples)[:5]]
    blocks = [_section("\n".join(lines), "not_covered"), _context(question_echo(question))]
    suggestions = "; ".join(plain(q, 200) for q in list(examples)[:3])
    text = "The article doesn't cover that." + (f" Try: {suggestions}" if suggestions else "")
    return fit({"text": text, "blocks": blocks})


def more_passages(
    question: str,
    quotes: Sequence[Quote],
    *,
    offset: int,
    has_more: bool,
    not_helpful: bool = False,
) -> dict:
    """Further passages for a question, from ``offset``, with a button for the next page."""
    if not_helpful:
        intro = "Sorry that didn't help. Here are the next-best passages from the article:"
    else:
        intro = "More from the article on this question:"
    if not quotes:
        intro = "That's everything the article says that fits this question."
    blocks = [_section(intro, "intro"), _context(question_echo(question))]
    for i, quote in enumerate(quotes):
        blocks.append(quote_block(quote, block_id=f"passage_{offset + i}", with_owner=True))
    if has_more and quotes:
        next_offset = offset + len(quotes)
        blocks.append(
            {
                "type": "actions",
                "block_id": "more_actions",
                "elements": [_button("More passages", MORE_PASSAGES, _value(q=question, o=next_offset))],
            }
        )
    text = intro + "".join(f" “{plain(q.text, 600)}” ({plain(q.section, HEADING_CHARS)})" for q in quotes)
    return fit({"text": text, "blocks": blocks})


def help_message(examples: Sequence[str]) -> dict:
    """Usage, with example questions."""
    usage = (
        "*Ask me how to split work between Sales and Marketing.* I answer from one article "
        "and quote it.\n"
        "• Mention me in a channel: `@advisor who should set next year's sales quota?` "
        "(I reply in the thread; ask follow-ups there without mentioning me)\n"
        "• Send me a direct message\n"
        f"• `{COMMAND} QUESTION`: a private answer you can share in the channel\n"
        f"• `{COMMAND} tips on [HH:MM] [Area/City] [--daily]`, `{COMMAND} tips off`, "
        f"`{COMMAND} tips status`: a daily tip in this channel\n"
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


def shared_by(card: dict, user_id: str) -> dict:
    """A card shared in the channel, with who shared it (a user id from Slack's payload)."""
    who = f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else "Someone"
    blocks = list(card["blocks"])
    at = next((i for i, b in enumerate(blocks) if b.get("type") == "actions"), len(blocks))
    blocks.insert(at, _context(f"Shared by {who} with `{COMMAND}`"))
    return fit({"text": card["text"], "blocks": blocks})


# --- App Home and the ask modal ---------------------------------------------------------------


def home_view(
    *,
    title: str,
    publisher: str | None,
    date: str | None,
    url: str | None,
    sections: Sequence[SectionInfo],
    examples: Sequence[str],
    subscriptions: Sequence[ChannelTips] | None = (),
) -> dict:
    """The App Home tab: what the advisor knows, example questions, daily tips.

    ``subscriptions`` None means they could not be loaded: the tab says so instead of
    claiming that no channel gets tips.
    """
    source = ", ".join(safe(p, 100) for p in (publisher, date) if p)
    about = (
        "I answer how a company should split work between *Sales* and *Marketing*, quoting one "
        f"article: {link(url, title)}" + (f" ({source})" if source else "") + "."
    )
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Sales & Marketing advisor"}},
        _section(about, "about"),
        {"type": "divider"},
        _section("*What the article covers*", "covers"),
    ]
    for i, s in enumerate(list(sections)[:30]):
        text = f"*{safe(s.heading, HEADING_CHARS)}* ({verdict_name(s.owner)})\n{safe(s.takeaway, 1500)}"
        blocks.append(_section(text, f"section_{i}"))
    blocks.append({"type": "divider"})
    ask = ["*Ask me*, by mention, DM or `/advisor QUESTION`. For example:"]
    ask += [f"• {safe(q, 200)}" for q in list(examples)[:6]]
    blocks.append(_section("\n".join(ask), "ask"))
    blocks.append(
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [_button("Ask a question", OPEN_ASK_MODAL, "ask", "primary")],
        }
    )
    blocks.append({"type": "divider"})
    tips = (
        "*Daily tips*: one quoted tip a day in a channel. Invite me to the channel "
        "(`/invite @advisor`), then type `/advisor tips on 09:00 Europe/Paris` there "
        "(`--daily` includes weekends). `/advisor tips status` shows the schedule, "
        "`/advisor tips off` stops it."
    )
    blocks.append(_section(tips, "tips"))
    lines = []
    for sub in list(subscriptions or ())[:40]:
        if not sub.active:
            continue
        channel = f"<#{sub.channel}>" if _SLACK_ID.match(sub.channel) else safe(sub.channel, 40)
        state = f" — paused: {safe(sub.paused_reason, 100)}" if sub.paused_reason else ""
        lines.append(
            f"• {channel} at {safe(sub.local_time, 10)} {safe(sub.tz, 60)}, {safe(sub.days, 20)}{state}"
        )
    if subscriptions is None:
        blocks.append(_context("I couldn't load the channels subscribed to daily tips right now."))
    elif lines:
        blocks.append(_section("*Subscribed channels*\n" + "\n".join(lines), "subscriptions"))
    else:
        blocks.append(_context("No channel in this workspace gets daily tips yet."))
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


def tip_card(title: str, quote: Quote, *, heading: str = "Tip of the day") -> dict:
    """A tip: our title, the article's words as a quote, its section and a link to the source."""
    source = f"From “{safe(quote.section, HEADING_CHARS)}”"
    if quote.source_url:
        source += " · " + link(quote.source_url, quote.source_title)
    blocks = [
        _section(f":bulb: *{safe(heading, HEADING_CHARS)}: {safe(title, HEADING_CHARS)}*"),
        _section(slack_quote(quote.text, QUOTE_CHARS)),
        _context(source),
    ]
    text = plain(f"{heading}: {title} — “{quote.text}” ({quote.section})", MAX_FALLBACK_TEXT)
    return fit({"text": text, "blocks": blocks})


# --- limits ---------------------------------------------------------------------------------


def message_size(message: dict) -> int:
    """Characters a message takes: its blocks as JSON plus its fallback text."""
    blocks = json.dumps(message.get("blocks", []), ensure_ascii=False)
    return len(blocks) + len(message.get("text", ""))


def fit(message: dict) -> dict:
    """Trim a message into Block Kit's limits: passages go first, then any extra blocks."""
    blocks = list(message.get("blocks", []))
    text = message.get("text") or "Answer from the Sales and Marketing advisor."
    if len(text) > MAX_FALLBACK_TEXT:
        text = text[: MAX_FALLBACK_TEXT - 1].rstrip()
        # never leave half an entity such as "&am" at the end
        amp = text.rfind("&")
        if amp >= 0 and ";" not in text[amp:]:
            text = text[:amp]
        text += "…"
    actions = [b for b in blocks if b.get("type") == "actions"]

    def removable() -> list[int]:
        return [
            i
            for i, b in enumerate(blocks)
            if str(b.get("block_id", "")).startswith("passage_") and b.get("block_id") != "passage_0"
        ]

    while len(blocks) > MAX_BLOCKS:
        victims = removable() or [i for i, b in enumerate(blocks) if b not in actions]
        blocks.pop(victims[-1])
    while message_size({"text": text, "blocks": blocks}) > MESSAGE_BUDGET and removable():
        blocks.pop(removable()[-1])
    while message_size({"text": text, "blocks": blocks}) > MESSAGE_BUDGET and len(blocks) > 1:
        victims = [i for i, b in enumerate(blocks) if b not in actions] or [len(blocks) - 1]
        blocks.pop(victims[-1])
    return {"text": text, "blocks": blocks}
