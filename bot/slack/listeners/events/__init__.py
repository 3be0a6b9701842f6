"""Events API listeners: every subscribed event type is acknowledged with 200."""

from __future__ import annotations

import re

from slack_bolt import App

from ....storage import Store
from ...cards import Cards
from ...client import WorkspaceClients
from ...jobs import JobQueue
from ...question_log import QuestionLog
from .app_home import AppHome
from .questions import Questions
from .workspace import Workspace


def register(
    app: App,
    *,
    cards: Cards,
    store: Store,
    queue: JobQueue,
    clients: WorkspaceClients | None = None,
    question_log: QuestionLog | None = None,
) -> None:
    questions = Questions(cards, store, queue, question_log)
    home = AppHome(cards, store)
    workspace = Workspace(store, installations=app.installation_store, clients=clients)
    app.event("app_mention")(questions.on_mention)
    app.event("message")(questions.on_message)
    # Publishing Home, the prompts and the welcome are Slack calls: queued, so the ack never waits.
    app.event("app_home_opened")(queue.deferred("app_home", home.on_home_opened))
    app.event("app_uninstalled")(workspace.on_app_uninstalled)
    app.event("tokens_revoked")(workspace.on_tokens_revoked)
    app.event(re.compile(".*"))(workspace.on_other_event)  # last: anything else gets a 200
