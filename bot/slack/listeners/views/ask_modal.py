"""The ask modal's submission: the answer arrives as a direct message from the bot (queued
before the submission is acknowledged; a worker posts it)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext

from ... import blocks
from ...cards import Cards, is_question
from ...experts import ExpertDesk
from ...locales import LOCALES
from ...messaging import post
from ...question_log import QuestionLog, job_started
from ...queue import IN_FORM, Handler, JobContext, JobQueue, Request

ASK_JOB = "ask_modal"

logger = logging.getLogger(__name__)


class AskModal:
    def __init__(
        self,
        cards: Cards,
        queue: JobQueue,
        question_log: QuestionLog | None = None,
        *,
        desk: ExpertDesk | None = None,
    ):
        self.cards = cards
        self.queue = queue
        self.question_log = question_log
        self.desk = desk  # a saved answer close to the question, or "Ask an expert"

    def handlers(self) -> dict[str, Handler]:
        """The queued work this listener hands the queue's workers (a DM: read back after a crash)."""
        return {ASK_JOB: Handler(run=self.answer, tell_failure=self.failed)}

    def submit(self, ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        values = (view.get("state") or {}).get("values") or {}
        field = values.get(blocks.ASK_INPUT_BLOCK, {}).get(blocks.ASK_INPUT_ACTION, {})
        question = " ".join((field.get("value") or "").split())
        if not is_question(question):
            ack(response_action="errors", errors={blocks.ASK_INPUT_BLOCK: "Type a question first."})
            return

        def acked(**kwargs) -> None:
            # Queued: the form turns into a note saying where the answer goes (a refusal's
            # "busy" error comes through here too, as the queue's own ack arguments).
            ack(**(kwargs or {"response_action": "update", "view": blocks.ask_sent()}))

        self.queue.enqueue(
            Request(
                kind=ASK_JOB,
                team=context.team_id or (body.get("team") or {}).get("id") or "",
                id=view.get("id"),
                enterprise=context.enterprise_id,
                channel=(body.get("user") or {}).get("id") or "",  # a direct message: posted to the user id
                payload={"question": question},
                busy=IN_FORM,
            ),
            acked,
        )

    def answer(self, work: JobContext) -> str | None:
        job, client = work.job, work.client
        locale = LOCALES.of(client, job.channel, job.team)  # a DM: the channel is the asker's id
        question = job.payload["question"]
        message, answer = self.cards.answered(question, kind=blocks.ASKED, locale=locale)
        saved_id = None
        if self.desk is not None:
            message, saved_id = self.desk.decorate(job.team, question, message, answer)
        ts = post(client, job.channel, message).get("ts")
        if self.desk is not None:
            self.desk.used(job.team, saved_id, job.channel, ts)
        if self.question_log is not None:
            self.question_log.record(
                team=job.team,
                channel=None,
                answer=answer,
                started=job_started(job),
                given_type="im",
                message_ts=ts,
            )
        return ts

    def failed(self, work: JobContext) -> None:
        post(work.client, work.job.channel, blocks.error_message())
