"""Issue 28, items 4, 6 and 9: hostile clients and hostile signed bodies.

Hostile bodies go to the session's real server (``python -m bot serve --http``, gunicorn's
asyncio worker, conftest's ``bot``), signed like Slack signs them: each gets a 4xx or a quiet
200, never a 500, and the server's log holds no traceback. The connection guard
(``bot.httpguard``) is tested on gunicorn's worker running a tiny ASGI app in a subprocess,
with a short header timeout and a small cap, and on the threaded server Socket Mode uses.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from slack_bolt import App

from bot.httpguard import ConnectionGuard, connection_cap, guard_handler, guard_threaded_server
from bot.slack.server import wsgi_app
from bot.text import storable
from tests import fake_slack
from tests.slack_harness import SIGNING_SECRET, event_body, mention

QUOTA = "who should set next year's sales quota?"


def wait_until(condition, timeout=15.0, what="condition"):
    return fake_slack.wait_until(condition, timeout=timeout, what=what)


# --- item 6: hostile signed bodies ------------------------------------------------------------------


def hostile_bodies(channel: str) -> list[tuple[str, str, str]]:
    """(name, body, content type): each signed, none something the bot can use."""
    no_ts = mention(QUOTA, channel=channel)
    del no_ts["ts"]
    nested = '{"type": "event_callback", "event": ' + "[" * 100_000 + "]" * 100_000 + "}"
    junk_view = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"}, "view": "junk"}
    return [
        ("deeply nested JSON", nested, "application/json"),
        ("deeply nested payload", urlencode({"payload": "[" * 100_000}), "application/x-www-form-urlencoded"),
        ("a mention without ts", json.dumps(event_body(no_ts)), "application/json"),
        (
            "an event that is not an object",
            json.dumps({**event_body({}), "event": "junk"}),
            "application/json",
        ),
        ("an event without a type", json.dumps(event_body({"channel": channel})), "application/json"),
        (
            "a junk view_submission",
            urlencode({"payload": json.dumps(junk_view)}),
            "application/x-www-form-urlencoded",
        ),
        (
            "a view_submission without a view",
            urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "U1"}})}),
            "application/x-www-form-urlencoded",
        ),
        (
            "a mention whose text is a list",
            json.dumps(event_body({**mention(QUOTA, channel=channel), "text": []})),
            "application/json",
        ),
    ]


def test_hostile_signed_bodies_get_a_4xx_or_a_quiet_200_and_no_traceback(bot, slack, fake, channel):
    before = len(bot.lines)
    for name, body, content_type in hostile_bodies(channel):
        reply = slack.post(body, content_type)
        assert reply.status == 200 or 400 <= reply.status < 500, (name, reply.status, reply.body)
    assert slack.request("GET", "/healthz").status == 200
    log = "".join(bot.lines[before:])
    assert "Traceback" not in log and " 500 " not in log, log
    assert fake.matching("chat.postMessage", channel=channel) == []


@pytest.mark.parametrize(
    "text", ["\ud800 who should set next year's sales quota?", "who sets\x00 the sales quota?"]
)
def test_a_mention_with_a_lone_surrogate_or_a_nul_is_cleaned_and_answered(
    bot, slack, fake, bot_store, channel, text
):
    before = len(bot.lines)
    body = json.dumps(event_body(mention(text, channel=channel)))  # ensure_ascii: "\\ud800" as JSON sends it
    assert slack.post(body, "application/json").status == 200
    (post,) = fake.wait_for_call("chat.postMessage", 1, 30, channel=channel)
    assert post.body["thread_ts"]
    log = "".join(bot.lines[before:])
    assert "Traceback" not in log, log


def test_storable_text_has_no_lone_surrogate_and_no_nul():
    assert storable("a\ud800b\x00c\U0001f600") == "a\ufffdbc\U0001f600"
    assert storable("plain") == "plain"
    storable("a\udfff").encode("utf-8")  # encodes


# --- item 9: no /slack/events without a signing secret ----------------------------------------------


def bolt_app(secret: str) -> App:
    return App(token="xoxb-not-used", signing_secret=secret, token_verification_enabled=False)


def call(application, method: str, path: str) -> str:
    import io

    statuses = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(b""),
        "CONTENT_LENGTH": "0",
    }
    application(environ, lambda status, headers: statuses.append(status))
    return statuses[0]


def test_without_a_signing_secret_or_in_socket_modes_pages_there_is_no_events_route():
    assert call(wsgi_app(bolt_app("")), "POST", "/slack/events").startswith("404")
    assert call(wsgi_app(bolt_app(SIGNING_SECRET), events=False), "POST", "/slack/events").startswith("404")
    assert call(wsgi_app(bolt_app(SIGNING_SECRET)), "POST", "/slack/events").startswith("401")


# --- item 4: hostile clients ---------------------------------------------------------------------------


def test_the_cap_leaves_room_below_the_file_limit():
    assert connection_cap(1000, file_limit=1024) == 1024 - 450
    assert connection_cap(1000, file_limit=65536) == 1000


class Conn:
    def __init__(self):
        self.closed = False

    def evict(self):
        self.closed = True


def test_at_the_cap_the_oldest_slow_client_yields_and_busy_connections_are_refused():
    guard = ConnectionGuard(cap=2)
    slow, ready, new = Conn(), Conn(), Conn()
    assert guard.admit(slow) and guard.admit(ready)
    guard.serving(ready)
    assert guard.admit(new) and slow.closed and not ready.closed  # the slow one made room
    guard.serving(new)
    assert not guard.admit(Conn()) and guard.refused == 1  # everyone is being served: 503
    guard.release(ready)
    assert guard.admit(Conn()) and len(guard) == 2


APP = textwrap.dedent(
    """
    import asyncio, pathlib, sys, time
    from gunicorn.app.base import BaseApplication
    from bot.httpguard import guarded_asgi_worker

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/block":  # the event loop blocked until the test lets it go
            flags = pathlib.Path(sys.argv[3])
            (flags / "blocked").touch()
            while not (flags / "go").exists():
                time.sleep(0.01)
        if scope["path"] == "/hold":  # a request being served until its client goes
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"holding\\n", "more_body": True})
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]})
        await send({"type": "http.response.body", "body": b"ok\\n"})

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": "127.0.0.1:0", "workers": 1, "worker_class": guarded_asgi_worker(
                    header_timeout=float(sys.argv[1]), max_connections=int(sys.argv[2])),
                "worker_connections": 1000, "loglevel": "info", "errorlog": "-",
                "control_socket_disable": True,
            }.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()
    """
)


@pytest.fixture
def guarded_server(tmp_path):
    """gunicorn's asyncio worker behind the guard: header timeout 0.5 s, at most 3 connections."""
    script = tmp_path / "app.py"
    script.write_text(APP)
    process = subprocess.Popen(
        [sys.executable, str(script), "0.5", "3", str(tmp_path)],
        cwd=os.getcwd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        start_new_session=True,
    )
    port: list[int] = []
    lines: list[str] = []
    found = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if match:
                port.append(int(match.group(1)))
            if "Booting worker" in line:
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    found.wait(60)
    assert port, "".join(lines)
    yield port[0], lines
    (tmp_path / "go").touch()
    process.terminate()
    process.wait(30)


def http_get(port: int, path: str = "/") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_gunicorns_worker_closes_slow_headers_with_408_and_caps_connections_with_503(guarded_server):
    port, _lines = guarded_server
    wait_until(lambda: http_get(port).startswith(b"HTTP/1.1 200"), what="the worker serving")
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    assert read_all(slow).startswith(b"HTTP/1.1 408")  # the server closed it
    slow.close()

    # Three slow clients fill the cap: a ready request still gets through (the oldest yields).
    trickle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
    for sock in trickle:
        sock.sendall(b"GET / HTT")
    assert http_get(port).startswith(b"HTTP/1.1 200")

    for sock in trickle:
        sock.close()

    # Three requests being served fill it: the next connection is answered 503, not dropped.
    held = []
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"holding" not in received:  # being served
            received += sock.recv(1024)
        held.append(sock)
    assert http_get(port).startswith(b"HTTP/1.1 503")
    for sock in held:
        sock.close()
    wait_until(lambda: http_get(port).startswith(b"HTTP/1.1 200"), what="serving again")


def accept_queue(port: int) -> int:
    """Connections the kernel holds for the listening socket on ``port``, not yet accepted."""
    with open("/proc/net/tcp") as table:
        for row in list(table)[1:]:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"no listening socket on port {port}")


def test_gunicorns_worker_keeps_a_long_accept_queue(guarded_server, tmp_path):
    """While the event loop is busy, connections wait in the kernel's accept queue. asyncio
    shrinks it to 100, and a connection arriving at a full queue has its SYN dropped (resent
    after 1 s, then 3 s: a health probe's multi-second waits under a trickle); the worker keeps
    gunicorn's 2,048 (bot.httpguard.full_listen_queue)."""
    port, _lines = guarded_server
    wait_until(lambda: http_get(port).startswith(b"HTTP/1.1 200"), what="the worker serving")
    blocker = socket.create_connection(("127.0.0.1", port), timeout=30)
    blocker.sendall(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_until(lambda: (tmp_path / "blocked").exists(), what="the event loop blocked")
    # The kernel caps any listen queue at net.core.somaxconn (4,096 on current kernels).
    with open("/proc/sys/net/core/somaxconn") as limit:
        queued = min(300, int(limit.read()))
    waiting = []
    try:
        for _ in range(queued):
            # A first byte each: the worker's socket defers accepting a silent connection
            # (TCP_DEFER_ACCEPT), which then waits before the accept queue, not in it.
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"G")
            waiting.append(sock)
        wait_until(
            lambda: accept_queue(port) >= queued,
            what=lambda: f"{queued} connections queued, the kernel holds {accept_queue(port)}",
        )
    finally:
        (tmp_path / "go").touch()
        for sock in waiting:
            sock.close()
        blocker.close()
    wait_until(lambda: http_get(port).startswith(b"HTTP/1.1 200"), what="serving again")


class Hello(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def threaded_server():
    servers = []

    def start(header_timeout: float, cap: int):
        server_class = guard_threaded_server(ThreadingHTTPServer, header_timeout=header_timeout)
        server_class.guard = ConnectionGuard(cap)
        server = server_class(("127.0.0.1", 0), guard_handler(Hello))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_threaded_servers_time_out_headers(threaded_server):
    server = threaded_server(0.3, 2)
    slow = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=30)
    slow.sendall(b"GET / HTTP/1.1\r\n")
    assert read_all(slow) == b""  # timed out and closed by the server
    slow.close()
    wait_until(lambda: len(server.guard) == 0, what="the slow client released")


def test_at_the_threaded_servers_cap_a_slow_client_yields(threaded_server):
    server = threaded_server(30.0, 2)
    port = server.server_address[1]
    trickle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(2)]
    for sock in trickle:
        sock.sendall(b"GET /")
    wait_until(lambda: len(server.guard) == 2, what="two slow clients admitted")
    assert http_get(port).startswith(b"HTTP/1.0 200")  # the oldest slow one yielded
    assert server.guard.evicted == 1 and read_all(trickle[0]) == b""
    for sock in trickle:
        sock.close()


def test_socket_modes_health_server_is_guarded():
    from bot.slack.socket_mode import HealthServer

    class Runner:
        def state(self):
            return {"connected": True}

    health = HealthServer(Runner(), "127.0.0.1", 0).start()
    try:
        assert hasattr(health.server, "guard") and health.server.guard.cap >= 8
        assert http_get(health.address[1], "/health").startswith(b"HTTP/1.0 200")
    finally:
        health.stop()


def test_over_http_healthz_can_have_a_port_of_its_own():
    """``serve --http --health-port``: /healthz alone, on threads of its own and guarded, so a
    platform's probe does not queue behind the main port's clients."""
    from types import SimpleNamespace

    from bot.serve import serve_health

    state = {"health": (True, {"workers": 4})}
    runtime = SimpleNamespace(app=bolt_app(SIGNING_SECRET), health=lambda: state["health"])
    server = serve_health(runtime, "127.0.0.1", 0)
    try:
        port = server.server_address[1]
        reply = http_get(port, "/healthz")
        assert reply.startswith(b"HTTP/1.0 200") and b'"workers": 4' in reply
        assert http_get(port, "/slack/events").startswith(b"HTTP/1.0 404")  # nothing else there
        assert server.guard.cap >= 8  # a header timeout and a connection cap, like every port
        state["health"] = (False, {"problems": ["database not writable"]})
        assert http_get(port, "/healthz").startswith(b"HTTP/1.0 503")
    finally:
        server.shutdown()
        server.server_close()
