"""The answer card's buttons: More passages, Helpful / Not helpful, Share in channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from ....storage import Store
from ...blocks import notice, read_value, shared_by
from ...cards import Cards
from ...messaging import NOT_IN_CHANNEL, post, reply_privately, report_failure, slack_error

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clicked:
    """Where a button was clicked: on which message, in which channel and thread, by whom."""

    team: str
    channel: str
    message_ts: str | None
    thread_ts: str | None
    ephemeral: bool
    user: str
    question: str
    value: dict

    @classmethod
    def of(cls, body: dict, action: dict, context: BoltContext) -> Clicked:
        container = body.get("container") or {}
        message = body.get("message") or {}
        value = read_value(action.get("value", ""))
        return cls(
            team=context.team_id or (body.get("team") or {}).get("id") or "",
            channel=container.get("channel_id") or (body.get("channel") or {}).get("id") or "",
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            user=(body.get("user") or {}).get("id") or "",
            question=str(value.get("q") or ""),
            value=value,
        )

    @property
    def reply_thread(self) -> str | None:
        """The thread replies go to: the card's thread, or a new one under it (not in DMs)."""
        if self.thread_ts:
            return self.thread_ts
        return None if self.channel.startswith("D") else self.message_ts


class AnswerButtons:
    def __init__(self, cards: Cards, store: Store):
        self.cards = cards
        self.store = store

    def more_passages(
        self, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        """Next passages: in the card's thread, or privately for a private card."""
        ack()
        clicked = Clicked.of(body, action, context)
        try:
            message = self.cards.more(clicked.question, int(clicked.value.get("o") or 1))
            if clicked.ephemeral:
                reply_privately(respond, message)
                return
            try:
                post(client, clicked.channel, message, thread_ts=clicked.reply_thread)
            except Exception as exc:
                if slack_error(exc) not in NOT_IN_CHANNEL:
                    raise
                reply_privately(respond, message)  # a card shared where the bot is not a member
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "show more passages in %s", clicked.channel)

    def helpful(self, ack: Ack, body: dict, action: dict, respond: Respond, context: BoltContext) -> None:
        ack()
        clicked = Clicked.of(body, action, context)
        try:
            self._record(clicked, helpful=True)
            reply_privately(respond, notice("Thanks! Glad it helped."), thread_ts=clicked.thread_ts)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "record feedback in %s", clicked.channel)

    def not_helpful(self, ack: Ack, body: dict, action: dict, respond: Respond, context: BoltContext) -> None:
        """Record the vote, then offer the next-best passages to the voter at once."""
        ack()
        clicked = Clicked.of(body, action, context)
        try:
            self._record(clicked, helpful=False)
            message = self.cards.more(clicked.question, 1, not_helpful=True)
            reply_privately(respond, message, thread_ts=clicked.thread_ts)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "record feedback in %s", clicked.channel)

    def share(
        self, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        """Post the private card publicly; through response_url if the bot is not in the channel."""
        ack()
        clicked = Clicked.of(body, action, context)
        try:
            card = shared_by(self.cards.answer(clicked.question), clicked.user)
            try:
                post(client, clicked.channel, card)
            except Exception as exc:
                if slack_error(exc) not in NOT_IN_CHANNEL:
                    raise
                respond(
                    text=card["text"],
                    blocks=card["blocks"],
                    response_type="in_channel",
                    replace_original=False,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            respond(delete_original=True)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "share an answer in %s", clicked.channel)

    def _record(self, clicked: Clicked, *, helpful: bool) -> None:
        self.store.record_feedback(
            team=clicked.team,
            channel=clicked.channel,
            message_ts=clicked.message_ts or "",
            user=clicked.user,
            question=clicked.question,
            passage_id=clicked.value.get("p"),
            helpful=helpful,
        )
