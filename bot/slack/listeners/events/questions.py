"""Questions asked by @mention, by DM, and as follow-ups in a thread the bot answered."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext
from slack_sdk import WebClient

from ....storage import Store
from ...cards import Cards, is_question
from ...messaging import post, report_failure

logger = logging.getLogger(__name__)

# Message subtypes that are still a person writing; every other subtype (edits, deletions,
# joins, bot messages...) is ignored.
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")


def from_a_bot(event: dict, context: BoltContext) -> bool:
    return bool(
        event.get("bot_id")
        or event.get("bot_profile")
        or not event.get("user")
        or event.get("user") == context.bot_user_id
    )


def without_mention(text: str, bot_user_id: str | None) -> str:
    """The question with the bot's own mention taken out."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    return " ".join(text.split())


class Questions:
    """Answers questions in channels and DMs, exactly once per message."""

    def __init__(self, cards: Cards, store: Store):
        self.cards = cards
        self.store = store

    # --- listeners ----------------------------------------------------------------------------
    def on_mention(self, body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        """``app_mention``: answer in the question's thread."""
        if event.get("subtype") not in HUMAN_SUBTYPES or from_a_bot(event, context):
            return
        team, channel, user = _team(body, context), event["channel"], event["user"]
        thread_ts = event.get("thread_ts") or event["ts"]
        if self._reply(body, event, context, client, thread_ts=thread_ts):
            self._track_thread(team, channel, event, user)

    def on_message(self, body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        """``message.im``: answer in the DM. ``message.channels``: follow-ups in our threads."""
        if event.get("subtype") not in HUMAN_SUBTYPES or from_a_bot(event, context):
            return
        if event.get("channel_type") == "im":
            self._reply(body, event, context, client, thread_ts=event.get("thread_ts"))
            return
        team, channel, ts, user = _team(body, context), event["channel"], event["ts"], event["user"]
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == ts:
            return  # channel chatter, not a reply in a thread
        if context.bot_user_id and f"<@{context.bot_user_id}>" in event.get("text", ""):
            return  # a mention: the app_mention event answers it
        try:
            asker = self.store.thread_asker(team, channel, thread_ts)
            if asker is not None and user != asker:
                self.store.close_thread(team, channel, thread_ts)  # someone else joined: stay quiet
        except Exception:
            logger.exception("could not look up thread %s in %s", thread_ts, channel)
            return
        if asker == user:
            self._reply(body, event, context, client, thread_ts=thread_ts)

    # --- steps --------------------------------------------------------------------------------
    def _reply(
        self, body: dict, event: dict, context: BoltContext, client: WebClient, *, thread_ts: str | None
    ) -> bool:
        """Claim the question, then answer it; True if the answer was posted."""
        team, channel, ts = _team(body, context), event["channel"], event["ts"]

        def tell(message: dict) -> None:
            post(client, channel, message, thread_ts=thread_ts)

        try:
            if not self._claim(body, team, channel, ts):
                return False
        except Exception:
            report_failure(tell, "check whether message %s in %s was answered", ts, channel)
            return False
        return self._answer(client, event.get("text", ""), context, channel, thread_ts)

    def _claim(self, body: dict, team: str, channel: str, ts: str) -> bool:
        """First delivery of this event and of this message (in any process)? Then it's ours."""
        event_id = body.get("event_id")
        if event_id and not self.store.claim_event(f"event:{event_id}"):
            logger.info("skipping event %s: already handled", event_id)
            return False
        if not self.store.claim_event(f"message:{team}:{channel}:{ts}"):
            logger.info("skipping message %s in %s: already answered", ts, channel)
            return False
        return True

    def _answer(
        self, client: WebClient, text: str, context: BoltContext, channel: str, thread_ts: str | None
    ) -> bool:
        question = without_mention(text, context.bot_user_id)
        try:
            message = self.cards.answer(question) if is_question(question) else self.cards.help()
            post(client, channel, message, thread_ts=thread_ts)
            return True
        except Exception:
            report_failure(
                lambda m: post(client, channel, m, thread_ts=thread_ts),
                "answer a question in %s",
                channel,
            )
            return False

    def _track_thread(self, team: str, channel: str, event: dict, user: str) -> None:
        """Follow a thread the bot started; stop once a second person asks in it."""
        try:
            if not event.get("thread_ts") or event["thread_ts"] == event["ts"]:
                self.store.remember_thread(team, channel, event["ts"], user)
                return
            asker = self.store.thread_asker(team, channel, event["thread_ts"])
            if asker and asker != user:
                self.store.close_thread(team, channel, event["thread_ts"])
        except Exception:
            logger.exception("could not record the thread of a question in %s", channel)


def _team(body: dict, context: BoltContext) -> str:
    return context.team_id or body.get("team_id") or ""
