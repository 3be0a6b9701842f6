"""``/advisor``: a question (private answer with "Share in channel"), help, or daily tips."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from ....config import Settings
from ....storage import Store
from ...cards import Cards, is_question
from ...messaging import reply_privately, report_failure
from .tips import handle_tip_now, handle_tips_command, tips_arguments

logger = logging.getLogger(__name__)


class AdvisorCommand:
    def __init__(self, cards: Cards, store: Store, settings: Settings):
        self.cards = cards
        self.store = store
        self.settings = settings

    def handle(
        self, ack: Ack, command: dict, respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        text = " ".join((command.get("text") or "").split())
        word, _, rest = text.partition(" ")
        word = word.lower()
        if (word == "help" and not rest) or not is_question(text):
            help_message = self.cards.help()
            ack(text=help_message["text"], blocks=help_message["blocks"], response_type="ephemeral")
            return
        ack()
        try:
            if (tips_args := tips_arguments(text)) is not None:  # typos forgiven: "tipps on"
                message = self._tips(tips_args, command, client, context)
            elif word == "tip" and not rest:
                message = self._tip_now(command, client, context)
            else:
                message = self.cards.answer(text, ephemeral=True)
            reply_privately(respond, message)
        except Exception:
            report_failure(
                lambda m: reply_privately(respond, m),
                "answer /advisor in %s",
                command.get("channel_id"),
            )

    def _where(self, command: dict, context: BoltContext) -> dict:
        return {
            "team_id": context.team_id or command.get("team_id"),
            "channel_id": command.get("channel_id"),
            "user_id": command.get("user_id"),
        }

    def _tips(self, args: str, command: dict, client: WebClient, context: BoltContext) -> dict:
        return handle_tips_command(
            args,
            **self._where(command, context),
            client=client,
            store=self.store,
            settings=self.settings,
        )

    def _tip_now(self, command: dict, client: WebClient, context: BoltContext) -> dict:
        return handle_tip_now(
            **self._where(command, context),
            client=client,
            store=self.store,
            settings=self.settings,
        )
