"""Ask an expert: the click, the post in the experts channel, the expert's reply relayed to
the asker, "Take it" and "Save as an answer".

Exactly once (``bot.slack.jobs``): a click is one job (its key names the card), and the
escalation row is claimed by that key, so Slack's retries and a job run again after a crash
find the same row. The post in the experts channel is looked for before posting again (its
metadata names the job, ``bot.slack.posted``), and the steps after it (the ts kept, the
asker's notice queued as a job of its own, the experts' post marked resolved) run again on
every attempt: each is idempotent. That is why these handlers read back themselves instead
of leaving it to the worker, which would skip the steps after a post it found.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from ....storage.experts import EscalationRecord, SavedAnswerRecord
from ....storage.jobs import Enqueued, NewJob
from ...admin_home import is_admin
from ...blocks import read_value, user_text
from ...blocks.experts import (
    escalated_notice,
    escalation_post,
    expert_answer,
    notice_text,
    resolved,
    taken,
)
from ...cards import Cards
from ...messaging import post, reply_privately
from ...posted import find_posted
from ...queue import BY_RESPONSE_URL, Handler, JobContext, JobQueue, Request

logger = logging.getLogger(__name__)

ESCALATE = "escalate"  # post the question in the experts channel
ESCALATED = "escalated"  # tell the asker's thread it went to the experts
EXPERT_REPLY = "expert_reply"  # relay an expert's reply to the asker
TAKE = "take_escalation"
SAVE = "save_expert_answer"


class EscalationStore(Protocol):
    """What asking an expert needs of the store (``bot.storage.Store`` is one)."""

    def experts_channel(self, team: str) -> str | None: ...

    def claim_escalation(
        self,
        *,
        key: str,
        team: str,
        asker: str,
        channel: str,
        thread_ts: str | None,
        question: str | None,
        status: str,
        experts_channel: str,
    ) -> EscalationRecord: ...

    def escalation_posted(self, escalation_id: int, expert_ts: str) -> None: ...

    def escalation_at(self, team: str, experts_channel: str, expert_ts: str) -> EscalationRecord | None: ...

    def escalation(self, escalation_id: int) -> EscalationRecord | None: ...

    def record_expert_answer(self, escalation_id: int, *, expert: str, answer: str) -> EscalationRecord: ...

    def save_answer(
        self,
        *,
        team: str,
        question: str,
        answer: str,
        expert: str,
        saved_by: str,
        answered_at: datetime | None = None,
        escalation_id: int | None = None,
    ) -> SavedAnswerRecord: ...

    def enqueue_job(
        self, job: NewJob, *, claims: tuple[str, ...] = (), limit: int | None = None
    ) -> Enqueued: ...


def question_from_post(message: dict) -> str:
    """The question as the experts' post quotes it (its text is not kept past retention)."""
    block = next((b for b in message.get("blocks") or [] if b.get("block_id") == "question"), None)
    text = ((block or {}).get("text") or {}).get("text") or ""
    lines = [line[1:] if line.startswith(">") else line for line in text.splitlines()]
    return user_text("\n".join(lines)).strip()


class Escalations:
    def __init__(self, cards: Cards, store: EscalationStore, queue: JobQueue, *, keep_text: bool = True):
        """``keep_text``: store the question's text with the escalation (off when the question
        log keeps no text, ``ADVISOR_QUESTION_RETENTION_DAYS=0``)."""
        self.cards = cards
        self.store = store
        self.queue = queue
        self.keep_text = keep_text

    def handlers(self) -> dict[str, Handler]:
        return {
            ESCALATE: Handler(run=self.escalate, tell_failure=self.escalate_failed, verifiable=False),
            ESCALATED: Handler(run=self.tell_asker),
            EXPERT_REPLY: Handler(run=self.relay, verifiable=False),
            TAKE: Handler(run=self.take, verifiable=False),
            SAVE: Handler(run=self.save, verifiable=False),
        }

    # --- listeners (on the request thread: queue, then ack) -------------------------------------
    def on_ask_expert(self, ack, body: dict, context: BoltContext) -> None:
        """ "Ask an expert" clicked: one job per card, posted in the experts channel."""
        container = body.get("container") or {}
        team = context.team_id or (body.get("team") or {}).get("id") or ""
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
        user = (body.get("user") or {}).get("id") or ""
        card_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        ephemeral = bool(container.get("is_ephemeral")) or not card_ts
        thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
        if ephemeral:  # only the asker saw the card: the notice and the answer come by DM
            asker_channel, asker_thread = user, None
        else:
            asker_channel = channel
            asker_thread = thread_ts or (None if channel.startswith("D") else card_ts)
        value = read_value(((body.get("actions") or [{}])[0]).get("value", ""))
        experts = self.store.experts_channel(team)
        self.queue.enqueue(
            Request(
                kind=ESCALATE,
                team=team,
                enterprise=context.enterprise_id,
                id=f"{user}:{body.get('trigger_id')}" if ephemeral else f"{channel}:{card_ts}",
                channel=experts or channel,
                payload={
                    "question": str(value.get("q") or ""),
                    "user": user,
                    "experts": experts,
                    "where": channel,
                    "where_ts": thread_ts or card_ts,
                    "asker_channel": asker_channel,
                    "asker_thread": asker_thread,
                    "ephemeral": ephemeral,
                    "response_url": body.get("response_url"),
                },
                response_url=body.get("response_url"),
                busy=BY_RESPONSE_URL,
            ),
            ack,
        )

    def on_thread_reply(self, body: dict, event: dict, context: BoltContext) -> bool:
        """A person's reply in the thread of an experts' post: queue it for the asker; True if
        it was one (the question listeners then leave it alone)."""
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if not thread_ts or thread_ts == ts or not event.get("user"):
            return False
        team = context.team_id or body.get("team_id") or ""
        escalation = self.store.escalation_at(team, event.get("channel") or "", thread_ts)
        if escalation is None:
            return False
        text = event.get("text") or ""
        if context.bot_user_id:
            text = " ".join(text.replace(f"<@{context.bot_user_id}>", " ").split(" "))
        self.queue.enqueue(
            Request(
                kind=EXPERT_REPLY,
                team=team,
                enterprise=context.enterprise_id,
                id=f"{event['channel']}:{ts}",
                channel=escalation.channel,
                thread_ts=escalation.thread_ts,
                payload={
                    "escalation": escalation.id,
                    "expert": event["user"],
                    "text": text.strip(),
                    "experts_channel": event["channel"],
                    "expert_ts": thread_ts,
                },
                claims=(f"message:{team}:{event['channel']}:{ts}",),
                busy=BY_RESPONSE_URL,  # no response_url: a full queue is not told in the asker's thread
            )
        )
        return True

    # --- queued work ------------------------------------------------------------------------------
    def escalate(self, work: JobContext) -> str | None:
        job, client, p = work.job, work.client, work.payload
        respond = Respond(response_url=p["response_url"]) if p.get("response_url") else None
        experts = p.get("experts")
        if not experts:
            if respond is not None:
                reply_privately(respond, notice_text("No experts channel is set in this workspace."))
            return None
        answer = self.cards.advisor.ask(p["question"], k=1)
        escalation = self.store.claim_escalation(
            key=job.key,
            team=job.team,
            asker=p["user"],
            channel=p["asker_channel"],
            thread_ts=p.get("asker_thread"),
            question=p["question"] if self.keep_text else None,
            status=answer.status,
            experts_channel=experts,
        )
        ts = escalation.expert_ts or (find_posted(client, job) if job.verify else None)
        if ts is None:
            quotes = self.cards.quotes(answer.hits[:1])
            message = escalation_post(
                question=p["question"],
                asker=p["user"],
                status=answer.status,
                quote=quotes[0] if quotes else None,
                owner=answer.owner,
                permalink=None
                if p.get("ephemeral")
                else _permalink(client, p.get("where"), p.get("where_ts")),
                escalation_id=escalation.id,
            )
            ts = post(client, experts, message).get("ts")
        if escalation.expert_ts is None and ts:
            self.store.escalation_posted(escalation.id, ts)
        notice = NewJob(
            key=f"{ESCALATED}:{job.team}:{escalation.id}",
            kind=ESCALATED,
            team=job.team,
            enterprise=job.enterprise,
            channel=p["asker_channel"],
            thread_ts=p.get("asker_thread"),
            payload={"experts": experts},
        )
        if self.store.enqueue_job(notice, limit=None).status == "queued":
            self.queue.wake.release()
        return ts

    def escalate_failed(self, work: JobContext) -> None:
        url = work.payload.get("response_url")
        if url:
            reply_privately(
                Respond(response_url=url),
                notice_text("I couldn't post in the experts channel: invite me there (/invite @advisor)."),
            )

    def tell_asker(self, work: JobContext) -> str | None:
        message = escalated_notice(work.payload["experts"])
        return post(work.client, work.job.channel, message, thread_ts=work.job.thread_ts).get("ts")

    def relay(self, work: JobContext) -> str | None:
        job, client, p = work.job, work.client, work.payload
        escalation = self.store.record_expert_answer(p["escalation"], expert=p["expert"], answer=p["text"])
        ts = find_posted(client, job) if job.verify else None
        if ts is None:
            message = expert_answer(p["expert"], p["text"])
            ts = post(client, job.channel, message, thread_ts=job.thread_ts).get("ts")
        parent = _message(client, p["experts_channel"], p["expert_ts"])
        if parent is not None:
            _update(
                client, p["experts_channel"], p["expert_ts"], resolved(parent, p["expert"], escalation.id)
            )
        return ts

    def take(self, work: JobContext) -> None:
        body, user = work.body, (work.body.get("user") or {}).get("id") or ""
        message, where = body.get("message") or {}, body.get("container") or {}
        escalation_id = int(read_value(work.action.get("value", "")).get("e") or 0)
        _update(
            work.client, where.get("channel_id"), where.get("message_ts"), taken(message, user, escalation_id)
        )

    def save(self, work: JobContext) -> None:
        body, client, respond = work.body, work.client, work.respond
        user = (body.get("user") or {}).get("id") or ""
        team = work.context.team_id or (body.get("team") or {}).get("id") or ""
        message, where = body.get("message") or {}, body.get("container") or {}
        escalation = self.store.escalation(int(read_value(work.action.get("value", "")).get("e") or 0))
        if escalation is None or escalation.team != team or not escalation.answer or not escalation.expert:
            return self._tell(respond, "There is no expert's answer to save here yet.")
        if user != escalation.expert and not is_admin(client, user):
            return self._tell(respond, "Only the expert who answered, or an admin, can save this answer.")
        question = escalation.question or question_from_post(message)
        self.store.save_answer(
            team=team,
            question=question,
            answer=escalation.answer,
            expert=escalation.expert,
            saved_by=user,
            answered_at=escalation.answered_at,
            escalation_id=escalation.id,
        )
        updated = resolved(message, escalation.expert, escalation.id, saved_by=user)
        _update(client, where.get("channel_id"), where.get("message_ts"), updated)
        self._tell(
            respond, "Saved: the next person in this workspace who asks something like it gets this answer."
        )

    @staticmethod
    def _tell(respond: Respond | None, text: str) -> None:
        if respond is not None:
            reply_privately(respond, notice_text(text))


def _permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    if not channel or not ts:
        return None
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except Exception:
        logger.warning("no permalink for %s in %s: the experts' post goes without it", ts, channel)
        return None


def _message(client: WebClient, channel: str, ts: str) -> dict | None:
    """The experts' post (a thread's parent), as Slack has it now."""
    try:
        messages = client.conversations_replies(channel=channel, ts=ts, limit=1).get("messages") or []
    except Exception:
        logger.exception("could not read the experts' post %s in %s", ts, channel)
        return None
    return next((m for m in messages if m.get("ts") == ts), None)


def _update(client: WebClient, channel: str | None, ts: str | None, message: dict) -> None:
    if channel and ts:
        client.chat_update(channel=channel, ts=ts, text=message["text"], blocks=message["blocks"])
