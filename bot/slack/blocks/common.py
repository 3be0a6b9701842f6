"""Block Kit's shared pieces: the limits, the card kinds and action ids, the plain data the
builders take, text helpers (escaping, cutting, links, button values) and ``fit``. From the
core only the owners' names (``VERDICTS``).

Every piece of user or article text goes through ``escape`` (after undoing Slack's own
escaping of user text), so nothing a user types or the article says can ping or link.
Messages stay inside Block Kit's limits: ``fit`` trims any message to at most
``MAX_BLOCKS`` blocks, ``MAX_SECTION_TEXT`` characters per text and ``MESSAGE_BUDGET``
characters in all, and every message carries a plain ``text`` fallback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote as percent_encode
from urllib.parse import urlsplit

from ...knowledge import VERDICTS
from ..escape import escape, unescape
from .words import say

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


def question_rows(block_id: str, questions, kind: str, lang: str = "en") -> list[dict]:
    """One row per question: the whole question as text (it wraps, so a phone never cuts it)
    with a short "Ask" button beside it; a click asks it (answered as a card of ``kind``)."""
    return [
        {
            "type": "section",
            "block_id": f"{block_id}_{i}",
            "text": {"type": "mrkdwn", "text": safe(q, 300)},
            "accessory": _button(
                say(lang, "button.ask"), f"{ASK_SUGGESTION}_{i}", _value(q=q, k=kind, l=lang)
            ),
        }
        for i, q in enumerate(questions)
    ]


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


def verdict_name(owner: str | None, lang: str = "en") -> str:
    """An owner's display name: in English the core's ``VERDICTS`` (their one home), in another
    language its catalog's ``owner.<owner>``."""
    if owner not in VERDICTS:
        return say(lang, "owner.none")
    return VERDICTS[owner] if lang == "en" else say(lang, f"owner.{owner}")


def question_echo(question: str) -> str:
    """The question, on a card shown away from it (its first line): a speech balloon, no label."""
    return f":speech_balloon: *{safe(' '.join(user_text(question).split()), QUESTION_ECHO_CHARS)}*"


def source_line(quote: Quote, lang: str = "en") -> str:
    """One context line: "From *<title>* · section *<heading>* · <link>" (the document's title:
    the article's, or a playbook's), and in another language a note that the quote is English."""
    title = safe(quote.source_title or "", 150) or "?"
    where = say(lang, "source.from", title=title, section=safe(quote.section, HEADING_CHARS))
    if quote.source_url:
        where += " · " + link(quote.source_url, source_label(quote.source_url))
    if lang != "en":
        where += f" · _{say(lang, 'source.english')}_"
    return where


def source_label(url: str) -> str:
    """A link's short label: the site's name (``globalsources.com``), which fits on one line."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or "source"


def quote_block(quote: Quote, *, block_id: str | None = None) -> dict:
    """The article's words as a Slack quote, alone in its block (the source goes under it)."""
    return _section(slack_quote(quote.text, QUOTE_CHARS), block_id)


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
