"""Events API listeners: every subscribed event type is acknowledged with 200."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from slack_bolt import App

from ...cards import Cards
from ...client import WorkspaceClients
from ...experts import ExpertDesk
from ...question_log import QuestionLog
from ...queue import JobQueue
from .app_home import HOME_JOB, AppHome, HomeStore
from .questions import Questions, QuestionsStore
from .workspace import TeamStore, Workspace


class EventsStore(QuestionsStore, HomeStore, TeamStore, Protocol):
    """What the event listeners need of the store, together."""


def register(
    app: App,
    *,
    cards: Cards,
    store: EventsStore,
    queue: JobQueue,
    clients: WorkspaceClients | None = None,
    question_log: QuestionLog | None = None,
    desk: ExpertDesk | None = None,
    expert_replies: Callable[..., bool] | None = None,
) -> None:
    questions = Questions(cards, store, queue, question_log, desk=desk, expert_replies=expert_replies)
    home = AppHome(cards, store)
    workspace = Workspace(store, installations=app.installation_store, clients=clients)
    queue.add(questions.handlers())
    queue.add(home.handlers())
    app.event("app_mention")(questions.on_mention)
    app.event("message")(questions.on_message)
    app.event("app_home_opened")(queue.listener(HOME_JOB))
    app.event("app_uninstalled")(workspace.on_app_uninstalled)
    app.event("tokens_revoked")(workspace.on_tokens_revoked)
    app.event(re.compile(".*"))(workspace.on_other_event)  # last: anything else gets a 200
