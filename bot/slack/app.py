"""The Bolt app factory: one App per process, built from loaded dependencies (never at import)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from ..config import Settings
from ..search.advisor import Advisor
from ..storage import Store
from .cards import Cards
from .client import WorkspaceClients, make_client
from .inbound import guard_inbound
from .listeners import register_listeners
from .queue import JobQueue
from .workspaces import workspace_clients

# Threads for Bolt's lazy listeners (none today). Listeners themselves run on the thread that
# received the request (process_before_response): they only queue work and acknowledge.
LISTENER_THREADS = 2


def create_app(
    settings: Settings,
    advisor: Advisor,
    store: Store,
    queue: JobQueue,
    *,
    client: WebClient | None = None,
    clients: WorkspaceClients | None = None,
) -> App:
    """A Bolt App answering from ``advisor``, with state in ``store`` and work queued on ``queue``.

    Every listener runs to its end before Bolt answers Slack (``process_before_response``):
    what it acknowledges is already in the database, and no answer runs on the path of an
    ack (``queue``'s workers post the answers). Every Web API call goes through ``client``
    (default: ``make_client(settings)``, pointed at ``SLACK_API_URL`` with bounded retries).
    Token mode (``SLACK_BOT_TOKEN``): building the App calls ``auth.test`` once. OAuth mode
    (``settings.oauth``): Bolt's install flow and per-workspace tokens from the installations
    in ``store``'s database (``bot.slack.oauth``). ``clients`` gives work outside requests
    its team's client (default: built for the mode).
    """
    mode: dict = {}
    if settings.oauth:
        from .oauth import oauth_parts  # slack_sdk's SQLAlchemy stores: only in OAuth mode

        parts = oauth_parts(settings, store.engine)
        mode = dict(
            oauth_settings=parts.settings, authorize=parts.authorize, installation_store=parts.installations
        )
    app = App(
        client=client or make_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        name="advisor",
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
        **mode,
    )
    if clients is None:
        clients = workspace_clients(settings, store.engine, client=app.client)
    app.use(guard_inbound)  # before any listener: bodies cleaned, unusable ones dropped
    if settings.oauth:
        from .oauth import refuse_unauthorized

        app.error(refuse_unauthorized)  # a failed token refresh is not acknowledged as success
    cards = Cards(advisor, top_k=settings.top_k)
    register_listeners(app, cards=cards, store=store, settings=settings, queue=queue, clients=clients)
    return app
