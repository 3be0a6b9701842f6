"""The "Ask a question" and "Rephrase" buttons: open the ask modal (filled with the question
to rephrase), or say how else to ask."""

from __future__ import annotations

import logging

from slack_bolt import Ack
from slack_sdk import WebClient

from ...blocks import ask_form_unavailable, ask_modal, read_value
from ...messaging import post

logger = logging.getLogger(__name__)


def open_ask_modal(ack: Ack, body: dict, client: WebClient) -> None:
    ack()
    user = (body.get("user") or {}).get("id")
    action = (body.get("actions") or [{}])[0]
    question = str(read_value(action.get("value", "")).get("q") or "")  # "Rephrase": the question to edit
    try:
        client.views_open(trigger_id=body["trigger_id"], view=ask_modal(question))
    except Exception:
        # Never silent: the person clicked and nothing opened. Say so by DM, with other ways to ask.
        logger.exception("could not open the ask form for %s", user)
        try:
            post(client, user, ask_form_unavailable())
        except Exception:
            logger.exception("could not tell %s that the ask form did not open", user)
