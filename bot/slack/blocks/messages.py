"""Short messages: help, errors, notices, and the agent surface (the Messages tab): its
status, suggested prompts, thread titles and welcome."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .common import (
    OPEN_ASK_MODAL,
    THREAD,
    _button,
    _context,
    _section,
    fit,
    plain,
    question_rows,
)
from .words import say

TITLE_CHARS = 40  # a prompt's or thread's title: what fits a phone's prompt chip uncut
# How questions open, dropped from a title ("Who should set next year's sales quota?" -> "Set
# next year's sales quota"): a title names the topic, the message carries the whole question.
_OPENING = re.compile(
    r"^(?:who(?:'s| is| should be)? responsible for|who should do|who (?:should|would|will|must|can)|"
    r"who(?:'s| is| does)?|should (?:we|i)|how do (?:we|i)|does|do|is|are|can)\s+",
    re.IGNORECASE,
)
_ARTICLES = re.compile(r"\b(?:a|an|the)\s+", re.IGNORECASE)
_TRAILING = set("a an the or and of to for in on with if is do as by at".split())


def short_title(question: str, limit: int = TITLE_CHARS) -> str:
    """A short title for a question (a suggested prompt's, a thread's): its opening words
    dropped, then its articles if still too long, then whole words up to ``limit``
    characters, never a dangling "or"/"the" at the end."""
    text = " ".join((question or "").split()).rstrip("?!.。？！ ")
    text = _OPENING.sub("", text, count=1) or text
    if len(text) > limit:
        text = _ARTICLES.sub("", text)
    if len(text) > limit:
        kept: list[str] = []
        for word in text.split():
            if len(" ".join([*kept, word])) > limit:
                break
            kept.append(word)
        while len(kept) > 1 and kept[-1].lower() in _TRAILING:
            kept.pop()
        text = " ".join(kept) or text[:limit]
    return text[:1].upper() + text[1:]


def help_message(examples: Sequence[str], lang: str = "en") -> dict:
    """Help in a few lines: what I do, an "Ask a question" button, three example questions to
    click, and one line with the other ways to ask."""
    blocks = [
        _section(say(lang, "help.intro"), "usage"),
        {
            "type": "actions",
            "block_id": "help_actions",
            "elements": [_button(say(lang, "button.ask_question"), OPEN_ASK_MODAL, "ask", "primary")],
        },
        *question_rows("example", list(examples)[:3], THREAD, lang),
        {**_context(say(lang, "help.ways")), "block_id": "ways"},
    ]
    return fit({"text": say(lang, "help.fallback"), "blocks": blocks})


def error_message(lang: str = "en") -> dict:
    text = say(lang, "error.text")
    return {"text": text, "blocks": [_section(f":warning: {text}", "error")]}


def ask_form_unavailable() -> dict:
    """Sent by DM when the ask form cannot be opened (a button must never do nothing)."""
    text = (
        "Sorry, I couldn't open the question form. Ask with `/advisor QUESTION` in any channel, "
        "or send me your question here."
    )
    return {"text": text, "blocks": [_section(f":warning: {text}", "ask_form_unavailable")]}


def notice(text: str) -> dict:
    """A short plain notice (``text`` is ours, not user text)."""
    return {"text": text, "blocks": [_section(text, "notice")]}


# --- the agent surface (the Messages tab of an agent app) -------------------------------------

THINKING = say("en", "status.thinking")
LOADING_MESSAGES = (say("en", "status.loading_1"), say("en", "status.loading_2"))


def thinking(lang: str = "en") -> tuple[str, list[str]]:
    """The status shown while a question is answered, and its rotating loading messages."""
    return say(lang, "status.thinking"), [say(lang, "status.loading_1"), say(lang, "status.loading_2")]


def suggested_prompts(examples: Sequence[str], lang: str = "en") -> list[dict]:
    """Suggested prompts for the Messages tab (Slack shows up to four): a short title that fits
    a phone, the whole question as the message sent."""
    return [{"title": plain(short_title(q), 75), "message": plain(q, 500)} for q in list(examples)[:4]]


def welcome_message(examples: Sequence[str], lang: str = "en") -> dict:
    """The welcome (a new user's Messages tab, or "hi" / "help" / "what can you do?" in a DM):
    one line and example questions to click, other than the first suggested prompts."""
    examples = list(examples)
    shown = (examples[2:] + examples[:2])[:3]  # the first prompts are on screen already
    blocks = [_section(say(lang, "welcome.text"), "welcome"), *question_rows("example", shown, THREAD, lang)]
    return fit({"text": say(lang, "welcome.fallback"), "blocks": blocks})
