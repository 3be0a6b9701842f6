"""View submission listeners (modals)."""

from __future__ import annotations

from slack_bolt import App

from ...blocks import ASK_MODAL
from ...cards import Cards
from ...jobs import JobQueue
from .ask_modal import AskModal


def register(app: App, *, cards: Cards, queue: JobQueue) -> None:
    app.view(ASK_MODAL)(AskModal(cards, queue).submit)
