"""The composition root: one serving process wires the advisor, the store, the Slack app and
the tip scheduler (handed the Slack layer's poster), then serves in Socket Mode or over HTTP
behind gunicorn (Bolt's ``app.start()`` is for development).

Start-up checks settings, knowledge, database and the bot token in the main process and
stops with one line naming the problem (``bot.errors``). The model and index then load in
the gunicorn worker before it accepts its first connection (PyTorch's thread pool does not
survive a fork, so the master never touches the model); requests that arrive meanwhile wait
in the listen backlog instead of being refused.
"""

from __future__ import annotations

import logging
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError
from slack_sdk.errors import SlackApiError

from .config import Settings
from .errors import AdvisorError, explain
from .knowledge import load_knowledge
from .retrieval import Advisor
from .slack.app import LISTENER_THREADS, create_app
from .slack.client import make_client
from .slack.server import EVENTS_PATH, wsgi_app
from .slack.socket_mode import HealthServer, SocketModeRunner, check_app_token
from .slack.tips import SlackTipPoster
from .storage import Store, open_store
from .tips.scheduler import SchedulerThread, start_scheduler_thread

logger = logging.getLogger(__name__)

HTTP_SECRETS = ("slack_bot_token", "slack_signing_secret")
SOCKET_SECRETS = ("slack_bot_token", "slack_app_token")
WORKER_THREADS = 16
WORKER_TIMEOUT = 120  # seconds; covers an index rebuild while the worker boots


class StartupError(AdvisorError):
    """The bot cannot start: knowledge, database or Slack said no. One line."""


def check_startup(settings: Settings, *, secrets: tuple[str, ...]) -> None:
    """Fail fast, with one line, on anything that would stop the bot from answering."""
    settings.require(*secrets)
    load_knowledge(settings.knowledge_dir)
    open_store(settings.database_url).close()
    try:
        make_client(settings).auth_test()
    except SlackApiError as exc:
        raise StartupError(
            f"Slack rejected SLACK_BOT_TOKEN: {exc.response.get('error')} (check the token)"
        ) from None
    except OSError as exc:
        raise StartupError(f"cannot reach the Slack Web API at {settings.slack_api_url}: {exc}") from None


def open_serving_store(settings: Settings) -> Store:
    """The serving process's store: a pooled connection for every thread that uses it at once
    (the Bolt listener threads and the tip scheduler's), so a burst neither waits for one nor
    opens and closes extra connections."""
    return open_store(settings.database_url, pool_size=LISTENER_THREADS + 1)


class Runtime:
    """What one serving process holds: the store, the Bolt app and the tip scheduler."""

    def __init__(self, settings: Settings):
        self.settings = settings
        advisor = Advisor.load(settings)
        advisor.ask("who should set next year's sales quota?")  # warm up: the first answer is fast
        self.store = open_serving_store(settings)
        self.app = create_app(settings, advisor, self.store)
        self.scheduler: SchedulerThread | None = None

    def start_scheduler(self) -> None:
        if self.settings.run_scheduler:
            poster = SlackTipPoster(self.app.client)
            self.scheduler = start_scheduler_thread(self.settings, self.store, poster)

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.store.close()


def _ensure_logging(settings: Settings) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=getattr(logging, settings.log_level.upper(), logging.INFO),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )


def _start_runtime(settings: Settings) -> Runtime:
    """A Runtime, or StartupError with the one-line reason it could not load."""
    try:
        return Runtime(settings)
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        raise StartupError(explained[0]) from None


# --- HTTP (gunicorn) -----------------------------------------------------------------------


class AdvisorHTTP(BaseApplication):
    """gunicorn, one gthread worker, the Runtime loaded in the worker."""

    def __init__(self, settings: Settings, host: str, port: int):
        self.settings = settings
        self.bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.runtime: Runtime | None = None
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": self.bind,
            "workers": 1,
            "worker_class": "gthread",
            "threads": WORKER_THREADS,
            "timeout": WORKER_TIMEOUT,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": self.settings.log_level.lower(),
            "proc_name": "advisor",
            "post_worker_init": self._ready,
            "worker_exit": self._worker_exit,
            # gunicorn >= 24 opens a control socket in $HOME; several bots on one host
            # would fight over it, and nothing here uses it.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        """Runs in the worker, before it accepts connections: load model, index and DB."""
        try:
            self.runtime = _start_runtime(self.settings)
        except StartupError as exc:
            raise AppImportError(f"advisor: cannot start: {exc}") from None
        return wsgi_app(self.runtime.app)

    def _ready(self, worker) -> None:
        assert self.runtime is not None
        self.runtime.start_scheduler()
        for sock in worker.sockets:
            address = sock.sock.getsockname()
            logger.info(
                "advisor ready: serving Slack at http://%s:%s%s (model and index loaded)",
                address[0],
                address[1],
                EVENTS_PATH,
            )

    def _worker_exit(self, _server, _worker) -> None:
        if self.runtime is not None:
            self.runtime.close()


# --- entry point ---------------------------------------------------------------------------


def warn_about_ephemeral_state(settings: Settings) -> None:
    """On a hosting platform (PORT or DYNO set) without DATABASE_URL, say loudly that the
    default SQLite file lives on a disk the platform may wipe, and that it is not shared."""
    if settings.platform_hint and not settings.database_url_env:
        logger.warning(
            "%s is set (a hosting platform?) but DATABASE_URL is not: state is kept in a SQLite file "
            "on local disk (%s). It will not survive a restart that wipes the disk (answered events, "
            "followed threads, tip subscriptions and posts are lost), and separate processes (web, "
            "scheduler) do not share it. Set DATABASE_URL to a PostgreSQL URL.",
            settings.platform_hint,
            settings.database_url.removeprefix("sqlite:///"),
        )


def serve(
    settings: Settings,
    *,
    socket: bool,
    host: str = "0.0.0.0",
    port: int = 3000,
    health_port: int | None = None,
) -> None:
    """Run the bot until stopped: Socket Mode (``socket=True``, with a health endpoint on
    ``host:health_port`` if given) or HTTP on ``host:port``.

    Raises an AdvisorError (one line) when a setting is missing or the knowledge, database or
    bot token is not usable. Port 0 picks a free port (logged in the "ready" line).
    """
    _ensure_logging(settings)
    warn_about_ephemeral_state(settings)
    check_startup(settings, secrets=SOCKET_SECRETS if socket else HTTP_SECRETS)
    if socket:
        _serve_socket(settings, host=host, health_port=health_port)
    else:
        AdvisorHTTP(settings, host, port).run()


def _serve_socket(settings: Settings, *, host: str = "0.0.0.0", health_port: int | None = None) -> None:
    """Socket Mode until SIGTERM/SIGINT (bot/slack/socket_mode.py), then close the runtime."""
    check_app_token(make_client(settings), settings.slack_app_token)  # before the model loads
    runtime = _start_runtime(settings)
    runtime.start_scheduler()
    runner = SocketModeRunner(runtime.app, settings.slack_app_token or "")
    runner.install_signal_handlers()
    health = HealthServer(runner, host, health_port).start() if health_port is not None else None
    logger.info("advisor ready: model and index loaded; connecting to Slack in Socket Mode")
    try:
        runner.serve()
    finally:
        if health is not None:
            health.stop()
        runtime.close()
        logger.info("advisor stopped: store and scheduler closed")
