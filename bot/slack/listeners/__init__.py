"""Listeners by kind; each kind's ``register`` only maps Slack ids to callbacks."""

from __future__ import annotations

from slack_bolt import App

from ...config import Settings
from ...storage import Store
from ..cards import Cards
from ..jobs import JobQueue
from . import actions, commands, events, views


def register_listeners(app: App, *, cards: Cards, store: Store, settings: Settings, queue: JobQueue) -> None:
    events.register(app, cards=cards, store=store, queue=queue)
    commands.register(app, cards=cards, store=store, settings=settings, queue=queue)
    actions.register(app, cards=cards, store=store, queue=queue)
    views.register(app, cards=cards, queue=queue)
