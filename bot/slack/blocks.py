"""Block Kit builders: plain data in, Slack message dicts out. No Slack calls; from the core only
the owners' names (``VERDICTS``).

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
from urllib.parse import urlsplit

from ..knowledge import VERDICTS
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

# Where a card is shown; it decides the question echo and the buttons (carried in the values,
# so a vote can rebuild the card it was cast on).
THREAD = "thread"  # a mention, a follow-up, a DM: the question is right above the card
PRIVATE = "private"  # /advisor QUESTION: only the asker sees it; its primary action is Share
SHARED = "shared"  # a private card shared in the channel
ASKED = "asked"  # asked by a button or the ask form, answered by DM: the question is not above
KINDS = (THREAD, PRIVATE, SHARED, ASKED)
ECHOED = (PRIVATE, SHARED, ASKED)

# Action and callback ids the listeners register.
SHARE_ANSWER = "share_answer"
MORE_PASSAGES = "more_passages"
FEEDBACK = "answer_feedback"  # the feedback_buttons element (one vote control per card)
FEEDBACK_HELPFUL = "feedback_helpful"  # the old full buttons, still on cards posted before
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
SHARE_PASSAGES = "share_passages"
ASK_SUGGESTION = "ask_suggestion"  # action ids ask_suggestion_0.. (refusals, App Home)
ASK_SUGGESTION_PATTERN = re.compile(rf"^{ASK_SUGGESTION}_\d+$")
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
    sales: tuple[str, ...] = ()  # the jobs the section gives Sales, in our words
    marketing: tuple[str, ...] = ()


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


def _question_buttons(block_id: str, questions, kind: str) -> dict:
    """One button per question; a click asks it (answered as a card of ``kind``)."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            _button(plain(q, 75), f"{ASK_SUGGESTION}_{i}", _value(q=q, k=kind))
            for i, q in enumerate(questions)
        ],
    }


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


def source_line(quote: Quote) -> str:
    """One context line: the section, then a short link to the source (never the full title)."""
    where = f"_{safe(quote.section, HEADING_CHARS)}_"
    if quote.source_url:
        where += " · " + link(quote.source_url, source_label(quote.source_url))
    return where


def source_label(url: str) -> str:
    """A link's short label: the site's name (``globalsources.com``), which fits on one line."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or "source"


def quote_block(quote: Quote, *, block_id: str | None = None) -> dict:
    """The article's words as a Slack quote, alone in its block (the source goes under it)."""
    return _section(slack_quote(quote.text, QUOTE_CHARS), block_id)


def feedback_block(question: str, *, kind: str, passage_id: str | None, block_id: str = "vote") -> dict:
    """The compact vote control: Block Kit's feedback buttons in a context_actions block."""
    value = {"q": question, "p": passage_id, "k": kind}
    return {
        "type": "context_actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "Helpful"},
                    "accessibility_label": "Mark this answer as helpful",
                    "value": _value(**value, v=1),
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "Not helpful"},
                    "accessibility_label": "Mark this answer as not helpful",
                    "value": _value(**value, v=0),
                },
            }
        ],
    }


@dataclass(frozen=True)
class Votes:
    """The votes cast on one card so far, and (on a private card) the viewer's own."""

    helpful: int = 0
    not_helpful: int = 0
    mine: bool | None = None  # the viewer's vote, shown on cards only they see


def votes_line(votes: Votes) -> str:
    if votes.mine is not None:
        if votes.mine:
            return ":white_check_mark: You found this helpful. Thanks for telling us."
        return ":memo: You found this not helpful. Thanks, it is recorded so the answer can improve."
    parts = []
    if votes.helpful:
        parts.append(f"{votes.helpful} found this helpful")
    if votes.not_helpful:
        parts.append(f"{votes.not_helpful} found it not helpful")
    return ":ballot_box_with_ballot: " + (" · ".join(parts) or "No votes yet")


def with_votes(card: dict, votes: Votes) -> dict:
    """``card`` with its votes shown in a context line right under the vote control."""
    blocks = [b for b in card["blocks"] if b.get("block_id") != "votes"]
    at = next((i + 1 for i, b in enumerate(blocks) if b.get("type") == "context_actions"), len(blocks))
    blocks.insert(at, {**_context(votes_line(votes)), "block_id": "votes"})
    return fit({"text": card["text"], "blocks": blocks})


# --- messages -------------------------------------------------------------------------------


def _verdict_line(status: str, owner: str | None) -> str:
    """The verdict, said once."""
    if status == "low_confidence":
        return (
            f":thinking_face: *Probably {verdict_name(owner)}*, but I'm not sure the article "
            "answers this. Check that the quote fits your question."
        )
    if owner in ("sales", "marketing"):
        return f"*{verdict_name(owner)}* owns this, per the article:"
    if owner == "both":
        return "*Both Sales and Marketing*: the article gives each a part."
    return "*No single owner*: the article doesn't give this to one department."


def _fallback_verdict(status: str, owner: str | None) -> str:
    if status == "low_confidence":
        return f"Probably {verdict_name(owner)} (not sure the article answers this)."
    return f"{verdict_name(owner)}."


def answer_card(
    question: str,
    status: str,
    owner: str | None,
    quotes: Sequence[Quote],
    *,
    suggestions: Sequence[str] = (),
    has_more: bool = False,
    kind: str = THREAD,
) -> dict:
    """The answer card: the verdict once, the quote, one source line, the actions, the vote.

    ``question`` is the user's text as Slack sent it; ``quotes`` are best first (only the first
    is shown; "More passages" shows the rest). ``kind`` says where the card is shown
    (``THREAD``, ``PRIVATE``, ``SHARED``, ``ASKED``): only cards away from the question echo
    it, and only a private card has "Share in channel" (its primary action, first). For
    ``not_covered`` the card is a refusal offering ``suggestions`` as buttons.
    """
    if status == "not_covered" or not quotes:
        return not_covered(question, suggestions, kind=kind)
    best = quotes[0]
    blocks = [_section(_verdict_line(status, owner), "verdict"), quote_block(best, block_id="passage_0")]
    context = source_line(best)
    if kind in ECHOED:
        context = question_echo(question) + "  ·  " + context
    blocks.append({**_context(context), "block_id": "source"})
    buttons = []
    if kind == PRIVATE:
        buttons.append(_button("Share in channel", SHARE_ANSWER, _value(q=question), "primary"))
    if has_more:
        buttons.append(_button("More passages", MORE_PASSAGES, _value(q=question, o=1)))
    if buttons:
        blocks.append({"type": "actions", "block_id": "answer_actions", "elements": buttons})
    blocks.append(feedback_block(question, kind=kind, passage_id=best.passage_id))
    text = (
        f"{_fallback_verdict(status, owner)} “{plain(best.text, 2000)}” "
        f"({plain(best.section, HEADING_CHARS)})"
    )
    return fit({"text": text, "blocks": blocks})


def not_covered(question: str, suggestions: Sequence[str], *, kind: str = THREAD) -> dict:
    """A refusal: say so, offer the closest covered questions as buttons, take a vote."""
    suggestions = [q for q in suggestions if q][:3]
    intro = "*The article doesn't cover that.*"
    if suggestions:
        intro += " The closest questions it does answer:"
    blocks = [_section(intro, "not_covered")]
    if kind in ECHOED:
        blocks.append({**_context(question_echo(question)), "block_id": "question"})
    if suggestions:
        blocks.append(_question_buttons("suggestions", suggestions, kind))
    blocks.append(feedback_block(question, kind=kind, passage_id=None))
    text = "The article doesn't cover that."
    if suggestions:
        text += " Closest questions it answers: " + "; ".join(plain(q, 200) for q in suggestions)
    return fit({"text": text, "blocks": blocks})


def more_passages(
    question: str,
    quotes: Sequence[Quote],
    *,
    offset: int,
    has_more: bool,
    shareable: bool = True,
    thread_ts: str | None = None,
) -> dict:
    """Further passages for a question, from ``offset``: shown to the clicker only, with a
    button for the next page and (``shareable``) one to post them in the thread."""
    intro = "More from the article on this question:"
    if not quotes:
        intro = "That's everything the article says that fits this question."
    blocks = [_section(intro, "intro"), _context(question_echo(question))]
    for i, quote in enumerate(quotes):
        blocks.append(quote_block(quote, block_id=f"passage_{offset + i}"))
        owner = f"Points to *{verdict_name(quote.owner)}*  ·  " if quote.owner else ""
        blocks.append({**_context(owner + source_line(quote)), "block_id": f"source_{offset + i}"})
    buttons = []
    if shareable and quotes:
        value = _value(q=question, o=offset, t=thread_ts)
        buttons.append(_button("Share in thread", SHARE_PASSAGES, value, "primary"))
    if has_more and quotes:
        buttons.append(_button("More passages", MORE_PASSAGES, _value(q=question, o=offset + len(quotes))))
    if buttons:
        blocks.append({"type": "actions", "block_id": "more_actions", "elements": buttons})
    text = intro + "".join(f" “{plain(q.text, 600)}” ({plain(q.section, HEADING_CHARS)})" for q in quotes)
    return fit({"text": text, "blocks": blocks})


def without_actions(message: dict) -> dict:
    """``message`` with its buttons taken off (what is posted when it is shared)."""
    blocks = [b for b in message["blocks"] if b.get("type") not in ("actions", "context_actions")]
    return {"text": message["text"], "blocks": blocks}


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


def shared_by(card: dict, user_id: str) -> dict:
    """A card shared in the channel, with who shared it (a user id from Slack's payload)."""
    who = f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else "Someone"
    blocks = list(card["blocks"])
    at = next(
        (i for i, b in enumerate(blocks) if b.get("type") in ("actions", "context_actions")), len(blocks)
    )
    blocks.insert(at, {**_context(f"Shared by {who} with `{COMMAND}`"), "block_id": "shared_by"})
    return fit({"text": card["text"], "blocks": blocks})


# --- App Home and the ask modal ---------------------------------------------------------------


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
    actions = [b for b in blocks if b.get("type") in ("actions", "context_actions")]

    def removable() -> list[int]:  # later passages and their source lines
        return [
            i
            for i, b in enumerate(blocks)
            if re.match(r"^(passage|source)_\d+$", str(b.get("block_id", "")))
            and b.get("block_id") not in ("passage_0", "source_0")
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
