"""Answer cards: the verdict and its quote, a refusal with suggestions, more passages, the
vote control and its tally, a card shared in the channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .common import (
    _SLACK_ID,
    COMMAND,
    ECHOED,
    FEEDBACK,
    HEADING_CHARS,
    MORE_PASSAGES,
    PRIVATE,
    SHARE_ANSWER,
    SHARE_PASSAGES,
    THREAD,
    Quote,
    _button,
    _context,
    _question_buttons,
    _section,
    _value,
    fit,
    plain,
    question_echo,
    quote_block,
    source_line,
    verdict_name,
)


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


def _verdict_line(status: str, owner: str | None) -> str:
    """The verdict, said once."""
    if status == "low_confidence":
        probably = f"*Probably {verdict_name(owner)}*, but I'm" if owner else "I'm"
        return (
            f":thinking_face: {probably} not sure the article answers this. Check that the quote fits"
            " your question."
        )
    if owner in ("sales", "marketing"):
        return f"*{verdict_name(owner)}* owns this, per the article:"
    if owner == "both":
        return "*Both Sales and Marketing*: the article gives each a part."
    return "*From the article:*"  # no verdict: not a who-question, or a quote that assigns nothing


STANCES = {
    "backs": ":white_check_mark: *The article backs this plan.*",
    "warns": ":warning: *The article warns against this plan.*",
    "depends": ":scales: *It depends*",
}


def stance_block(stance: str | None, quote: str | None, condition: str | None, shown: str) -> dict | None:
    """The stance line of a plan's card: what the article says of it, on what it depends, and
    the sentence that says so unless it is the quote ``shown`` already (None: not a plan)."""
    if stance not in STANCES:
        return None
    line = STANCES[stance]
    if stance == "depends":
        line += f" on {plain(condition, 200)}, per the article." if condition else ", per the article."
    if quote and quote not in shown:
        line += f" “{plain(quote, 600)}”"
    return _section(line, "stance")


def _fallback_verdict(status: str, owner: str | None) -> str:
    if owner is None:
        return "Not sure the article answers this:" if status == "low_confidence" else "From the article:"
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
    stance: tuple[str | None, str | None, str | None] = (None, None, None),
) -> dict:
    """The answer card: the verdict once, the quote, one source line, the actions, the vote.
    For a plan, ``stance`` (stance, its sentence, its condition) adds the stance line.

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
    if (line := stance_block(*stance, best.text)) is not None:
        blocks.insert(1, line)
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


def shared_by(card: dict, user_id: str) -> dict:
    """A card shared in the channel, with who shared it (a user id from Slack's payload)."""
    who = f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else "Someone"
    blocks = list(card["blocks"])
    at = next(
        (i for i, b in enumerate(blocks) if b.get("type") in ("actions", "context_actions")), len(blocks)
    )
    blocks.insert(at, {**_context(f"Shared by {who} with `{COMMAND}`"), "block_id": "shared_by"})
    return fit({"text": card["text"], "blocks": blocks})
