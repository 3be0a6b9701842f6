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
import signal
import sys
import time

from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError
from slack_sdk.errors import SlackApiError

from .config import Settings
from .errors import AdvisorError, explain
from .httpguard import guarded_asgi_worker, start_wsgi_server
from .knowledge import load_knowledge
from .logguard import guard_logging, secret_settings
from .search.advisor import Advisor
from .slack.app import LISTENER_THREADS, create_app
from .slack.client import make_client
from .slack.jobs import JOB_WORKERS, JobWorkers
from .slack.queue import JobQueue
from .slack.retry import SLACK_OUTAGE_ERRORS, RetryPolicy
from .slack.server import EVENTS_PATH, HEALTH_PATH, buffered_asgi, wsgi_app
from .slack.socket_mode import HealthServer, SocketModeRunner, check_app_token
from .slack.tips import SlackTipPoster
from .slack.workspaces import workspace_clients
from .storage import Store, open_store
from .tips.catalog import load_tips
from .tips.scheduler import SchedulerThread, start_scheduler_thread

logger = logging.getLogger(__name__)

HTTP_SECRETS = ("slack_bot_token", "slack_signing_secret")
SOCKET_SECRETS = ("slack_bot_token", "slack_app_token")
# OAuth mode (bot.slack.oauth): no bot token, the app's credentials instead.
OAUTH_SECRETS = ("slack_client_id", "slack_client_secret")
WORKER_THREADS = 16
# gunicorn worker classes: "asgi" (the default: gunicorn's asyncio worker in front of
# slack.server.buffered_asgi, so slow clients hold no thread) or "gthread" (threads read
# requests themselves; kept to measure against: scripts/load_slack.py --slow-clients).
HTTP_WORKERS = ("asgi", "gthread")
WORKER_TIMEOUT = 120  # seconds; covers an index rebuild while the worker boots
# SIGTERM to exit: hosting platforms send SIGKILL 30 s after SIGTERM. gunicorn stops
# accepting at once, kills its worker after GRACEFUL_TIMEOUT; the answer queue drains first.
GRACEFUL_TIMEOUT = 25
DRAIN_SECONDS = 20
# Pauses between auth.test attempts at start-up while Slack answers 5xx / fatal_error.
SLACK_STARTUP_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class StartupError(AdvisorError):
    """The bot cannot start: knowledge, database or Slack said no. One line."""


def check_startup(
    settings: Settings, *, secrets: tuple[str, ...], slack_backoff: tuple[float, ...] = SLACK_STARTUP_BACKOFF
) -> None:
    """Fail fast, with one line, on anything that would stop the bot from answering: a missing
    secret, bad knowledge, a database that cannot be opened or written, a bad bot token. Slack
    answering 5xx or ``fatal_error`` is its outage, not a bad token: retried with
    ``slack_backoff`` pauses, then reported as such."""
    if settings.oauth:  # tokens come from installs: nothing to check with auth.test yet
        settings.require(*OAUTH_SECRETS, *(s for s in secrets if s != "slack_bot_token"))
    else:
        settings.require(*secrets)
    knowledge = load_knowledge(settings.knowledge_dir)
    if settings.run_scheduler:  # the scheduler loads the tips in the worker: a bad file stops it there
        load_tips(settings.knowledge_dir, knowledge)
    check_database(settings.database_url)
    if not settings.oauth:
        check_slack(settings, slack_backoff)


def check_database(database_url: str) -> None:
    """The database opens, its schema is current, and it takes a write."""
    from sqlalchemy.exc import SQLAlchemyError

    from .errors import first_line

    store = open_store(database_url)
    try:
        store.check_writable()
    except SQLAlchemyError as exc:
        problem = first_line(str(getattr(exc, "orig", None) or exc))
        raise StartupError(f"the database is not writable ({store.dialect}): {problem}") from None
    finally:
        store.close()


def check_slack(settings: Settings, backoff: tuple[float, ...]) -> None:
    for attempt, pause in enumerate((*backoff, None), start=1):
        try:
            make_client(settings).auth_test()
            return
        except SlackApiError as exc:
            error, status = exc.response.get("error"), exc.response.status_code
            if status < 500 and status != 429 and error not in SLACK_OUTAGE_ERRORS:
                raise StartupError(f"Slack rejected SLACK_BOT_TOKEN: {error} (check the token)") from None
            problem = f"auth.test answered {error or 'an error'} (HTTP {status})"
        except OSError as exc:
            raise StartupError(f"cannot reach the Slack Web API at {settings.slack_api_url}: {exc}") from None
        if pause is None:
            raise StartupError(
                f"Slack's Web API is having an outage: {problem}, {attempt} tries "
                "(the token was not rejected; start again once Slack recovers)"
            )
        logger.warning("Slack's Web API is having an outage (%s); retrying in %gs", problem, pause)
        time.sleep(pause)


def open_serving_store(settings: Settings) -> Store:
    """The serving process's store: a pooled connection for every thread that uses it at once
    (request threads acknowledging, queue workers, the heartbeat, the tip scheduler), so a
    burst neither waits for one nor opens and closes extra connections."""
    return open_store(settings.database_url, pool_size=WORKER_THREADS + JOB_WORKERS + LISTENER_THREADS + 2)


class Runtime:
    """What one serving process holds: the store, the Bolt app, the answer queue's workers and
    the tip scheduler. Both serving modes call ``start``, then ``drain`` and ``close``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        advisor = Advisor.load(settings)
        advisor.ask("who should set next year's sales quota?")  # warm up: the first answer is fast
        self.store = open_serving_store(settings)
        self.queue = JobQueue(self.store)
        # Each team's client, for work done outside a request from Slack (queued answers, tips):
        # token mode, one client for every team; OAuth, each installation's (refreshed) token.
        self.clients = workspace_clients(settings, self.store.engine)
        self.app = create_app(settings, advisor, self.store, self.queue, clients=self.clients)
        self.workers = JobWorkers(self.queue, self.clients, retry=RetryPolicy.from_settings(settings))
        self.scheduler: SchedulerThread | None = None
        self._drained = False

    def start(self) -> None:
        """Start the queue's workers (resuming jobs a dead process left) and the tip scheduler."""
        self.workers.start()
        self.start_scheduler()

    def start_scheduler(self) -> None:
        if self.settings.run_scheduler:
            poster = SlackTipPoster(self.clients)
            self.scheduler = start_scheduler_thread(self.settings, self.store, poster)

    def health(self) -> tuple[bool, dict]:
        return self.workers.health()

    def stop_taking(self) -> None:
        """Shutdown begins: queue workers take no new jobs."""
        self.workers.stop_taking()

    def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Finish the jobs in hand within ``timeout`` s; leave the rest, logged, to the next process."""
        if not self._drained:
            self._drained = True
            self.workers.drain(timeout)

    def close(self) -> None:
        self.drain()
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
    # No token, OAuth code or secret in any line; one traceback per distinct error a minute
    # (an outage repeats the same one in every worker on every attempt).
    guard_logging(secret_settings(settings))


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
    """gunicorn, one worker process (asyncio by default, see HTTP_WORKERS), the Runtime
    loaded in the worker."""

    def __init__(
        self,
        settings: Settings,
        host: str,
        port: int,
        *,
        worker: str = "asgi",
        health_port: int | None = None,
    ):
        self.settings = settings
        self.bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.host = host
        self.worker = worker
        self.health_port = health_port
        self.health_server = None
        self.runtime: Runtime | None = None
        self._stop_requested: float | None = None
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": self.bind,
            "workers": 1,
            # The asyncio worker with a header-read timeout and a connection cap (bot.httpguard).
            "worker_class": guarded_asgi_worker() if self.worker == "asgi" else self.worker,
            "threads": WORKER_THREADS if self.worker == "gthread" else 1,
            "worker_connections": 1000,
            "asgi_lifespan": "on",
            "timeout": WORKER_TIMEOUT,
            "graceful_timeout": GRACEFUL_TIMEOUT,
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
        application = wsgi_app(
            self.runtime.app, signing_secret=self.settings.slack_signing_secret, health=self.runtime.health
        )
        if self.worker == "asgi":
            return buffered_asgi(application, threads=WORKER_THREADS, on_shutdown=self._drain)
        return application

    def _ready(self, worker) -> None:
        assert self.runtime is not None
        self.runtime.start()
        if self.worker == "gthread":
            self._stop_taking_on(worker, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
        else:  # the asyncio worker's handlers are the event loop's: wrap its graceful one
            graceful = worker.handle_exit_signal

            def on_sigterm() -> None:
                self._stop_requested = self._stop_requested or time.monotonic()
                runtime.stop_taking()
                graceful()

            runtime = self.runtime
            worker.loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        if self.health_port is not None:
            self.health_server = serve_health(self.runtime, self.host, self.health_port)
        for sock in worker.sockets:
            address = sock.sock.getsockname()
            logger.info(
                "advisor ready: serving Slack at http://%s:%s%s (model and index loaded)",
                address[0],
                address[1],
                EVENTS_PATH,
            )

    def _stop_taking_on(self, worker, *signals: signal.Signals) -> None:
        """On a stop signal the queue stops taking jobs at once, then gunicorn's own handler runs
        (stop accepting, finish requests); the drain itself waits for worker_exit."""
        runtime = self.runtime
        assert runtime is not None
        for signum in signals:
            previous = signal.getsignal(signum)

            def handler(number, frame, previous=previous):
                if self._stop_requested is None:
                    self._stop_requested = time.monotonic()
                runtime.stop_taking()
                if callable(previous):
                    previous(number, frame)

            signal.signal(signum, handler)

    def _drain(self) -> None:
        if self.runtime is not None:
            began = self._stop_requested or time.monotonic()
            self.runtime.drain(max(1.0, DRAIN_SECONDS - (time.monotonic() - began)))

    def _worker_exit(self, _server, _worker) -> None:
        if self.health_server is not None:
            self.health_server.shutdown()
        if self.runtime is not None:
            self._drain()
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
    http_worker: str = "asgi",
    health_port: int | None = None,
) -> None:
    """Run the bot until stopped: Socket Mode (``socket=True``, with a health endpoint on
    ``host:health_port`` if given, and OAuth's install pages on ``host:port``) or HTTP on
    ``host:port`` (with ``/healthz`` also on ``host:health_port`` if given, see serve_health).

    Raises an AdvisorError (one line) when a setting is missing or the knowledge, database or
    bot token is not usable. Port 0 picks a free port (logged in the "ready" line).
    """
    _ensure_logging(settings)
    warn_about_ephemeral_state(settings)
    check_startup(settings, secrets=SOCKET_SECRETS if socket else HTTP_SECRETS)
    if socket:
        _serve_socket(settings, host=host, port=port, health_port=health_port)
    else:
        AdvisorHTTP(settings, host, port, worker=http_worker, health_port=health_port).run()


def _serve_socket(
    settings: Settings, *, host: str = "0.0.0.0", port: int = 3000, health_port: int | None = None
) -> None:
    """Socket Mode until SIGTERM/SIGINT (bot/slack/socket_mode.py), then drain the answer
    queue and close the runtime."""
    check_app_token(make_client(settings), settings.slack_app_token)  # before the model loads
    runtime = _start_runtime(settings)
    runtime.start()
    runner = SocketModeRunner(
        runtime.app, settings.slack_app_token or "", ping_interval=settings.socket_ping_seconds
    )
    runner.install_signal_handlers()
    health = HealthServer(runner, host, health_port).start() if health_port is not None else None
    # OAuth in Socket Mode: events arrive over the socket, but installing still takes a browser
    # visiting /slack/install and Slack redirecting to /slack/oauth_redirect (docs/slack.md).
    pages = _serve_install_pages(runtime.app, host, port) if settings.oauth else None
    logger.info("advisor ready: model and index loaded; connecting to Slack in Socket Mode")
    try:
        runner.serve()
    finally:
        if health is not None:
            health.stop()
        if pages is not None:
            pages.shutdown()
        runtime.close()
        logger.info("advisor stopped: answer queue drained, store and scheduler closed")


def _serve_install_pages(app, host: str, port: int):
    """The install routes (and the health check) on ``host:port``, in a thread; the server.

    Events come over the socket: no /slack/events here (without a signing secret Bolt could
    not verify one anyway). A header timeout and a connection cap, as over HTTP."""
    server = start_wsgi_server(
        wsgi_app(app, events=False),
        host,
        port,
        name="install-pages",
        log_request=lambda line: logger.debug("install pages: %s", line),  # no state or codes at INFO
    )
    address = server.server_address
    logger.info("advisor install pages at http://%s:%s/slack/install (OAuth)", address[0], address[1])
    return server


def serve_health(runtime: Runtime, host: str, port: int):
    """``GET /healthz`` alone on ``host:port``, served by threads of its own; the server.

    Over HTTP, /healthz is also on the main port, but there a platform's probe queues in the
    kernel behind every client that connected before it and waits for the event loop's turns:
    under a flood of slow clients that reconnect as fast as they are evicted, that wait grows
    with the flood and the machine's load (scripts/slow_clients.py, docs/reliability.md). On a
    port of its own, which only the platform's checks reach, it does neither."""
    routes = wsgi_app(runtime.app, events=False, health=runtime.health)

    def health_only(environ: dict, start_response):
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return routes(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]

    server = start_wsgi_server(health_only, host, port, name="health")  # a probe a second: no log
    address = server.server_address
    logger.info("advisor health endpoint at http://%s:%s%s", address[0], address[1], HEALTH_PATH)
    return server
