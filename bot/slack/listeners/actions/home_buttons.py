"""The App Home's "Ask a question" button: opens the ask modal (or says how else to ask)."""

from __future__ import annotations

import logging

from slack_bolt import Ack
from slack_sdk import WebClient

from ...blocks import ask_form_unavailable, ask_modal
from ...messaging import post

logger = logging.getLogger(__name__)


def open_ask_modal(ack: Ack, body: dict, client: WebClient) -> None:
    ack()
    user = (body.get("user") or {}).get("id")
    try:
        client.views_open(trigger_id=body["trigger_id"], view=ask_modal())
    except Exception:
        # Never silent: the person clicked and nothing opened. Say so by DM, with other ways to ask.
        logger.exception("could not open the ask form for %s", user)
        try:
            post(client, user, ask_form_unavailable())
        except Exception:
            logger.exception("could not tell %s that the ask form did not open", user)
