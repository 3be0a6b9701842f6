"""Questions asked by @mention, by DM, and as follow-ups in a thread the bot answered.

Which threads are followed (the asker's later replies there are answered without a mention):

- a question mentioning the bot at the top of a channel: its own new thread;
- a mention inside an existing thread the bot does not know yet, when whoever opened the
  thread is the asker, or Slack does not say who did (no ``parent_user_id``). The bot cannot
  see who else already wrote there, so a thread opened by someone else is not followed.

A followed thread is closed for good as soon as someone other than the asker writes in it
(or mentions the bot there); from then on only explicit mentions are answered in it. The
thread is recorded by the queued job before the answer is posted, so a follow-up sent the
moment the answer appears is never missed; if the answer cannot be posted, a thread its
question started is closed again.

A question is claimed and queued (``bot.slack.queue``) before its event is acknowledged; a
worker posts the answer.

Follow-ups work in public channels (``message.channels``) and private ones the bot is in
(``message.groups``); every event that is not answered is logged at DEBUG with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from slack_bolt import BoltContext
from slack_sdk import WebClient

from ... import blocks
from ...cards import Cards, is_question
from ...experts import ExpertDesk
from ...locales import LOCALES, Locales
from ...messaging import post
from ...question_log import QuestionLog, QuestionLogWriter, job_started
from ...queue import IN_CONVERSATION, Handler, JobContext, JobQueue, Request
from ...small_talk import is_small_talk, wants_welcome
from ...status import set_title, thinking

logger = logging.getLogger(__name__)

# Message subtypes that are still a person writing; every other subtype (edits, deletions,
# joins, bot messages...) is ignored.
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")
# channel_type of a message event -> the event subscription (manifest.yml) that delivers it,
# for conversations where thread follow-ups are answered.
FOLLOW_UP_EVENTS = {"channel": "message.channels", "group": "message.groups"}
ANSWER = "answer"  # the kind of job that answers a question in its conversation


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


class FollowedThreads(Protocol):
    """The threads the bot follows (``bot.storage.Store`` is one; see the module's rules)."""

    def remember_thread(self, team: str, channel: str, thread_ts: str, asker: str) -> None: ...

    def follow_thread(self, team: str, channel: str, thread_ts: str, asker: str) -> bool: ...

    def thread_asker(self, team: str, channel: str, thread_ts: str) -> str | None: ...

    def close_thread(self, team: str, channel: str, thread_ts: str) -> None: ...


class QuestionsStore(FollowedThreads, QuestionLogWriter, Protocol):
    """The questions' store: followed threads, and the question log when none is given."""


class Questions:
    """Answers questions in channels and DMs, exactly once per message."""

    def __init__(
        self,
        cards: Cards,
        store: QuestionsStore,
        queue: JobQueue,
        question_log: QuestionLog | None = None,
        locales: Locales | None = None,
        *,
        desk: ExpertDesk | None = None,
        expert_replies: Callable[[dict, dict, BoltContext], bool] | None = None,
    ):
        """``desk``: the experts' part of a card (saved answers, "Ask an expert");
        ``expert_replies``: takes a reply in an experts' thread (True: it was one, not a question)."""
        self.cards = cards
        self.store = store
        self.queue = queue
        self.question_log = question_log or QuestionLog(store)
        self.locales = locales or LOCALES
        self.desk = desk
        self.expert_replies = expert_replies

    def handlers(self) -> dict[str, Handler]:
        """The queued work these listeners hand the queue's workers."""
        return {ANSWER: Handler(run=self.answer_job, tell_failure=self.answer_failed)}

    # --- listeners ----------------------------------------------------------------------------
    def on_mention(self, body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        """``app_mention``: answer in the question's thread."""
        if event.get("subtype") not in HUMAN_SUBTYPES or from_a_bot(event, context):
            _ignore(event, "not a person's message")
            return
        if self.expert_replies is not None and self.expert_replies(body, event, context):
            return  # an expert answering in the experts' thread, not a question
        thread_ts = event.get("thread_ts") or event["ts"]
        self._reply(body, event, context, client, thread_ts=thread_ts, follow=True)

    def on_message(self, body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        """``message.im``: answer in the DM. ``message.channels`` / ``.groups``: follow-ups."""
        if event.get("subtype") not in HUMAN_SUBTYPES or from_a_bot(event, context):
            _ignore(event, "not a person's message")
            return
        channel_type = event.get("channel_type")
        if channel_type == "im":
            # Answered in the message's thread: the agent view's conversation (its title and
            # its status belong to that thread).
            self._reply(body, event, context, client, thread_ts=event.get("thread_ts") or event["ts"])
            return
        if channel_type not in FOLLOW_UP_EVENTS:
            _ignore(event, f"no follow-ups in a {channel_type} conversation")
            return
        team, channel, ts, user = _team(body, context), event["channel"], event["ts"], event["user"]
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == ts:
            _ignore(event, "not a reply in a thread")
            return
        if self.expert_replies is not None and self.expert_replies(body, event, context):
            return  # an expert answering in the experts' thread, not a question
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
        """Claim the question and queue its answer (before the event is acknowledged: Bolt
        acknowledges when this returns); True if queued. A database that cannot record it
        raises, so Slack gets no 200 and delivers the event again."""
        team, channel, ts = _team(body, context), event["channel"], event["ts"]
        event_id = body.get("event_id")
        claims = (f"event:{team}:{event_id}",) if event_id else ()
        outcome = self.queue.enqueue(
            Request(
                kind=ANSWER,
                team=team,
                id=f"{channel}:{ts}",
                enterprise=context.enterprise_id,
                channel=channel,
                thread_ts=thread_ts,
                payload={
                    "text": event.get("text", ""),
                    "bot_user_id": context.bot_user_id,
                    "follow": follow,
                    "channel_type": event.get("channel_type"),
                    "event": {k: event.get(k) for k in ("ts", "thread_ts", "user", "parent_user_id")},
                },
                claims=(*claims, f"message:{team}:{channel}:{ts}"),
                busy=IN_CONVERSATION,
            ),
            client=client,
        )
        if outcome.status == "duplicate" and outcome.taken == f"event:{team}:{event_id}":
            logger.info("skipping event %s: already handled", event_id)
        elif outcome.status == "duplicate":
            logger.info("skipping message %s in %s: already answered", ts, channel)
        return outcome.status == "queued"

    # --- the queued answer (run by a worker) ----------------------------------------------------
    def answer_job(self, work: JobContext) -> str | None:
        """Follow the question's thread (first attempt only), then post the answer in the
        asker's language. In a DM: a greeting, thanks or "what can you do?" gets the welcome,
        and a question starting a thread names it (the agent view's title)."""
        job, client = work.job, work.client
        payload, event = job.payload, job.payload["event"]
        if payload.get("follow") and job.attempts == 1 and not job.verify:
            self._follow_thread(job.team, job.channel, event, event["user"])
        question = without_mention(payload.get("text", ""), payload.get("bot_user_id"))
        in_dm = payload.get("channel_type") == "im"
        locale = self.locales.of(client, event.get("user"), job.team)
        lang = blocks.card_language(locale, question=question)
        if in_dm and wants_welcome(question):
            return post(client, job.channel, self.cards.welcome(lang), thread_ts=job.thread_ts).get("ts")
        if not is_question(question):
            return post(client, job.channel, self.cards.help(lang), thread_ts=job.thread_ts).get("ts")
        if (
            in_dm
            and job.thread_ts
            and event.get("thread_ts") in (None, event.get("ts"))
            and job.attempts == 1
        ):
            set_title(client, job.channel, job.thread_ts, question)
        where = {**event, "channel": job.channel}
        with thinking(client, where, lang):  # the agent surface's status, in DMs and mention threads
            message, answer = self.cards.answered(question, locale=locale)
            saved_id = None
            if self.desk is not None:
                message, saved_id = self.desk.decorate(job.team, question, message, answer)
            ts = post(client, job.channel, message, thread_ts=job.thread_ts).get("ts")
        if self.desk is not None:
            self.desk.used(job.team, saved_id, job.channel, ts)
        self.question_log.record(
            team=job.team,
            channel=job.channel,
            answer=answer,
            started=job_started(job),
            given_type=payload.get("channel_type"),
            message_ts=ts,
        )
        return ts

    def answer_failed(self, work: JobContext) -> None:
        """The answer failed for good: close a thread its question started, say so."""
        job, client = work.job, work.client
        event = job.payload["event"]
        if job.payload.get("follow") and event.get("thread_ts") in (None, event.get("ts")):
            self._forget_thread(job.team, job.channel, event["ts"])
        post(client, job.channel, blocks.error_message(), thread_ts=job.thread_ts)

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
