"""Driving the bot's real HTTP server like Slack does: signed requests, a server subprocess.

Used by tests/test_slack_*.py and scripts/load_slack.py. ``BotServer`` starts
``python -m bot serve --http --port 0`` pointed at a fake Slack, waits for its "ready" line
and reads the port from it. ``SlackSender`` signs requests exactly the way Slack does
(``v0=`` + HMAC-SHA256 of ``v0:timestamp:body`` with the signing secret).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlparse

from bot.slack import blocks as block_kit
from tests.helpers import clean_env

REPO = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token-that-must-never-be-logged"
TEAM = "T1"
BOT_USER = "UBOT"  # what the fake Slack's auth.test answers
_READY = re.compile(r"advisor ready: serving Slack at http://([\d.]+):(\d+)/slack/events")
_ids = itertools.count(1)


def sign(secret: str, body: str, timestamp: str) -> str:
    """Slack's request signature for ``body`` sent at ``timestamp``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def unique_id(prefix: str) -> str:
    return f"{prefix}{os.getpid()}X{next(_ids)}"


_last_ts = 0.0
_ts_lock = threading.Lock()


def message_ts() -> str:
    """A Slack message ts for now, never the same twice in this process."""
    global _last_ts
    with _ts_lock:
        _last_ts = max(time.time(), _last_ts + 0.000001)
        return f"{_last_ts:.6f}"


# --- payloads ------------------------------------------------------------------------------


def event_body(event: dict, *, event_id: str | None = None, team: str = TEAM) -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or unique_id("Ev"),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
    }


def mention(
    text: str, *, channel: str = "C1", user: str = "U1", ts: str | None = None, thread_ts: str | None = None
) -> dict:
    ts = ts or message_ts()
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(
    text: str,
    *,
    channel: str = "C1",
    user: str = "U1",
    channel_type: str = "channel",
    ts: str | None = None,
    thread_ts: str | None = None,
    **extra,
) -> dict:
    ts = ts or message_ts()
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def command_form(text: str, response_url: str, *, channel: str = "C1", user: str = "U1") -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "example",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": "someone",
        "command": "/advisor",
        "text": text,
        "api_app_id": "A1",
        "response_url": response_url,
        "trigger_id": unique_id("trigger."),
    }


def block_action(
    action: dict,
    *,
    response_url: str,
    channel: str = "C1",
    user: str = "U1",
    message_ts: str = "1700000001.000100",
    thread_ts: str | None = None,
    ephemeral: bool = False,
) -> dict:
    container = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    body = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A1",
        "container": container,
        "channel": {"id": channel, "name": "general"},
        "trigger_id": unique_id("trigger."),
        "response_url": response_url,
        "actions": [{"block_id": "answer_actions", "action_ts": message_ts, **action}],
    }
    if not ephemeral:
        body["message"] = {"type": "message", "ts": message_ts, "user": BOT_USER, "bot_id": "BBOT"}
        if thread_ts:
            body["message"]["thread_ts"] = thread_ts
    return body


def vote_of(blocks: list[dict], helpful: bool = True) -> dict:
    """A click on the card's feedback buttons, as a block_actions ``action``."""
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "context_actions" else []:
            if element.get("type") == "feedback_buttons":
                side = element["positive_button" if helpful else "negative_button"]
                return {"type": "feedback_buttons", "action_id": element["action_id"], "value": side["value"]}
    raise AssertionError(f"no vote control in {blocks}")


def source_text(blocks: list[dict]) -> str:
    """The card's source line (the section heading and the link under the quote)."""
    for block in blocks:
        if str(block.get("block_id", "")).split(".")[0] in ("source", "tip_source"):  # ".xyz": updated
            return block["elements"][0]["text"]
    raise AssertionError(f"no source line in {blocks}")


def button_of(blocks: list[dict], action_id: str) -> dict:
    """The button ``action_id`` in posted blocks (in a row of buttons, or beside a section's
    text), as a block_actions ``action``."""
    for block in blocks:
        elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
        elements += [block["accessory"]] if block.get("accessory") else []
        for element in elements:
            if element.get("action_id") == action_id:
                return {"type": "button", "action_id": action_id, "value": element["value"]}
    raise AssertionError(f"no {action_id} button in {blocks}")


# --- what reached Slack ----------------------------------------------------------------------


# Slack markup that would ping or link if user text were echoed raw.
RAW_MARKUP = ["<!channel", "<!here", "<!subteam", "<@U1", "<https://evil", "|x>"]


def all_texts(message: dict) -> list[str]:
    """Every string in a message's text and blocks (mrkdwn, plain_text, values)."""
    found = [message.get("text") or ""]

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    walk(message.get("view") or {})
    return found


def assert_inert(message: dict) -> None:
    """No Slack control sequence survives anywhere people can see; no link_names, no parse."""
    for text in all_texts(message):
        for raw in RAW_MARKUP:
            assert raw not in text, f"{raw!r} reached Slack unescaped in {text!r}"
    assert "link_names" not in message and "parse" not in message


def assert_within_limits(message: dict) -> None:
    assert message["text"].strip(), "every message needs a plain text fallback"
    assert len(message["text"]) <= block_kit.MAX_FALLBACK_TEXT
    assert len(message["blocks"]) <= block_kit.MAX_BLOCKS
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= block_kit.MAX_SECTION_TEXT
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["value"]) <= block_kit.MAX_BUTTON_VALUE
                assert len(element["text"]["text"]) <= 75
            if element.get("type") == "mrkdwn":
                assert len(element["text"]) <= block_kit.MAX_SECTION_TEXT
            if element.get("type") == "feedback_buttons":
                for side in ("positive_button", "negative_button"):
                    assert len(element[side]["value"]) <= block_kit.MAX_BUTTON_VALUE
                    assert len(element[side]["text"]["text"]) <= 75
    assert block_kit.message_size(message) <= block_kit.MESSAGE_BUDGET < 12_000


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: str
    headers: http.client.HTTPMessage  # case-insensitive, like HTTP header names
    seconds: float


class SlackSender:
    """Sends requests to the bot's /slack/events, signed like Slack signs them."""

    def __init__(self, base_url: str, secret: str = SIGNING_SECRET):
        parsed = urlparse(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.secret = secret

    def request(
        self, method: str, path: str, body: str = "", headers: dict | None = None, timeout: float = 30
    ) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body.encode(), headers=headers or {})
            response = connection.getresponse()
            data = response.read().decode()
            return Reply(response.status, data, response.headers, time.monotonic() - started)
        finally:
            connection.close()

    def signed_headers(self, body: str, content_type: str, *, timestamp: int | None = None) -> dict:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(self.secret, body, ts),
        }

    def post(self, body: str, content_type: str, *, headers: dict | None = None, **kw) -> Reply:
        all_headers = {**self.signed_headers(body, content_type, timestamp=kw.pop("timestamp", None))}
        all_headers.update(headers or {})
        return self.request("POST", "/slack/events", body, all_headers, **kw)

    def event(self, body: dict, *, retry: int = 0, **kw) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self.post(json.dumps(body), "application/json", headers=headers, **kw)

    def command(self, form: dict, **kw) -> Reply:
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def interaction(self, payload: dict, **kw) -> Reply:
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw
        )


# --- the server process ----------------------------------------------------------------------


def bot_env(fake_slack_url: str, data_dir: Path, **overrides: str) -> dict:
    env = clean_env()
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack_url,
        ADVISOR_DATA_DIR=str(data_dir),
        ADVISOR_RUN_SCHEDULER="false",
        ADVISOR_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class BotServer:
    """``python -m bot serve --http`` on a free port, its output collected line by line."""

    def __init__(self, env: dict, *, args: tuple[str, ...] = (), module: str = "bot", preexec_fn=None):
        """``module``: what ``python -m`` runs (tests.stall_bot: the bot, lease times shortened);
        ``preexec_fn`` runs in the child before it starts (e.g. a file limit)."""
        self.env = env
        self.preexec_fn = preexec_fn
        self.args = args
        self.module = module
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def start(self, timeout: float = 180) -> BotServer:
        command = [sys.executable, "-m", self.module, "serve", "--http", "--host", "127.0.0.1", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, *self.args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill_group() stops master and worker
            preexec_fn=self.preexec_fn,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or not self.url:
            self.stop()
            raise AssertionError(f"bot did not become ready in {timeout}s:\n{self.log}")
        return self

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)
            match = _READY.search(line)
            if match and not self.url:
                self.url = f"http://{match.group(1)}:{match.group(2)}"
                self._ready.set()
        self._ready.set()  # the process ended

    def sender(self) -> SlackSender:
        return SlackSender(self.url)

    def kill_group(self) -> int | None:
        """SIGKILL the whole bot (gunicorn's master and its worker) at once, like a lost machine."""
        if self.process is None:
            return None
        os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(10)

    def wait_exit(self, timeout: float = 40) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> int | None:
        """Stop the process; afterwards ``log`` holds everything it wrote."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._reader is not None:
            self._reader.join(10)  # the rest of the pipe, up to its end
        return self.process.returncode


class WSGIBot:
    """The bot's WSGI application (``bot.slack.server.wsgi_app``) behind a real HTTP server in
    this process, on a free port: for tests that give the app their own settings and database
    (OAuth mode, a fresh question log) without starting a process."""

    def __init__(self, app, workers=None):
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from bot.slack.server import wsgi_app

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args) -> None:
                pass

        self.server = make_server("127.0.0.1", 0, wsgi_app(app), server_class=Server, handler_class=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.workers = workers

    @classmethod
    def answering(cls, settings, advisor, store) -> WSGIBot:
        """The app composed as ``bot.serve.Runtime`` composes it (a job queue on ``store``, its
        workers, each team's client for the mode), not yet started."""
        from bot.slack.app import create_app
        from bot.slack.jobs import JobWorkers
        from bot.slack.queue import JobQueue
        from bot.slack.workspaces import workspace_clients

        queue = JobQueue(store)
        clients = workspace_clients(settings, store.engine)
        app = create_app(settings, advisor, store, queue, clients=clients)
        return cls(app, JobWorkers(queue, clients, threads=4))

    def start(self) -> WSGIBot:
        if self.workers is not None:
            self.workers.start()
        self._thread.start()
        return self

    def sender(self) -> SlackSender:
        return SlackSender(self.url)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.workers is not None:
            self.workers.drain(10)
