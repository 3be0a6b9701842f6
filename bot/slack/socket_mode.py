"""Running the Bolt app in Socket Mode: the app token checked first, a clean drain on SIGTERM
or SIGINT, and an optional health endpoint reporting the socket's state.

- ``check_app_token`` calls ``apps.connections.open`` once before anything heavy loads, so a
  wrong or revoked ``SLACK_APP_TOKEN`` stops start-up with one line instead of a traceback
  after "ready". (The URL it is given is not kept: it may expire while the model loads; the
  client asks for a fresh one when it connects.)
- ``SocketModeRunner.serve`` connects, then waits for a stop signal. Stopping closes the
  socket first (no new envelopes; Slack sends them to another connection or retries them),
  then waits, bounded by ``drain_seconds``, for the listener work already acknowledged (the
  answers being written), and returns; the caller then closes the store and scheduler.
- ``HealthServer`` (``--health-port``) answers ``GET /health`` with the connection state as
  JSON: 200 while connected, 503 while connecting, reconnecting or draining.

Reconnecting is slack_sdk's: a ``disconnect`` envelope (``refresh_requested``, ``warning``)
or a dropped connection makes the client fetch a new URL and connect again.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from ..errors import AdvisorError
from ..httpguard import guard_handler, guard_threaded_server

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 20.0  # at most this long for in-flight answers after a stop signal
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds between the client's pings (ADVISOR_SOCKET_PING_SECONDS): a connection that died
# without a close frame is stale after four pings without a pong, and replaced. slack_sdk's own
# default; Bolt's handler uses 10.
PING_INTERVAL = 5.0
MAX_CONNECT_DELAY = 30.0  # seconds between attempts at the first connection, at most


class AppTokenError(AdvisorError):
    """Slack refused the app-level token (or could not be reached to check it). One line."""


def check_app_token(client, app_token: str | None) -> None:
    """Check ``app_token`` with ``apps.connections.open`` (the call Socket Mode starts with).

    Raises AppTokenError with one line: a missing token, a token Slack rejects, or no answer.
    """
    if not app_token:
        raise AppTokenError("SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-...)")
    try:
        response = client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = exc.response.get("error")
        hint = " (an app-level token starts with xapp- and needs connections:write)"
        raise AppTokenError(f"Slack rejected SLACK_APP_TOKEN: {error}{hint}") from None
    except OSError as exc:
        raise AppTokenError(f"cannot reach Slack to open a Socket Mode connection: {exc}") from None
    if not response.get("url"):
        raise AppTokenError("Slack gave no Socket Mode URL for SLACK_APP_TOKEN (is Socket Mode enabled?)")


class SocketModeRunner:
    """One Socket Mode connection for ``app``, stopped by ``stop()`` or a stop signal."""

    def __init__(
        self,
        app: App,
        app_token: str,
        *,
        drain_seconds: float = DRAIN_SECONDS,
        ping_interval: float = PING_INTERVAL,
    ):
        self.app = app
        self.handler = SocketModeHandler(app, app_token, ping_interval=ping_interval)
        self.drain_seconds = drain_seconds
        self._stop = threading.Event()
        self.draining = False
        self.connections = 0  # sessions established so far (1 + reconnects)
        # True while a session is being opened: the socket may already be up before it is
        # counted, and /healthz must never say "connected" with the session not yet counted.
        self._opening = False
        client = self.handler.client
        connect = client.connect  # called for the first session and for every reconnect

        def counted_connect() -> None:
            self._opening = True
            try:
                connect()
                self.connections += 1
            finally:
                self._opening = False

        client.connect = counted_connect

    # --- state ---------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return not self._opening and self.handler.client.is_connected()

    def state(self) -> dict:
        if self.draining:
            status = "draining"
        elif self.connected:
            status = "connected"
        else:
            status = "reconnecting" if self.connections else "connecting"
        return {
            "status": status,
            "connected": self.connected and not self.draining,
            "session_id": self.handler.client.session_id(),
            "connections": self.connections,
        }

    # --- running -------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a drain (main thread only, as Python requires)."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        logger.info("received %s: draining (at most %gs)", signal.Signals(signum).name, self.drain_seconds)
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()

    def serve(self) -> bool:
        """Connect, run until stopped, then drain; True if in-flight work finished in time."""
        self._connect_until_stopped()
        self._stop.wait()
        return self.drain()

    def _connect_until_stopped(self) -> None:
        """The first connection, retried with backoff (slack_sdk reconnects only once a first
        connection was made): a network blip at start-up is waited out, not fatal."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                self.handler.connect()
                logger.info("Socket Mode connected (session %s)", self.handler.client.session_id())
                return
            except Exception as exc:
                logger.warning("could not connect in Socket Mode (%s); retrying in %gs", exc, delay)
                self.handler.client.wss_uri = None  # ask Slack for a fresh URL next time
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_CONNECT_DELAY)

    def drain(self) -> bool:
        """Stop accepting envelopes, then wait (bounded) for acknowledged work to finish."""
        self.draining = True
        started = time.monotonic()
        self.handler.client.auto_reconnect_enabled = False
        try:
            self.handler.close()  # closes the socket; waits for envelopes being acknowledged
        except Exception:
            logger.exception("could not close the Socket Mode connection cleanly")
        executor = self.app.listener_runner.listener_executor
        finished = _shutdown_within(executor, max(0.0, self.drain_seconds - (time.monotonic() - started)))
        seconds = time.monotonic() - started
        if finished:
            logger.info("Socket Mode drained in %.1fs: in-flight answers finished", seconds)
        else:
            logger.warning("Socket Mode drain gave up after %.1fs: some answers were still running", seconds)
        return finished


def _shutdown_within(executor, seconds: float) -> bool:
    """Shut ``executor`` down, waiting at most ``seconds`` for its running tasks."""
    waiter = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, name="drain", daemon=True)
    waiter.start()
    waiter.join(seconds)
    return not waiter.is_alive()


class HealthServer:
    """``GET /health``: the Socket Mode connection's state as JSON (for a platform's checks)."""

    def __init__(self, runner: SocketModeRunner, host: str, port: int):
        self.runner = runner
        # A header timeout and a connection cap: slow clients cannot hold every thread or fd.
        self.server = guard_threaded_server(ThreadingHTTPServer)((host, port), guard_handler(self._handler()))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> HealthServer:
        self._thread.start()
        host, port = self.address
        logger.info("health endpoint at http://%s:%s/health", host, port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        runner = self.runner

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # platform probes every few seconds: keep quiet
                pass

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/health", "/healthz", "/"):
                    self._send(404, {"error": "not found; try /health"})
                    return
                state = runner.state()
                self._send(200 if state["connected"] else 503, state)

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
