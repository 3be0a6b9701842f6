"""The App Home's "Ask a question" button: opens the ask modal."""

from __future__ import annotations

import logging

from slack_bolt import Ack
from slack_sdk import WebClient

from ...blocks import ask_modal

logger = logging.getLogger(__name__)


def open_ask_modal(ack: Ack, body: dict, client: WebClient) -> None:
    ack()
    try:
        client.views_open(trigger_id=body["trigger_id"], view=ask_modal())
    except Exception:
        logger.exception("could not open the ask modal")
