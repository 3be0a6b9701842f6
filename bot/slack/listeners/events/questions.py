"""Questions asked by @mention, by DM, and as follow-ups in a thread the bot answered.

Which threads are followed (the asker's later replies there are answered without a mention):

- a question mentioning the bot at the top of a channel: its own new thread;
- a mention inside an existing thread the bot does not know yet, when whoever opened the
  thread is the asker, or Slack does not say who did (no ``parent_user_id``). The bot cannot
  see who else already wrote there, so a thread opened by someone else is not followed.

A followed thread is closed for good as soon as someone other than the asker writes in it
(or mentions the bot there); from then on only explicit mentions are answered in it. The
thread is recorded right after the question is claimed and before the answer is posted, so
a follow-up sent the moment the answer appears is never missed; if the answer cannot be
posted, a thread followed for it is closed again.

Follow-ups work in public channels (``message.channels``) and private ones the bot is in
(``message.groups``); every event that is not answered is logged at DEBUG with the reason.
"""

from __future__ import annotations

import logging

from slack_bolt import BoltContext
from slack_sdk import WebClient

from ....storage import Store
from ...cards import Cards, is_question
from ...messaging import post, report_failure
from ...small_talk import is_small_talk
from ...status import thinking

logger = logging.getLogger(__name__)

# Message subtypes that are still a person writing; every other subtype (edits, deletions,
# joins, bot messages...) is ignored.
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")
# channel_type of a message event -> the event subscription (manifest.yml) that delivers it,
# for conversations where thread follow-ups are answered.
FOLLOW_UP_EVENTS = {"channel": "message.channels", "group": "message.groups"}


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


def _ignore(event: dict, why: str) -> None:
    logger.debug("ignoring %s %s in %s: %s", event.get("type"), event.get("ts"), event.get("channel"), why)


class Questions:
    """Answers questions in channels and DMs, exactly once per message."""

    def __init__(self, cards: Cards, store: Store):
        self.cards = cards
        self.store = store

    # --- listeners ----------------------------------------------------------------------------
    def on_mention(self, body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        """``app_mention``: answer in the question's thread."""
        if event.get("subtype") not in HUMAN_SUBTYPES or from_a_bot(event, context):
            _ignore(event, "not a person's message")
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        self._reply(body, event, context, client, thread_ts=thread_ts, follow=True)

    def on_message(self, body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        """``message.im``: answer in the DM. ``message.channels`` / ``.groups``: follow-ups."""
        if event.get("subtype") not in HUMAN_SUBTYPES or from_a_bot(event, context):
            _ignore(event, "not a person's message")
            return
        channel_type = event.get("channel_type")
        if channel_type == "im":
            self._reply(body, event, context, client, thread_ts=event.get("thread_ts"))
            return
        if channel_type not in FOLLOW_UP_EVENTS:
            _ignore(event, f"no follow-ups in a {channel_type} conversation")
            return
        team, channel, ts, user = _team(body, context), event["channel"], event["ts"], event["user"]
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == ts:
            _ignore(event, "not a reply in a thread")
            return
        if context.bot_user_id and f"<@{context.bot_user_id}>" in event.get("text", ""):
            _ignore(event, "a mention: the app_mention event answers it")
            return
        try:
            asker = self.store.thread_asker(team, channel, thread_ts)
            if asker is not None and user != asker:
                self.store.close_thread(team, channel, thread_ts)  # someone else joined: stay quiet
                logger.info("stopped following thread %s in %s: %s joined", thread_ts, channel, user)
        except Exception:
            logger.exception("could not look up thread %s in %s", thread_ts, channel)
            return
        if asker != user:
            _ignore(event, f"not a follow-up by the asker of thread {thread_ts}")
            return
        if is_small_talk(event.get("text", "")):
            _ignore(event, "small talk in a followed thread (no reply)")
            return
        self._reply(body, event, context, client, thread_ts=thread_ts)

    # --- steps --------------------------------------------------------------------------------
    def _reply(
        self,
        body: dict,
        event: dict,
        context: BoltContext,
        client: WebClient,
        *,
        thread_ts: str | None,
        follow: bool = False,
    ) -> bool:
        """Claim the question, follow its thread (``follow``), then answer; True if answered."""
        team, channel, ts = _team(body, context), event["channel"], event["ts"]

        def tell(message: dict) -> None:
            post(client, channel, message, thread_ts=thread_ts)

        try:
            if not self._claim(body, team, channel, ts):
                return False
        except Exception:
            report_failure(tell, "check whether message %s in %s was answered", ts, channel)
            return False
        followed = self._follow_thread(team, channel, event, event["user"]) if follow else None
        with thinking(client, event):  # the agent surface's status, in DMs
            answered = self._answer(client, event.get("text", ""), context, channel, thread_ts)
        if not answered and followed:
            self._forget_thread(team, channel, followed)
        return answered

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

    def _follow_thread(self, team: str, channel: str, event: dict, user: str) -> str | None:
        """Follow the thread of a mention (see the module's rules); the thread's ts if this
        started following it, else None."""
        thread_ts = event.get("thread_ts")
        try:
            if not thread_ts or thread_ts == event["ts"]:
                self.store.remember_thread(team, channel, event["ts"], user)
                return event["ts"]
            asker = self.store.thread_asker(team, channel, thread_ts)
            if asker is not None:
                if asker != user:  # a second person asks in a followed thread: stop following it
                    self.store.close_thread(team, channel, thread_ts)
                    logger.info("stopped following thread %s in %s: %s joined", thread_ts, channel, user)
                return None
            if event.get("parent_user_id") not in (None, user):
                return None  # someone else's thread: others are in it
            return thread_ts if self.store.follow_thread(team, channel, thread_ts, user) else None
        except Exception:
            logger.exception("could not record the thread of a question in %s", channel)
            return None

    def _forget_thread(self, team: str, channel: str, thread_ts: str) -> None:
        try:
            self.store.close_thread(team, channel, thread_ts)
        except Exception:
            logger.exception("could not close thread %s in %s", thread_ts, channel)


def _team(body: dict, context: BoltContext) -> str:
    return context.team_id or body.get("team_id") or ""
