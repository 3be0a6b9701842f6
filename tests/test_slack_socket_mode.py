"""Socket Mode end to end: ``python -m bot serve --socket`` against a fake Socket Mode server
(a real WebSocket server, tests/fake_socket_mode.py) and the fake Web API.

The bot asks the fake Web API for a connection URL (``apps.connections.open``), connects,
gets ``hello``, and acknowledges each envelope on the socket; its answers go to the fake Web
API as over HTTP. Slack's ``disconnect`` (``refresh_requested``) and an abrupt close are
each followed by a new connection that still answers; SIGTERM drains an answer in flight
before the process exits; a bad app token stops start-up with one line. Tests wait on state
(connections, acks, recorded calls, the process's exit), never on a sleep.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from tests import fake_slack
from tests.fake_socket_mode import FakeSocketMode
from tests.slack_harness import (
    REPO,
    block_action,
    bot_env,
    command_form,
    event_body,
    message,
    message_ts,
    unique_id,
    vote_of,
)

APP_TOKEN = "xapp-1-test-app-token-that-must-never-be-logged"
QUOTA = "who should set next year's sales quota?"
_HEALTH = re.compile(r"health endpoint at http://([\d.]+):(\d+)/health")


class SocketBot:
    """``python -m bot serve --socket --health-port 0``, its output collected line by line."""

    def __init__(self, env: dict):
        self.env = env
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def start(self, *args: str) -> SocketBot:
        command = [sys.executable, "-m", "bot", "serve", "--socket", "--host", "127.0.0.1", *args]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)

    def health_url(self) -> str:
        match = fake_slack.wait_until(
            lambda: _HEALTH.search(self.log), timeout=180, what="the health endpoint"
        )
        return f"http://{match.group(1)}:{match.group(2)}/health"

    def wait(self, timeout: float) -> int:
        assert self.process
        code = self.process.wait(timeout)
        if self._reader:
            self._reader.join(5)
        return code

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def healthy_after(url: str, connections: int) -> tuple[int, dict]:
    """/health once it says connected on its ``connections``-th session (a reconnect is noticed
    only after the old session is seen to drop, so the count is part of what is waited for).
    /health never says connected while a session is being opened and not yet counted: the
    first session's test waits for a 200 alone and then checks the count."""
    return fake_slack.wait_until(
        lambda: (s := health(url)) and s[0] == 200 and s[1]["connections"] >= connections and s,
        timeout=60,
        what=lambda: f"a healthy socket on connection {connections}, got {health(url)}",
    )


@pytest.fixture
def sockets(fake):
    server = FakeSocketMode().start()
    fake.answers["apps.connections.open"] = lambda body: {"ok": True, "url": server.url()}
    yield server
    fake.answers.pop("apps.connections.open", None)
    server.stop()


@pytest.fixture
def socket_env(fake, tmp_path, bundled_index):
    shutil.copytree(bundled_index, tmp_path / "index")
    return bot_env(
        fake.url,
        tmp_path,
        SLACK_APP_TOKEN=APP_TOKEN,
        DATABASE_URL=f"sqlite:///{tmp_path / 'advisor.sqlite3'}",
        # A dropped connection is found stale after four pings without a pong: ~10 s, not ~25.
        ADVISOR_SOCKET_PING_SECONDS="2",
    )


@pytest.fixture
def socket_bot(socket_env, sockets):
    bot = SocketBot(socket_env).start("--health-port", "0")
    sockets.wait_for_sessions(1, timeout=180)
    yield bot
    bot.stop()
    assert APP_TOKEN not in bot.log, "the app token leaked into the log"


def dm(text: str, channel: str) -> dict:
    return event_body(message(text, channel=channel, channel_type="im"))


def test_events_commands_and_interactions_are_acknowledged_and_answered(fake, sockets, socket_bot):
    url = socket_bot.health_url()
    status, state = fake_slack.wait_until(
        lambda: (s := health(url)) and s[0] == 200 and s,
        timeout=60,
        what=lambda: f"healthy, got {health(url)}",
    )
    # connected implies counted: the session is never reported live before it is counted
    assert state["status"] == "connected" and state["connections"] == 1 and state["session_id"]

    # events_api: a DM question, with the "reading" status set and cleared around the answer
    channel = unique_id("D")
    envelope = sockets.send("events_api", dm(QUOTA, channel))
    assert sockets.ack(envelope) == {"envelope_id": envelope}
    (card,) = fake.wait_for_call("chat.postMessage", channel=channel)
    assert card.body["blocks"][0]["block_id"] == "verdict"
    statuses = fake.wait_for_call("assistant.threads.setStatus", 2, channel_id=channel)
    assert [s.body["status"] for s in statuses] == ["is reading the article...", ""]

    # slash_commands: help comes back in the acknowledgement itself
    channel = unique_id("C")
    form = command_form("help", fake.response_url(unique_id("r")), channel=channel)
    envelope = sockets.send("slash_commands", form)
    ack = sockets.ack(envelope)
    assert ack["envelope_id"] == envelope
    assert "/advisor QUESTION" in ack["payload"]["text"]

    # interactive: a vote on a channel card is told to the voter only
    card_ts, voted = message_ts(), unique_id("v")
    blocks = card.body["blocks"]
    payload = block_action(
        vote_of(blocks), response_url=fake.response_url(voted), channel=channel, message_ts=card_ts
    )
    envelope = sockets.send("interactive", payload)
    assert sockets.ack(envelope)["envelope_id"] == envelope
    note = fake.reply_to(voted)
    assert note["response_type"] == "ephemeral" and "You found this helpful" in str(note["blocks"])
    assert fake.matching("chat.update", channel=channel) == []


def test_reconnects_after_refresh_requested_and_after_an_abrupt_close(fake, sockets, socket_bot):
    url = socket_bot.health_url()
    sockets.disconnect("refresh_requested")
    sockets.wait_for_sessions(2)
    channel = unique_id("D")
    envelope = sockets.send("events_api", dm(QUOTA, channel))
    assert sockets.ack(envelope) == {"envelope_id": envelope}
    assert envelope in [m.get("envelope_id") for m in sockets.sessions[1].received]  # on the new one
    fake.wait_for_call("chat.postMessage", channel=channel)

    sockets.drop()
    # Stale after four pings without a pong, then replaced (no time limit on how soon: the
    # interval reaching slack_sdk is checked below, on the runner itself).
    sockets.wait_for_sessions(3, timeout=120)
    channel = unique_id("D")
    envelope = sockets.send("events_api", dm("who runs the trade shows?", channel))
    assert sockets.ack(envelope) == {"envelope_id": envelope}
    fake.wait_for_call("chat.postMessage", channel=channel)
    assert len(fake.calls_to("apps.connections.open")) >= 4  # the start-up check + 3 connections
    status, state = healthy_after(url, 3)
    assert state["status"] == "connected" and state["connections"] == 3


def test_the_ping_interval_setting_reaches_slack_sdk():
    """ADVISOR_SOCKET_PING_SECONDS is what finds a dead connection soon (four pings without a
    pong): serve hands settings.socket_ping_seconds to the runner, which hands it on."""
    from slack_bolt import App

    from bot.config import load_settings
    from bot.slack.socket_mode import SocketModeRunner

    settings = load_settings(env={"ADVISOR_SOCKET_PING_SECONDS": "2"})
    app = App(token="xoxb-test", signing_secret="s", token_verification_enabled=False)
    runner = SocketModeRunner(app, APP_TOKEN, ping_interval=settings.socket_ping_seconds)
    assert runner.handler.client.ping_interval == 2


def test_health_says_so_while_the_socket_is_down(fake, sockets, socket_bot):
    url = socket_bot.health_url()
    fake_slack.wait_until(lambda: health(url)[0] == 200, what="a healthy socket")
    fake.fail("apps.connections.open", "internal_error", times=1000)  # reconnecting cannot succeed
    try:
        sockets.drop()
        status, state = fake_slack.wait_until(
            lambda: (s := health(url)) and s[0] == 503 and s, timeout=90, what="an unhealthy socket"
        )
        assert state["connected"] is False and state["status"] == "reconnecting"
    finally:
        fake._rules.pop("apps.connections.open", None)
    sockets.wait_for_sessions(2, timeout=60)
    fake_slack.wait_until(lambda: health(url)[0] == 200, timeout=30, what="the socket back")


def test_sigterm_drains_an_answer_in_flight_then_closes_and_exits(fake, sockets, socket_bot):
    channel = unique_id("D")
    fake.delay("assistant.threads.setStatus", 3, channel_id=channel)  # the answer is under way
    envelope = sockets.send("events_api", dm(QUOTA, channel))
    sockets.ack(envelope)
    fake.wait_for_call("assistant.threads.setStatus", channel_id=channel)
    socket_bot.process.send_signal(signal.SIGTERM)
    assert socket_bot.wait(60) == 0
    # The answer started before SIGTERM was still posted: the process waited for it.
    assert fake.matching("chat.postMessage", channel=channel)
    assert sockets.sessions[-1].closed
    assert "advisor stopped: answer queue drained, store and scheduler closed" in socket_bot.log
    assert "Traceback" not in socket_bot.log


def test_a_bad_app_token_stops_start_up_with_one_line(fake, sockets, socket_env):
    fake.fail("apps.connections.open", "invalid_auth")
    bot = SocketBot(socket_env).start()
    try:
        code = bot.wait(120)
    finally:
        bot.stop()
    assert code != 0
    assert "Slack rejected SLACK_APP_TOKEN: invalid_auth" in bot.log
    assert "Traceback" not in bot.log and "advisor ready" not in bot.log
    assert sockets.sessions == []
    assert APP_TOKEN not in bot.log
