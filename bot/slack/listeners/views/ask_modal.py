"""The ask modal's submission: the answer arrives as a direct message from the bot."""

from __future__ import annotations

import logging
import time

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from ... import blocks
from ...cards import Cards, is_question
from ...messaging import post, report_failure
from ...question_log import QuestionLog

logger = logging.getLogger(__name__)


class AskModal:
    def __init__(self, cards: Cards, question_log: QuestionLog | None = None):
        self.cards = cards
        self.question_log = question_log

    def submit(self, ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
        values = (view.get("state") or {}).get("values") or {}
        field = values.get(blocks.ASK_INPUT_BLOCK, {}).get(blocks.ASK_INPUT_ACTION, {})
        question = " ".join((field.get("value") or "").split())
        if not is_question(question):
            ack(response_action="errors", errors={blocks.ASK_INPUT_BLOCK: "Type a question first."})
            return
        ack()
        user = (body.get("user") or {}).get("id")
        try:
            started = time.monotonic()
            message, answer = self.cards.answered(question)
            response = post(client, user, message)
            if self.question_log is not None:
                self.question_log.record(
                    team=context.team_id or "",
                    channel=None,
                    answer=answer,
                    started=started,
                    given_type="im",
                    message_ts=response.get("ts"),
                )
        except Exception:
            report_failure(lambda m: post(client, user, m), "answer a question from the ask modal")
