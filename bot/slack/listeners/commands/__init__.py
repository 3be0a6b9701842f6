"""Slash command listeners."""

from __future__ import annotations

from slack_bolt import App

from ....config import Settings
from ....storage import Store
from ...blocks import COMMAND
from ...cards import Cards
from ...jobs import JobQueue
from ...question_log import QuestionLog
from .advisor import AdvisorCommand


def register(
    app: App,
    *,
    cards: Cards,
    store: Store,
    settings: Settings,
    queue: JobQueue,
    question_log: QuestionLog | None = None,
) -> None:
    app.command(COMMAND)(AdvisorCommand(cards, store, settings, queue, question_log).handle)
