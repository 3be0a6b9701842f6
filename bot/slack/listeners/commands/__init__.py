"""Slash command listeners."""

from __future__ import annotations

from slack_bolt import App

from ....config import Settings
from ...blocks import COMMAND
from ...cards import Cards
from ...experts import ExpertDesk
from ...question_log import QuestionLog
from ...queue import JobQueue
from .advisor import AdvisorCommand, CommandStore


def register(
    app: App,
    *,
    cards: Cards,
    store: CommandStore,
    settings: Settings,
    queue: JobQueue,
    question_log: QuestionLog | None = None,
    desk: ExpertDesk | None = None,
) -> None:
    command = AdvisorCommand(cards, store, settings, queue, question_log, desk=desk)
    queue.add(command.handlers())
    app.command(COMMAND)(command.handle)
