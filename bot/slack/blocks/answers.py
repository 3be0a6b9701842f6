"""Answer cards: the verdict (or a plan's stance) and its quote, a refusal with suggestions, more
passages, the vote control and what a vote shows the voter, a card shared in the channel.

A card reads top to bottom: the question (only on a card shown away from it), the verdict or
stance line, the quote, one context line (document, section, link), the buttons of a private
card, the vote. Every word of ours comes from the language's catalog (``words``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ...knowledge import STANCES  # a plan's stance (``Answer.stance``): one home, the knowledge model
from .common import (
    _SLACK_ID,
    ECHOED,
    FEEDBACK,
    HEADING_CHARS,
    MORE_PASSAGES,
    OPEN_ASK_MODAL,
    PRIVATE,
    SHARE_ANSWER,
    SHARE_PASSAGES,
    THREAD,
    Quote,
    _button,
    _context,
    _section,
    _value,
    fit,
    plain,
    question_echo,
    question_rows,
    quote_block,
    safe,
    source_line,
    verdict_name,
)
from .words import say

# Where a shared card or page came from, for its "Shared by ... from ..." line.
ORIGINS = ("private", "thread", "dm")


def feedback_block(
    question: str, *, kind: str, passage_id: str | None, lang: str = "en", block_id: str = "vote"
) -> dict:
    """The compact vote control: Block Kit's feedback buttons in a context_actions block."""
    value = {"q": question, "p": passage_id, "k": kind, "l": lang}
    return {
        "type": "context_actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": say(lang, "feedback.helpful")},
                    "accessibility_label": say(lang, "feedback.helpful_label"),
                    "value": _value(**value, v=1),
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": say(lang, "feedback.not_helpful")},
                    "accessibility_label": say(lang, "feedback.not_helpful_label"),
                    "value": _value(**value, v=0),
                },
            }
        ],
    }


@dataclass(frozen=True)
class Votes:
    """The votes cast on one card so far, and the viewer's own (shown only to the voter)."""

    helpful: int = 0
    not_helpful: int = 0
    mine: bool | None = None


def votes_line(votes: Votes, lang: str = "en") -> str:
    """What the voter sees: their vote, and the tally when anyone voted (never shown to others)."""
    parts = []
    if votes.mine is not None:
        parts.append(say(lang, "vote.mine_helpful" if votes.mine else "vote.mine_not_helpful"))
    if votes.helpful or votes.not_helpful:
        parts.append(say(lang, "vote.tally", helpful=str(votes.helpful), not_helpful=str(votes.not_helpful)))
    return "  ".join(parts)


def next_steps(question: str, *, kind: str, lang: str = "en") -> list[dict]:
    """The buttons a thumbs-down offers: ask it another way (the ask form, filled with the
    question). The one place another next step (such as "Ask an expert") is added."""
    return [
        _button(say(lang, "button.rephrase"), OPEN_ASK_MODAL, _value(q=question, k=kind, l=lang), "primary")
    ]


def vote_reply(question: str, votes: Votes, *, kind: str, lang: str = "en") -> dict:
    """The message only the voter sees after voting on a card in a conversation: their vote,
    the tally, and after a thumbs-down the next steps. The card itself is left alone."""
    blocks = [{**_context(votes_line(votes, lang)), "block_id": _fresh("votes")}]
    if votes.mine is False:
        blocks.append({**_context(say(lang, "vote.next_step")), "block_id": _fresh("next")})
        blocks.append(
            {
                "type": "actions",
                "block_id": _fresh("next_steps"),
                "elements": next_steps(question, kind=kind, lang=lang),
            }
        )
    return fit({"text": plain(votes_line(votes, lang), 500) or "Vote recorded.", "blocks": blocks})


def _fresh(block_id: str) -> str:
    """A block id never used before: Slack asks for new block ids when a message is updated."""
    return f"{block_id}.{secrets.token_hex(3)}"


def with_votes(card: dict, votes: Votes, lang: str = "en") -> dict:
    """``card`` (seen by the voter alone) with their vote under the vote control, the next
    steps after a thumbs-down, and every block id fresh (the card is replaced in place)."""
    keep = [
        b for b in card["blocks"] if str(b.get("block_id", "")).split(".")[0] not in ("votes", "next_steps")
    ]
    blocks = []
    for block in keep:
        blocks.append(block)
        if block.get("type") == "context_actions":
            blocks.append({**_context(votes_line(votes, lang)), "block_id": "votes"})
            if votes.mine is False:
                question = _question_of(block)
                blocks.append(
                    {
                        "type": "actions",
                        "block_id": "next_steps",
                        "elements": next_steps(question, kind=PRIVATE, lang=lang),
                    }
                )
    if not any(b.get("block_id") == "votes" for b in blocks):
        blocks.append({**_context(votes_line(votes, lang)), "block_id": "votes"})
    fresh = [
        {**b, "block_id": _fresh(str(b["block_id"]).split(".")[0])} if "block_id" in b else b for b in blocks
    ]
    return fit({"text": card["text"], "blocks": fresh})


def _question_of(vote_block: dict) -> str:
    from .common import read_value

    for element in vote_block.get("elements", []):
        if element.get("type") == "feedback_buttons":
            return str(read_value(element["negative_button"].get("value", "")).get("q") or "")
    return ""


def _verdict_line(status: str, owner: str | None, lang: str) -> str:
    """The verdict, said once."""
    if status == "low_confidence":
        key = "verdict.low" if owner else "verdict.low_none"
        return say(lang, key, owner=verdict_name(owner, lang))
    if owner in ("sales", "marketing"):
        return say(lang, "verdict.owner", owner=verdict_name(owner, lang))
    if owner == "both":
        return say(lang, "verdict.both")
    # No verdict: not a who-question, or a quote that assigns nothing (bot/search/verdict.py).
    return say(lang, "verdict.none")


def stance_block(
    stance: str | None, quote: str | None, condition: str | None, shown: str, lang: str = "en"
) -> dict | None:
    """A plan's stance, shown instead of a verdict: what the article says of it, on what it
    depends, and the sentence that says so unless it is the quote ``shown`` already (None: not
    a plan)."""
    if stance not in STANCES:
        return None
    if stance == "depends" and condition:
        line = say(lang, "stance.depends_on", condition=plain(condition, 200))
    else:
        line = say(lang, f"stance.{stance}")
    if quote and quote not in shown:
        line += f" “{plain(quote, 600)}”"
    return _section(line, "stance")


def _fallback_verdict(status: str, owner: str | None, lang: str) -> str:
    if owner is None:
        return say(lang, "fallback.low_none" if status == "low_confidence" else "fallback.none")
    key = "fallback.low" if status == "low_confidence" else "fallback.answer"
    return say(lang, key, owner=verdict_name(owner, lang))


def company_rule(best: Quote) -> dict:
    """A company playbook's answer leads with its rule, labelled as the company's (issue 24)."""
    rule = f"*Company rule* ({safe(best.source_title, HEADING_CHARS)})"
    owns = f": *{verdict_name(best.owner)}* owns this." if best.owner else ":"
    return _section(rule + owns, "verdict")


def article_view_block(view: Quote) -> dict:
    """The article's view beside a company rule that gives the job to another owner."""
    said = f"The article's view: *{verdict_name(view.owner)}*, “{plain(view.text, 300)}”"
    return {**_context(f"{said} (_{safe(view.section, HEADING_CHARS)}_)"), "block_id": "article_view"}


def answer_card(
    question: str,
    status: str,
    owner: str | None,
    quotes: Sequence[Quote],
    *,
    suggestions: Sequence[str] = (),
    has_more: bool = False,
    kind: str = THREAD,
    lang: str = "en",
    stance: str | None = None,
    stance_quote: str | None = None,
    stance_condition: str | None = None,
    company: bool = False,
    article_view: Quote | None = None,
    refusal: str | None = None,
) -> dict:
    """The answer card, top to bottom: the question (on a card shown away from it: ``kind`` in
    ``ECHOED``), the verdict (or, for a plan, its ``stance`` with its condition and sentence),
    the quote, the context line, the private card's buttons, the vote.

    ``quotes`` are best first (only the first is shown; "More passages" shows the rest). On a
    private card the primary button follows the confidence: "Share in channel" for an answer,
    "Rephrase" for a low-confidence one. For ``not_covered`` the card is a refusal.
    """
    if status == "not_covered" or not quotes:
        return not_covered(question, suggestions, kind=kind, lang=lang, intro=refusal)
    best = quotes[0]
    blocks = []
    if kind in ECHOED:
        blocks.append({**_context(question_echo(question)), "block_id": "question"})
    line = (
        stance_block(stance, stance_quote, stance_condition, best.text, lang)
        if status == "answered"
        else None
    )
    if company:
        blocks.append(company_rule(best))
    elif line is not None and owner is None:
        blocks.append(line)  # a plan's stance says what "From the article:" would
    else:
        blocks.append(_section(_verdict_line(status, owner, lang), "verdict"))
        if line is not None:
            blocks.append(line)  # a who-question put as a plan: the verdict, then the stance
    blocks.append(quote_block(best, block_id="passage_0"))
    blocks.append({**_context(source_line(best, lang)), "block_id": "source"})
    if company and article_view is not None:
        blocks.append(article_view_block(article_view))
    buttons = []
    more = _value(q=question, o=1, k=kind, l=lang)
    if kind == PRIVATE:
        share = _button(say(lang, "button.share_channel"), SHARE_ANSWER, _value(q=question, l=lang))
        if status == "low_confidence":
            buttons += next_steps(question, kind=kind, lang=lang) + [share]
        else:
            buttons.append({**share, "style": "primary"})
    if has_more:
        buttons.append(_button(say(lang, "button.more"), MORE_PASSAGES, more))
    if buttons:
        blocks.append({"type": "actions", "block_id": "answer_actions", "elements": buttons})
    blocks.append(feedback_block(question, kind=kind, passage_id=best.passage_id, lang=lang))
    verdict = (
        plain(line["text"]["text"], 200).replace("*", "")
        if line is not None and owner is None
        else _fallback_verdict(status, owner, lang)
    )
    text = f"{verdict} “{plain(best.text, 2000)}” ({plain(best.section, HEADING_CHARS)})"
    return fit({"text": text, "blocks": blocks})


def not_covered(
    question: str,
    suggestions: Sequence[str],
    *,
    kind: str = THREAD,
    lang: str = "en",
    intro: str | None = None,
) -> dict:
    """A refusal: the question (away from it), say so (``intro``: naming the documents loaded,
    in English), offer the closest covered questions (each with an "Ask" button), take a vote."""
    suggestions = [q for q in suggestions if q][:3]
    blocks = []
    if kind in ECHOED:
        blocks.append({**_context(question_echo(question)), "block_id": "question"})
    said = intro
    intro = f"*{said}*" if said and lang == "en" else say(lang, "refusal.title")
    if suggestions:
        intro += " " + say(lang, "refusal.closest")
    blocks.append(_section(intro, "not_covered"))
    blocks += question_rows("suggestion", suggestions, kind, lang)
    if kind == PRIVATE:
        blocks.append(
            {
                "type": "actions",
                "block_id": "answer_actions",
                "elements": next_steps(question, kind=kind, lang=lang),
            }
        )
    blocks.append(feedback_block(question, kind=kind, passage_id=None, lang=lang))
    text = said if said and lang == "en" else say(lang, "refusal.fallback")
    if suggestions:
        text += " " + say(lang, "refusal.closest") + " " + "; ".join(plain(q, 200) for q in suggestions)
    return fit({"text": text, "blocks": blocks})


def more_passages(
    question: str,
    quotes: Sequence[Quote],
    *,
    offset: int,
    has_more: bool,
    share: str | None = "thread",
    thread_ts: str | None = None,
    kind: str = THREAD,
    lang: str = "en",
) -> dict:
    """Further passages for a question, from ``offset``, shown to the clicker only, with a
    button for the next page and (``share``: "thread" or "channel", None in a DM) one that
    posts them where the card is: its thread, or the channel when there is no thread."""
    intro = say(lang, "more.intro") if quotes else say(lang, "more.none")
    blocks = [_section(intro, "intro"), _context(question_echo(question))]
    for i, quote in enumerate(quotes):
        blocks.append(quote_block(quote, block_id=f"passage_{offset + i}"))
        owner = (
            say(lang, "more.points_to", owner=verdict_name(quote.owner, lang)) + "  ·  "
            if quote.owner
            else ""
        )
        blocks.append({**_context(owner + source_line(quote, lang)), "block_id": f"source_{offset + i}"})
    buttons = []
    if share in ("thread", "channel") and quotes:
        label = say(lang, "button.share_thread" if share == "thread" else "button.share_channel")
        value = _value(q=question, o=offset, t=thread_ts if share == "thread" else None, k=kind, l=lang)
        buttons.append(_button(label, SHARE_PASSAGES, value, "primary"))
    if has_more and quotes:
        value = _value(q=question, o=offset + len(quotes), k=kind, l=lang)
        buttons.append(_button(say(lang, "button.more"), MORE_PASSAGES, value))
    if buttons:
        blocks.append({"type": "actions", "block_id": "more_actions", "elements": buttons})
    text = intro + "".join(f" “{plain(q.text, 600)}” ({plain(q.section, HEADING_CHARS)})" for q in quotes)
    return fit({"text": text, "blocks": blocks})


def without_actions(message: dict) -> dict:
    """``message`` with its buttons taken off (what is posted when it is shared)."""
    blocks = [b for b in message["blocks"] if b.get("type") not in ("actions", "context_actions")]
    return {"text": message["text"], "blocks": blocks}


def shared_by(card: dict, user_id: str, *, origin: str = "private", lang: str = "en") -> dict:
    """A card or page shared in a conversation, saying who shared it and from where (``origin``:
    a private answer, a thread or a direct message)."""
    who = f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else say(lang, "someone")
    origin = origin if origin in ORIGINS else "private"
    blocks = list(card["blocks"])
    at = next(
        (i for i, b in enumerate(blocks) if b.get("type") in ("actions", "context_actions")), len(blocks)
    )
    blocks.insert(at, {**_context(say(lang, f"shared.{origin}", who=who)), "block_id": "shared_by"})
    return fit({"text": card["text"], "blocks": blocks})


def with_button(card: dict, button: dict) -> dict:
    """``card`` with one more button (such as "Ask an expert", built in ``experts.py``) among
    its actions, or in an actions block of its own right above the vote."""
    blocks = [dict(b) for b in card["blocks"]]
    actions = next(
        (b for b in blocks if b.get("type") == "actions" and b.get("block_id") != "suggestions"), None
    )
    if actions is not None:
        actions["elements"] = [*actions["elements"], button]
    else:
        at = next((i for i, b in enumerate(blocks) if b.get("type") == "context_actions"), len(blocks))
        blocks.insert(at, {"type": "actions", "block_id": "answer_actions", "elements": [button]})
    return fit({"text": card["text"], "blocks": blocks})
