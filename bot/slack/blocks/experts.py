"""Experts' cards: the "Ask an expert" button, the question as the experts channel sees it,
the notices in the asker's thread, the expert's answer relayed, a saved answer shown with an
answer card, and the admin's list of saved answers.

Everything a person wrote (the question, the expert's reply, a saved answer) goes through
``safe``/``slack_quote``: nothing in it can ping or link. Only ids Slack gave us (``<@U..>``,
``<#C..>``) are written as mentions, after checking their shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .common import (
    _SLACK_ID,
    HEADING_CHARS,
    QUOTE_CHARS,
    Quote,
    _button,
    _context,
    _section,
    _value,
    fit,
    plain,
    safe,
    slack_quote,
    user_text,
    verdict_name,
)

ASK_EXPERT = "ask_expert"
TAKE_ESCALATION = "take_escalation"
SAVE_EXPERT_ANSWER = "save_expert_answer"
EXPERT_ACTIONS = "expert_actions"  # the block of buttons on the experts channel's post
ANSWER_CHARS = 2500
STATUS_WORDS = {
    "answered": "answered from the article",
    "low_confidence": "answered with low confidence",
    "not_covered": "said the article doesn't cover it",
}


@dataclass(frozen=True)
class SavedCard:
    """A saved answer as a card shows it."""

    id: int
    question: str
    answer: str
    expert: str  # a user id
    answered_at: datetime


def mention(user_id: str | None) -> str:
    """``<@U..>`` for a user id Slack gave us, else "someone" (never user text)."""
    return f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else "someone"


def channel_mention(channel: str | None) -> str:
    return f"<#{channel}>" if _SLACK_ID.match(channel or "") else "the experts channel"


def day(when: datetime) -> str:
    return f"{when.day} {when:%b %Y}"


def ask_expert_button(question: str) -> dict:
    return _button(":raising_hand: Ask an expert", ASK_EXPERT, _value(q=question))


def escalation_post(
    *,
    question: str,
    asker: str,
    status: str,
    quote: Quote | None,
    owner: str | None,
    permalink: str | None,
    escalation_id: int,
) -> dict:
    """The question as posted in the experts channel: who asked and where, what the advisor
    answered, and how to answer (a reply in the thread; "Take it" says who is on it)."""
    where = f" (<{permalink}|original message>)" if permalink and permalink.startswith("https://") else ""
    blocks = [
        _section(f":raising_hand: *{mention(asker)} asked the experts*{where}", "asked"),
        _section(slack_quote(user_text(question), 1500), "question"),
    ]
    said = STATUS_WORDS.get(status, status)
    if quote is not None and status != "not_covered":
        blocks.append(_context(f"The advisor {said}: *{safe(verdict_name(owner), 60)}*"))
        blocks.append({**_section(slack_quote(quote.text, QUOTE_CHARS)), "block_id": "advisor_quote"})
        blocks.append(_context(f"_{safe(quote.section, HEADING_CHARS)}_"))
    else:
        blocks.append(_context(f"The advisor {said}."))
    blocks.append(
        {
            "type": "actions",
            "block_id": EXPERT_ACTIONS,
            "elements": [_button("Take it", TAKE_ESCALATION, _value(e=escalation_id), "primary")],
        }
    )
    blocks.append(
        _context(":speech_balloon: *Answer* by replying in this thread: the asker gets your reply.")
    )
    text = f"Question for the experts: {plain(user_text(question), 500)}"
    return fit({"text": text, "blocks": blocks})


def _replace_actions(message: dict, blocks_after: list[dict]) -> dict:
    blocks = [
        b for b in message.get("blocks") or [] if b.get("block_id") not in (EXPERT_ACTIONS, "expert_state")
    ]
    blocks = [b for b in blocks if not _is_answer_hint(b)]
    return fit({"text": message.get("text") or "Question for the experts", "blocks": blocks + blocks_after})


def _is_answer_hint(block: dict) -> bool:
    elements = block.get("elements") or [{}]
    return block.get("type") == "context" and "replying in this thread" in str(elements[0].get("text", ""))


def taken(message: dict, expert: str, escalation_id: int) -> dict:
    """The experts' post once someone took it (still open: Answer by replying)."""
    state = {**_context(f":eyes: {mention(expert)} is on it."), "block_id": "expert_state"}
    hint = _context(":speech_balloon: *Answer* by replying in this thread: the asker gets your reply.")
    return _replace_actions(message, [state, hint])


def resolved(message: dict, expert: str, escalation_id: int, *, saved_by: str | None = None) -> dict:
    """The experts' post once answered: resolved, with "Save as an answer" (or who saved it)."""
    if saved_by:
        state = (
            f":white_check_mark: Answered by {mention(expert)} · "
            f":floppy_disk: saved as an answer by {mention(saved_by)}"
        )
        return _replace_actions(message, [{**_context(state), "block_id": "expert_state"}])
    state = {
        **_context(f":white_check_mark: Answered by {mention(expert)}: sent to the asker."),
        "block_id": "expert_state",
    }
    actions = {
        "type": "actions",
        "block_id": EXPERT_ACTIONS,
        "elements": [_button("Save as an answer", SAVE_EXPERT_ANSWER, _value(e=escalation_id), "primary")],
    }
    return _replace_actions(message, [state, actions])


def escalated_notice(experts_channel: str) -> dict:
    """In the asker's thread: the question went to the experts."""
    text = (
        f":raising_hand: I've sent your question to the experts in {channel_mention(experts_channel)}. "
        "Their answer will appear here."
    )
    return {"text": text, "blocks": [_section(text, "escalated")]}


def expert_answer(expert: str, text: str) -> dict:
    """In the asker's thread: the expert's reply, attributed, apart from the article's guidance."""
    body = slack_quote(user_text(text), ANSWER_CHARS)
    blocks = [
        _section(f":speech_balloon: *{mention(expert)} answered:*", "expert_answered"),
        _section(body, "expert_answer"),
        _context("From your team's experts, not from the article."),
    ]
    return fit({"text": f"An expert answered: {plain(user_text(text), 1000)}", "blocks": blocks})


def saved_answer_blocks(saved: SavedCard) -> list[dict]:
    """A saved answer on an answer card: attributed and dated, marked as the team's, not the
    article's."""
    return [
        _section(
            f":floppy_disk: *Your team answered this before* "
            f"({mention(saved.expert)}, {day(saved.answered_at)})",
            "saved_title",
        ),
        _section(slack_quote(user_text(saved.answer), ANSWER_CHARS), "saved_answer"),
        {
            **_context(f"Asked as: _{safe(' '.join(user_text(saved.question).split()), 300)}_"),
            "block_id": "saved_question",
        },
    ]


def with_saved_answer(card: dict, saved: SavedCard, *, covered: bool) -> dict:
    """``card`` led by the saved answer; the article's part follows under its own heading when
    the article speaks to the question, else only the vote stays."""
    card_blocks = list(card.get("blocks") or [])
    if covered:
        rest = [
            {"type": "divider", "block_id": "saved_divider"},
            _section("*What the article says:*", "article_says"),
        ]
        rest += card_blocks
    else:
        rest = [_context("The article itself doesn't cover this.")]
        rest += [b for b in card_blocks if b.get("type") == "context_actions"]
    text = f"Your team answered this before: {plain(user_text(saved.answer), 1500)}"
    return fit({"text": text, "blocks": saved_answer_blocks(saved) + rest})


def experts_setting(channel: str | None, *, changed: str | None = None) -> dict:
    """What ``/advisor experts`` says: the channel kept, or that none is set."""
    if channel:
        lead = {"set": "Questions for the experts now go to", "kept": "Questions for the experts go to"}
        text = f":raising_hand: {lead.get(changed or 'kept')} {channel_mention(channel)}."
        text += " Make sure I'm a member of it (`/invite @advisor`)."
    elif changed == "off":
        text = "Ask an expert is off: no experts channel is set."
    else:
        text = "No experts channel is set. Name one with `/advisor experts #channel`."
    return {"text": text, "blocks": [_section(text, "experts")]}


def saved_answers_list(saved: Sequence[SavedCard], *, uses: dict[int, int] | None = None) -> dict:
    """The workspace's saved answers, for admins (``/advisor answers``)."""
    if not saved:
        text = "No saved answers yet. Experts save one with *Save as an answer* on a question they answered."
        return {"text": text, "blocks": [_section(text, "saved_none")]}
    blocks = [_section(f"*Saved answers* ({len(saved)})", "saved_title")]
    for item in saved[:40]:
        used = (uses or {}).get(item.id, 0)
        blocks.append(
            _section(
                f"*#{item.id}* {safe(' '.join(user_text(item.question).split()), 200)}\n"
                f"{safe(' '.join(user_text(item.answer).split()), 300)}\n"
                f"_{mention(item.expert)}, {day(item.answered_at)} · shown {used}×_",
                f"saved_{item.id}",
            )
        )
    blocks.append(_context("Delete one with `/advisor answers delete ID`; edit with `advisor answers edit`."))
    return fit({"text": f"{len(saved)} saved answers", "blocks": blocks})


def notice_text(text: str) -> dict:
    return {"text": text, "blocks": [_section(safe(text, 2000))]}
