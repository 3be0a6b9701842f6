"""The ask modal's submission: the answer arrives as a direct message from the bot (queued
before the submission is acknowledged; a worker posts it)."""

from __future__ import annotations

import logging
import uuid

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from ....storage import JobRecord, NewJob
from ... import blocks
from ...cards import Cards, is_question
from ...jobs import Handler, JobQueue
from ...messaging import post
from ...question_log import QuestionLog, job_started

ASK_JOB = "ask_modal"

logger = logging.getLogger(__name__)


class AskModal:
    def __init__(self, cards: Cards, queue: JobQueue, question_log: QuestionLog | None = None):
        self.cards = cards
        self.queue = queue
        self.question_log = question_log
        queue.register(ASK_JOB, Handler(run=self.answer, tell_failure=self.failed))

    def submit(self, ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        values = (view.get("state") or {}).get("values") or {}
        field = values.get(blocks.ASK_INPUT_BLOCK, {}).get(blocks.ASK_INPUT_ACTION, {})
        question = " ".join((field.get("value") or "").split())
        if not is_question(question):
            ack(response_action="errors", errors={blocks.ASK_INPUT_BLOCK: "Type a question first."})
            return
        user = (body.get("user") or {}).get("id") or ""
        team = context.team_id or (body.get("team") or {}).get("id") or ""
        job = NewJob(
            key=f"{ASK_JOB}:{team}:{view.get('id') or uuid.uuid4().hex}",
            kind=ASK_JOB,
            team=team,
            enterprise=context.enterprise_id,
            channel=user,  # a direct message: posted to the user id
            payload={"question": question},
        )
        if self.queue.submit(job).status == "busy":
            ack(response_action="errors", errors={blocks.ASK_INPUT_BLOCK: "I'm busy: try again in a minute."})
            return
        ack()

    def answer(self, job: JobRecord, client: WebClient) -> str | None:
        message, answer = self.cards.answered(job.payload["question"], kind=blocks.ASKED)
        ts = post(client, job.channel, message).get("ts")
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

    def failed(self, job: JobRecord, client: WebClient) -> None:
        post(client, job.channel, blocks.error_message())
