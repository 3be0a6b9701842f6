"""``/advisor``: a question (private answer with "Share in channel"), help, or daily tips.

Help is the ack itself; everything else is queued before the ack and answered by a worker
through the command's response_url (``bot.slack.queue``; its workers: ``bot.slack.jobs``)."""

from __future__ import annotations

import logging
from typing import Protocol

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from ....config import Settings
from ....tips.ledger import Subscriptions
from ... import blocks
from ...cards import Cards, is_question
from ...experts import ExpertDesk
from ...locales import LOCALES
from ...messaging import reply_privately
from ...question_log import QuestionLog, QuestionLogWriter, job_started
from ...queue import IN_ACK, Handler, JobContext, JobQueue, Request
from .tips import handle_tip_now, handle_tips_command, tips_arguments

logger = logging.getLogger(__name__)

TIPS_ACTIONS = ("on", "off", "status", "help")
COMMAND_JOB = "command"  # the kind of job that carries out an acknowledged /advisor
# What a queued /advisor keeps of the command's payload (never its legacy token).
COMMAND_FIELDS = ("team_id", "enterprise_id", "channel_id", "user_id", "text", "response_url", "trigger_id")


class CommandStore(Subscriptions, QuestionLogWriter, Protocol):
    """The command's store: daily tips (``/advisor tips``), and the question log when none is given."""


class AdvisorCommand:
    def __init__(
        self,
        cards: Cards,
        store: CommandStore,
        settings: Settings,
        queue: JobQueue,
        question_log: QuestionLog | None = None,
        *,
        desk: ExpertDesk | None = None,
    ):
        self.desk = desk  # /advisor experts, /advisor answers, and the experts' part of a card
        self.cards = cards
        self.store = store
        self.settings = settings
        self.queue = queue
        self.question_log = question_log or QuestionLog(store, settings.question_retention_days)

    def handlers(self) -> dict[str, Handler]:
        """The queued work this listener hands the queue's workers (answers through
        response_url only: nothing to read back)."""
        return {COMMAND_JOB: Handler(run=self.run, tell_failure=self.failed, verifiable=False)}

    def handle(self, ack: Ack, command: dict, context: BoltContext) -> None:
        """Help at once in the ack; anything else is queued first, then acknowledged (a worker
        answers through the command's response_url); a full queue says "busy" in the ack."""
        text = " ".join((command.get("text") or "").split())
        word, _, rest = text.partition(" ")
        word = word.lower()
        if (word == "help" and not rest) or not is_question(text):
            help_message = self.cards.help(blocks.from_text(text))
            ack(text=help_message["text"], blocks=help_message["blocks"], response_type="ephemeral")
            return
        self.queue.enqueue(
            Request(
                kind=COMMAND_JOB,
                team=context.team_id or command.get("team_id") or "",
                id=command.get("trigger_id"),
                enterprise=context.enterprise_id or command.get("enterprise_id"),
                channel=command.get("channel_id") or "",
                payload={"command": {k: command.get(k) for k in COMMAND_FIELDS}},
                response_url=command.get("response_url"),
                busy=IN_ACK,
            ),
            ack,
        )

    # --- the queued command (run by a worker) ----------------------------------------------------
    def run(self, work: JobContext) -> None:
        job, client = work.job, work.client
        command = job.payload["command"]
        respond = Respond(response_url=command["response_url"])
        text = " ".join((command.get("text") or "").split())
        word, _, rest = text.partition(" ")
        word = word.lower()
        if (tips_args := tips_arguments(text)) is not None:  # typos forgiven: "tipps on"
            message = self._tips(tips_args, command, client, job.team)
        elif word == "tip" and not rest:
            message = self._tip_now(command, client, job.team)
        elif word in ("experts", "answers") and self.desk is not None:
            message = self.desk.command(
                word, rest, team=job.team, user=command.get("user_id") or "", client=client
            )
        else:
            locale = LOCALES.of(client, command.get("user_id"), job.team)
            message, answer = self.cards.answered(text, ephemeral=True, locale=locale)
            if self.desk is not None:
                message, saved_id = self.desk.decorate(job.team, text, message, answer)
                self.desk.used(job.team, saved_id, command.get("channel_id") or "", None)
            reply_privately(respond, message)
            self.question_log.record(
                team=job.team, channel=command.get("channel_id"), answer=answer, started=job_started(job)
            )
            return
        reply_privately(respond, message)

    def failed(self, work: JobContext) -> None:
        reply_privately(Respond(response_url=work.payload["command"]["response_url"]), blocks.error_message())

    def _where(self, command: dict, team: str) -> dict:
        return {
            "team_id": team or command.get("team_id"),
            "channel_id": command.get("channel_id"),
            "user_id": command.get("user_id"),
        }

    def _tips(self, args: str, command: dict, client: WebClient, team: str) -> dict:
        return handle_tips_command(
            args,
            **self._where(command, team),
            client=client,
            store=self.store,
            settings=self.settings,
        )

    def _tip_now(self, command: dict, client: WebClient, team: str) -> dict:
        return handle_tip_now(
            **self._where(command, team),
            client=client,
            store=self.store,
            settings=self.settings,
        )
