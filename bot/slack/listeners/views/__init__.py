"""View submission listeners (modals)."""

from __future__ import annotations

from slack_bolt import App

from ...blocks import ASK_MODAL
from ...cards import Cards
from ...experts import ExpertDesk
from ...question_log import QuestionLog
from ...queue import JobQueue
from .ask_modal import AskModal


def register(
    app: App,
    *,
    cards: Cards,
    queue: JobQueue,
    question_log: QuestionLog | None = None,
    desk: ExpertDesk | None = None,
) -> None:
    modal = AskModal(cards, queue, question_log, desk=desk)
    queue.add(modal.handlers())
    app.view(ASK_MODAL)(modal.submit)
