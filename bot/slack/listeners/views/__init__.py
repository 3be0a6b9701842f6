"""View submission listeners (modals)."""

from __future__ import annotations

from slack_bolt import App

from ...blocks import ASK_MODAL
from ...cards import Cards
from ...jobs import JobQueue
from ...question_log import QuestionLog
from .ask_modal import AskModal


def register(app: App, *, cards: Cards, queue: JobQueue, question_log: QuestionLog | None = None) -> None:
    app.view(ASK_MODAL)(AskModal(cards, queue, question_log).submit)
