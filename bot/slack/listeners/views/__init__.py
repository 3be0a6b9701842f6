"""View submission listeners (modals)."""

from __future__ import annotations

from slack_bolt import App

from ...blocks import ASK_MODAL
from ...cards import Cards
from .ask_modal import AskModal


def register(app: App, *, cards: Cards) -> None:
    app.view(ASK_MODAL)(AskModal(cards).submit)
