"""The buttons on cards: More passages (and sharing them), the vote, Share in channel, and the
suggested questions of a refusal or the Home tab."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from ....storage import FeedbackRecord
from ... import blocks
from ...blocks import Votes, read_value, shared_by, vote_reply, with_votes, without_actions
from ...cards import Cards
from ...experts import ExpertDesk
from ...locales import LOCALES, Locales
from ...messaging import NOT_IN_CHANNEL, post, reply_privately, report_failure, slack_error
from ...queue import Handler

logger = logging.getLogger(__name__)


class VoteStore(Protocol):
    """What the buttons need of the store: votes (``bot.storage.Store`` is one)."""

    def record_feedback(
        self,
        *,
        team: str,
        channel: str,
        message_ts: str,
        user: str,
        question: str,
        passage_id: str | None,
        helpful: bool,
    ) -> None: ...

    def feedback_for(self, team: str, channel: str, message_ts: str) -> list[FeedbackRecord]: ...


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
    def in_dm(self) -> bool:
        return self.channel.startswith("D")

    @property
    def lang(self) -> str:
        """The language of the card clicked (carried in its buttons' values)."""
        lang = self.value.get("l")
        return lang if lang in blocks.LANGUAGES else "en"

    @property
    def kind(self) -> str:
        """The kind of card clicked (carried in its buttons' values), or what it looks like."""
        kind = self.value.get("k")
        if kind in blocks.KINDS:
            return kind
        return blocks.PRIVATE if self.ephemeral else blocks.THREAD

    @property
    def origin(self) -> str:
        """Where a card shared from here came from, in the "Shared by ... from ..." line."""
        if self.kind == blocks.PRIVATE:
            return "private"
        return "dm" if self.in_dm else "thread"

    @property
    def reply_thread(self) -> str | None:
        """The thread replies go to: the card's thread, or a new one under it (not in DMs)."""
        if self.thread_ts:
            return self.thread_ts
        return None if self.channel.startswith("D") else self.message_ts


class AnswerButtons:
    """The buttons on cards: every reply goes to the clicker only, except a share."""

    def __init__(
        self,
        cards: Cards,
        store: VoteStore,
        locales: Locales | None = None,
        *,
        desk: ExpertDesk | None = None,
    ):
        self.cards = cards
        self.store = store
        self.locales = locales or LOCALES
        self.desk = desk  # offers "Ask an expert" on a card voted not helpful

    def handlers(self) -> dict[str, Handler]:
        """The buttons' queued work: each click is queued whole (``JobQueue.listener``) and a
        worker calls its method with the request's parts. Verifiable: the two that post in the
        channel (the others answer through response_url)."""
        return {
            "more_passages": Handler(
                run=lambda w: self.more_passages(w.ack, w.body, w.action, w.respond, w.context),
                verifiable=False,
            ),
            "share_passages": Handler(
                run=lambda w: self.share_passages(w.ack, w.body, w.action, w.respond, w.client, w.context)
            ),
            "vote": Handler(
                run=lambda w: self.vote(w.ack, w.body, w.action, w.respond, w.client, w.context),
                verifiable=False,
            ),
            "share": Handler(
                run=lambda w: self.share(w.ack, w.body, w.action, w.respond, w.client, w.context)
            ),
            "ask_suggestion": Handler(
                run=lambda w: self.ask_suggestion(w.ack, w.body, w.action, w.respond, w.client, w.context),
                verifiable=False,
            ),
        }

    def more_passages(
        self, ack: Ack, body: dict, action: dict, respond: Respond, context: BoltContext
    ) -> None:
        """Next passages, for the clicker only, with a button to share them where the card is:
        its thread, the channel for a private card outside a thread, nowhere in a DM."""
        ack()
        clicked = Clicked.of(body, action, context)
        if clicked.in_dm:
            share, thread = None, None
        elif clicked.kind == blocks.PRIVATE or clicked.ephemeral:
            share, thread = ("thread", clicked.thread_ts) if clicked.thread_ts else ("channel", None)
        else:
            share, thread = "thread", clicked.reply_thread
        try:
            message = self.cards.more(
                clicked.question,
                int(clicked.value.get("o") or 1),
                share=share,
                thread_ts=thread,
                kind=clicked.kind,
                lang=clicked.lang,
            )
            reply_privately(respond, message, thread_ts=clicked.thread_ts)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "show more passages in %s", clicked.channel)

    def share_passages(
        self, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        """Post passages someone was shown privately where the card is (its thread, or the
        channel), saying who shared them and from where."""
        ack()
        clicked = Clicked.of(body, action, context)
        try:
            page = self.cards.more(clicked.question, int(clicked.value.get("o") or 1), lang=clicked.lang)
            message = shared_by(without_actions(page), clicked.user, origin=clicked.origin, lang=clicked.lang)
            self._post_or_respond(client, respond, clicked, message, thread_ts=clicked.value.get("t"))
            respond(delete_original=True)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "share passages in %s", clicked.channel)

    def vote(
        self, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        """Record a vote and show it to the voter only: a card only they see (private, DM) is
        replaced in place with their vote (fresh block ids); on a card in a conversation they
        get a private note with the tally, and the card is left alone (a vote is not announced).
        A thumbs-down comes with the next steps (rephrase)."""
        ack()
        clicked = Clicked.of(body, action, context)
        helpful = _helpful(action, clicked.value)
        try:
            self._record(clicked, helpful=helpful)
            votes = self.store.feedback_for(clicked.team, clicked.channel, clicked.message_ts or "")
            tally = Votes(
                helpful=sum(v.helpful for v in votes),
                not_helpful=sum(not v.helpful for v in votes),
                mine=helpful,
            )
            if clicked.ephemeral or clicked.in_dm or not clicked.message_ts:
                card = with_votes(self._card(body, clicked, clicked.kind), tally, clicked.lang)
                if not helpful and self.desk is not None:
                    card = self.desk.offer(clicked.team, card, clicked.question)
                respond(text=card["text"], blocks=card["blocks"], replace_original=True)
                return
            note = vote_reply(clicked.question, tally, kind=clicked.kind, lang=clicked.lang)
            if not helpful and self.desk is not None:
                note = self.desk.offer(clicked.team, note, clicked.question)
            reply_privately(respond, note, thread_ts=clicked.thread_ts)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "record a vote in %s", clicked.channel)

    def share(
        self, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        """Post the private card publicly; through response_url if the bot is not in the channel."""
        ack()
        clicked = Clicked.of(body, action, context)
        try:
            card, _ = self.cards.answered(clicked.question, kind=blocks.SHARED, lang=clicked.lang)
            card = shared_by(card, clicked.user, origin="private", lang=clicked.lang)
            self._post_or_respond(client, respond, clicked, card)
            respond(delete_original=True)
        except Exception:
            report_failure(lambda m: reply_privately(respond, m), "share an answer in %s", clicked.channel)

    def ask_suggestion(
        self, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        """A suggested question (on a refusal, or on the Home tab) was clicked: answer it. From
        Home or a DM the answer comes by DM; in a channel, privately, with a Share button."""
        ack()
        clicked = Clicked.of(body, action, context)
        from_home = (body.get("container") or {}).get("type") == "view" or not clicked.channel
        lang = clicked.value.get("l")
        try:
            if from_home or clicked.in_dm:
                card, saved_id = self._answered(clicked, blocks.ASKED, lang)
                where = clicked.channel if clicked.in_dm else clicked.user
                ts = post(client, where, card, thread_ts=clicked.thread_ts).get("ts")
            else:
                card, saved_id = self._answered(clicked, blocks.PRIVATE, lang)
                where, ts = clicked.channel, None  # ephemeral: no ts to count votes by
                reply_privately(respond, card, thread_ts=clicked.thread_ts)
            if self.desk is not None:
                self.desk.used(clicked.team, saved_id, where, ts)
        except Exception:
            if from_home:
                report_failure(lambda m: post(client, clicked.user, m), "answer a suggested question")
            else:
                report_failure(lambda m: reply_privately(respond, m), "answer a suggested question")

    def _answered(self, clicked: Clicked, kind: str, lang: str | None) -> tuple[dict, int | None]:
        """The card for a clicked question with the experts' part (a saved answer close to it,
        or "Ask an expert" on a refusal or a low-confidence answer), and the saved answer's id."""
        card, answer = self.cards.answered(clicked.question, kind=kind, lang=lang)
        if self.desk is None:
            return card, None
        return self.desk.decorate(clicked.team, clicked.question, card, answer)

    def _card(self, body: dict, clicked: Clicked, kind: str) -> dict:
        """The card voted on: as Slack sent it with the click (who shared it included), or
        built again from its question when Slack did not send it (an ephemeral card)."""
        message = body.get("message") or {}
        if message.get("blocks"):
            return {"text": message.get("text") or "", "blocks": message["blocks"]}
        return self.cards.answered(clicked.question, kind=kind, lang=clicked.lang)[0]

    def _post_or_respond(self, client, respond, clicked: Clicked, message: dict, *, thread_ts=None) -> None:
        try:
            post(client, clicked.channel, message, thread_ts=thread_ts)
        except Exception as exc:
            if slack_error(exc) not in NOT_IN_CHANNEL:
                raise
            respond(  # a channel the bot is not in: the response_url can still post there
                text=message["text"],
                blocks=message["blocks"],
                response_type="in_channel",
                replace_original=False,
                unfurl_links=False,
                unfurl_media=False,
                thread_ts=thread_ts,
            )

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


def _helpful(action: dict, value: dict) -> bool:
    """The vote a click casts: feedback buttons carry it in the value, old buttons in their id."""
    if "v" in value:
        return bool(value["v"])
    return action.get("action_id") != blocks.FEEDBACK_NOT_HELPFUL
