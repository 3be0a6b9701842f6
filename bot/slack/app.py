"""The Bolt app factory: one App per process, built from loaded dependencies (never at import)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from ..config import Settings
from ..retrieval import Advisor
from ..storage import Store
from .cards import Cards
from .client import make_client
from .listeners import register_listeners

# Threads that run listeners, and so all of the bot's database work (gunicorn's request threads
# only verify and acknowledge). Bolt's default, made explicit: the serving store keeps one
# pooled connection per listener thread (bot/serve.py).
LISTENER_THREADS = 5


def create_app(settings: Settings, advisor: Advisor, store: Store, *, client: WebClient | None = None) -> App:
    """A Bolt App answering from ``advisor``, with state in ``store``.

    Every Web API call goes through ``client`` (default: ``make_client(settings)``, pointed at
    ``SLACK_API_URL`` with bounded 429 retries). Building the App calls ``auth.test`` once.
    """
    app = App(
        client=client or make_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        name="advisor",
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
    )
    register_listeners(app, cards=Cards(advisor, top_k=settings.top_k), store=store, settings=settings)
    return app
