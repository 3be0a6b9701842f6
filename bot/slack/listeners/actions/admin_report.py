"""The admin's "Send me the full report" button (Home tab): the report as a file in their DM."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from ....report import ReportStore, passage_names
from ...admin_home import send_full_report
from ...blocks import error_message, notice
from ...cards import Cards
from ...messaging import post
from ...queue import Handler

logger = logging.getLogger(__name__)

REPORT_JOB = "send_report"


class AdminReport:
    def __init__(self, cards: Cards, store: ReportStore):
        self.cards = cards
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        """Building and uploading the report takes seconds: queued, acknowledged at once."""
        return {
            REPORT_JOB: Handler(run=lambda w: self.send(w.ack, w.body, w.client, w.context), verifiable=False)
        }

    def send(self, ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        team = context.team_id or (body.get("team") or {}).get("id")
        try:
            names = passage_names(self.cards.advisor.knowledge)
            if not send_full_report(self.store, client, user, team, names):
                post(client, user, notice("The full report is for workspace admins and owners."))
        except Exception:
            logger.exception("could not send the full report to %s", user)
            try:
                post(client, user, error_message())
            except Exception:
                logger.exception("could not tell %s that the report was not sent", user)
