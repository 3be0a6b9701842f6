"""Slash command listeners."""

from __future__ import annotations

from slack_bolt import App

from ....config import Settings
from ....storage import Store
from ...blocks import COMMAND
from ...cards import Cards
from ...jobs import JobQueue
from .advisor import AdvisorCommand


def register(app: App, *, cards: Cards, store: Store, settings: Settings, queue: JobQueue) -> None:
    app.command(COMMAND)(AdvisorCommand(cards, store, settings, queue).handle)
