"""The experts desk: what an answer card gains from the workspace's experts.

- A question close to one an expert answered in this workspace gets the saved answer on its
  card (``bot.search.saved`` decides what is close; the saved questions are read from the
  store on every question, so a deleted answer is never shown again).
- A refusal or a low-confidence answer offers "Ask an expert" when the workspace has an
  experts channel, and so does a card voted not helpful.
- ``/advisor experts`` and ``/advisor answers``: the setting and the admins' list.

Nothing here may break an answer: a failure to read the experts' state is logged and the
card goes out as the core built it.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from slack_sdk import WebClient

from ..search.answer import Answer
from ..search.saved import SavedMatcher, SavedQuestion
from ..storage.experts import SavedAnswerRecord
from .admin_home import is_admin
from .blocks.answers import with_button
from .blocks.experts import (
    ASK_EXPERT,
    SavedCard,
    ask_expert_button,
    experts_setting,
    notice_text,
    saved_answers_list,
    with_saved_answer,
)

logger = logging.getLogger(__name__)

OFFERED_FOR = ("low_confidence", "not_covered")  # the statuses a card offers "Ask an expert" on
# A channel as Slack sends it with should_escape (<#C123|name>, <#C123>) or as an id typed.
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]{6,})$")


class DeskStore(Protocol):
    """What the desk needs of the store (``bot.storage.Store`` is one)."""

    def experts_channel(self, team: str) -> str | None: ...

    def set_experts_channel(self, team: str, channel: str, *, set_by: str | None = None) -> None: ...

    def clear_experts_channel(self, team: str) -> bool: ...

    def saved_answers(self, team: str) -> list[SavedAnswerRecord]: ...

    def delete_saved_answer(self, team: str, saved_id: int) -> bool: ...

    def record_saved_use(self, team: str, saved_id: int, channel: str, message_ts: str | None) -> None: ...


def parse_channel(text: str) -> str | None:
    """The channel id in ``text`` (``<#C123|name>``, ``<#C123>`` or ``C123``), else None."""
    match = _CHANNEL.match((text or "").strip())
    return (match.group(1) or match.group(2)) if match else None


def saved_card(record: SavedAnswerRecord) -> SavedCard:
    return SavedCard(
        id=record.id,
        question=record.question,
        answer=record.answer,
        expert=record.expert,
        answered_at=record.answered_at,
    )


class ExpertDesk:
    def __init__(self, store: DeskStore, matcher: SavedMatcher):
        self.store = store
        self.matcher = matcher

    def decorate(self, team: str, question: str, card: dict, answer: Answer) -> tuple[dict, int | None]:
        """``card`` with a saved answer close to ``question`` and, on a refusal or a
        low-confidence answer, "Ask an expert"; the saved answer's id if one is shown."""
        try:
            saved = self.store.saved_answers(team)
            # The article's search already embedded the question: matched with its vector.
            items = [SavedQuestion(s.id, s.question, s.answer) for s in saved]
            found = self.matcher.match(question, items, query=answer.query)
            if found is not None:
                record = next(s for s in saved if s.id == found.id)
                covered = answer.status != "not_covered"
                return with_saved_answer(card, saved_card(record), covered=covered), record.id
            if answer.status in OFFERED_FOR:
                return self.offer(team, card, question), None
        except Exception:
            logger.exception("could not add the experts' part to an answer in workspace %s", team)
        return card, None

    def offer(self, team: str, card: dict, question: str) -> dict:
        """``card`` with "Ask an expert" if the workspace has an experts channel."""
        offered = any(
            e.get("action_id") == ASK_EXPERT
            for b in card.get("blocks") or []
            for e in b.get("elements") or []
        )
        if offered or not self.store.experts_channel(team):
            return card
        return with_button(card, ask_expert_button(question))

    def used(self, team: str, saved_id: int | None, channel: str, message_ts: str | None) -> None:
        """Count a card that showed a saved answer (its ts attaches the votes cast on it)."""
        if saved_id is None:
            return
        try:
            self.store.record_saved_use(team, saved_id, channel, message_ts)
        except Exception:
            logger.exception("could not count the use of saved answer %s", saved_id)

    # --- /advisor experts, /advisor answers ----------------------------------------------------
    def command(self, word: str, rest: str, *, team: str, user: str, client: WebClient) -> dict:
        """``/advisor experts [#channel|off]`` and ``/advisor answers [delete ID]``."""
        rest = rest.strip()
        if word == "experts":
            if not rest:
                return experts_setting(self.store.experts_channel(team))
            if not is_admin(client, user):
                return notice_text("Only workspace admins can change the experts channel.")
            if rest.lower() == "off":
                self.store.clear_experts_channel(team)
                return experts_setting(None, changed="off")
            channel = parse_channel(rest)
            if channel is None:
                return notice_text("Name a channel: /advisor experts #channel (or off).")
            self.store.set_experts_channel(team, channel, set_by=user)
            return experts_setting(channel, changed="set")
        if not is_admin(client, user):
            return notice_text("Only workspace admins can see and change saved answers.")
        action, _, number = rest.partition(" ")
        if action.lower() == "delete":
            if not number.strip().lstrip("#").isdigit():
                return notice_text("Which one? /advisor answers delete ID (the # in /advisor answers).")
            gone = self.store.delete_saved_answer(team, int(number.strip().lstrip("#")))
            return notice_text(
                "Deleted: it won't be shown again." if gone else "No saved answer has that number."
            )
        return saved_answers_list([saved_card(s) for s in self.store.saved_answers(team)])
