"""Listeners by kind; each kind's ``register`` maps Slack ids to callbacks and adds the queued work
of its listener classes to the queue (``JobQueue.add``): constructors register nothing."""

from __future__ import annotations

from slack_bolt import App

from ...config import Settings
from ...search.saved import SavedMatcher
from ...storage import Store
from ..cards import Cards
from ..client import WorkspaceClients
from ..experts import ExpertDesk
from ..question_log import QuestionLog
from ..queue import JobQueue
from . import actions, commands, events, experts, views


def register_listeners(
    app: App,
    *,
    cards: Cards,
    store: Store,
    settings: Settings,
    queue: JobQueue,
    clients: WorkspaceClients | None = None,
) -> None:
    question_log = QuestionLog(store, settings.question_retention_days)
    # Saved answers are matched with the advisor's own model (it takes turns on it).
    desk = ExpertDesk(store, SavedMatcher.from_advisor(cards.advisor))
    escalations = experts.register(
        app, cards=cards, store=store, queue=queue, keep_text=settings.question_retention_days > 0
    )
    events.register(
        app,
        cards=cards,
        store=store,
        queue=queue,
        clients=clients,
        question_log=question_log,
        desk=desk,
        expert_replies=escalations.on_thread_reply,
    )
    commands.register(
        app, cards=cards, store=store, settings=settings, queue=queue, question_log=question_log, desk=desk
    )
    actions.register(app, cards=cards, store=store, queue=queue, desk=desk)
    views.register(app, cards=cards, queue=queue, question_log=question_log, desk=desk)
