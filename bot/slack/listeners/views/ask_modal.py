"""The ask modal's submission: the answer arrives as a direct message from the bot."""

from __future__ import annotations

import logging

from slack_bolt import Ack
from slack_sdk import WebClient

from ... import blocks
from ...cards import Cards, is_question
from ...messaging import post, report_failure

logger = logging.getLogger(__name__)


class AskModal:
    def __init__(self, cards: Cards):
        self.cards = cards

    def submit(self, ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        values = (view.get("state") or {}).get("values") or {}
        field = values.get(blocks.ASK_INPUT_BLOCK, {}).get(blocks.ASK_INPUT_ACTION, {})
        question = " ".join((field.get("value") or "").split())
        if not is_question(question):
            ack(response_action="errors", errors={blocks.ASK_INPUT_BLOCK: "Type a question first."})
            return
        ack()
        user = (body.get("user") or {}).get("id")
        try:
            post(client, user, self.cards.answer(question, kind=blocks.ASKED))
        except Exception:
            report_failure(lambda m: post(client, user, m), "answer a question from the ask modal")
