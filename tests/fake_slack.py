"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records every call.

Point the bot at ``fake.url`` through ``SLACK_API_URL``. Each call is recorded with its
method name, parsed body and headers. Tell it how to answer with ``fail`` (a Slack error
such as ``not_in_channel``), ``rate_limit`` (HTTP 429 with Retry-After), ``delay``, ``hold``
(until the test releases it), ``http_error`` or ``drop`` (read the request, then close the
connection without answering); each instruction applies to the next ``times`` calls of that
method. Keyword arguments narrow an instruction to calls whose body has those values
(``channel="C1"``; ``path=`` for a response_url), so a test sharing the fake with others only
ever affects its own calls.
Requests to ``/response_url/<id>`` stand in for a slash command's response_url.

OAuth: ``add_install(code, team_id=..., token=...)`` makes ``oauth.v2.access`` exchange that
code (once) for a bot token of that workspace, with a refresh token when ``expires_in`` is
given (token rotation); ``grant_type=refresh_token`` then swaps a refresh token (once) for a
new token, valid 12 hours. ``auth.test`` answers for each such token with its own workspace, and a token
passed to ``revoke`` gets ``token_revoked`` from every method.

Posted messages are kept like Slack keeps them, from the moment the request arrives (a
``delay`` or a dropped connection happens after Slack has the message): ``conversations.history``
and ``conversations.replies`` return them, with their ``metadata`` when asked for
(``include_all_metadata``), and ``messages_in(channel)`` reads them. A message sent to a
user id lands in that user's DM (``D`` + the id, what ``conversations.open`` answers).
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def wait_until(condition, *, timeout: float = 10.0, what="the condition"):
    """Poll ``condition`` until it returns something truthy (returned), or fail naming ``what``
    (a string, or a function giving one). The one poll loop of the tests: they wait on state."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what() if callable(what) else what}"
            )
        time.sleep(0.01)


# The longest a ``hold`` keeps a call (a test that forgot to release it must not hang a thread).
HOLD_SECONDS = 120

# A refreshed token's lifetime, as Slack gives it (12 hours).
REFRESHED_EXPIRES_IN = 43_200


@dataclass
class Call:
    method: str
    body: dict
    headers: dict
    at: float = field(default_factory=time.monotonic)
    path: str = ""  # the request path (tells response_url/<name> calls apart)
    answer: dict | None = None  # what the fake answered (a posted message's ts, say)


@dataclass
class _Rule:
    kind: str  # "error" | "rate_limit" | "delay" | "hold" | "http_error" | "drop"
    value: object
    times: int
    where: dict = field(default_factory=dict)  # body values (and "path") a call must have

    def matches(self, call: Call) -> bool:
        return all(
            (call.path if key == "path" else call.body.get(key)) == value for key, value in self.where.items()
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (it timed out, or a ``drop`` closed the connection) is not an
        error; anything else is printed as usual. Printing to stderr would land in whatever
        test runs next, e.g. in a CliRunner's output."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _dm(channel: str) -> str:
    """Where a message to ``channel`` lands: a user id means the DM with that user."""
    return f"D{channel}" if channel.startswith(("U", "W")) else channel


class FakeSlack:
    def __init__(self, port: int = 0) -> None:
        self.calls: list[Call] = []
        self._rules: dict[str, list[_Rule]] = {}
        self._lock = threading.Lock()
        self._last_ts = 0.0  # the newest ts handed out
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.installs: dict[str, dict] = {}  # OAuth code -> oauth.v2.access answer
        self.tokens: dict[str, dict] = {}  # bot token -> its auth.test answer
        self.refresh_tokens: dict[str, tuple[str, int]] = {}  # refresh token -> (bot token, expires_in)
        self.revoked: set[str] = set()
        self._refreshes = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.messages: dict[str, list[dict]] = {}  # channel -> messages in the order posted
        # method -> function(body) -> the answer's JSON, for methods a test answers itself
        # (apps.connections.open handing out a fake Socket Mode URL).
        self.answers: dict = {}
        self.server = _Server(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def response_url(self, name: str = "1") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/response_url/{name}"

    # --- instructions ----------------------------------------------------------------
    def fail(self, method: str, error: str, times: int = 1, **where) -> None:
        self._add(method, _Rule("error", error, times, where))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1, **where) -> None:
        self._add(method, _Rule("rate_limit", retry_after, times, where))

    def delay(self, method: str, seconds: float, times: int = 1, **where) -> None:
        self._add(method, _Rule("delay", seconds, times, where))

    def http_error(self, method: str, status: int = 500, times: int = 1, **where) -> None:
        self._add(method, _Rule("http_error", status, times, where))

    def recover(self, method: str) -> None:
        """Forget every rule set for ``method`` (errors, delays...): it answers normally again."""
        with self._lock:
            self._rules.pop(method, None)

    def hold(self, method: str, times: int = 1, **where) -> threading.Event:
        """Keep the next ``times`` calls unanswered until the returned event is set (at most
        HOLD_SECONDS): the caller is stuck in that call, a state a test can count on, where a
        delay is only a guess about timing. Slack has a held message on arrival."""
        release = threading.Event()
        self._add(method, _Rule("hold", release, times, where))
        return release

    def drop(self, method: str, times: int = 1, **where) -> None:
        """Read the request, then close the connection unanswered (Slack may have acted on it)."""
        self._add(method, _Rule("drop", None, times, where))

    # --- OAuth ------------------------------------------------------------------------
    def add_install(
        self,
        code: str,
        *,
        team_id: str,
        token: str,
        bot_user_id: str = "UBOT",
        expires_in: int | None = None,
        installer: str = "UADMIN",
    ) -> None:
        """Let ``oauth.v2.access`` exchange ``code`` (once) for ``token`` in ``team_id``."""
        answer = {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": installer},
            "scope": "app_mentions:read,chat:write,commands",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": bot_user_id,
            "team": {"id": team_id, "name": f"Workspace {team_id}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if expires_in is not None:
            answer["refresh_token"] = f"xoxe-1-{token}"
            answer["expires_in"] = expires_in
            self.refresh_tokens[answer["refresh_token"]] = (token, expires_in)
        self.installs[code] = answer
        self._add_token(token, team_id, bot_user_id)

    def _add_token(self, token: str, team_id: str, bot_user_id: str) -> None:
        self.tokens[token] = {
            "ok": True,
            "user_id": bot_user_id,
            "bot_id": f"B{team_id}",
            "team_id": team_id,
            "team": f"Workspace {team_id}",
            "user": "advisor",
            "url": f"https://{team_id.lower()}.example.slack.com/",
        }

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    def _oauth_access(self, body: dict) -> dict:
        if body.get("grant_type") == "refresh_token":
            with self._lock:
                spent = self.refresh_tokens.pop(body.get("refresh_token") or "", None)
            if spent is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            old, _ = spent
            expires_in = REFRESHED_EXPIRES_IN
            token = f"{re.sub(r'-r[0-9]+$', '', old)}-r{next(self._refreshes)}"
            info = self.tokens[old]
            self._add_token(token, info["team_id"], info["user_id"])
            refresh = f"xoxe-1-{token}"
            self.refresh_tokens[refresh] = (token, expires_in)
            return {
                "ok": True,
                "token_type": "bot",
                "access_token": token,
                "refresh_token": refresh,
                "expires_in": expires_in,
                "team": {"id": info["team_id"]},
            }
        with self._lock:
            answer = self.installs.pop(body.get("code") or "", None)
        return answer or {"ok": False, "error": "invalid_code"}

    def _add(self, method: str, rule: _Rule) -> None:
        with self._lock:
            self._rules.setdefault(method, []).append(rule)

    def _take_rule(self, call: Call) -> _Rule | None:
        """The first instruction for this call, narrowed ones first (used up after ``times``
        calls), or None."""
        with self._lock:
            rules = self._rules.get(call.method) or []
            # A narrowed instruction (channel=...) wins over a broad one (every post slow).
            matching = [r for r in rules if r.matches(call)]
            rule = next((r for r in matching if r.where), matching[0] if matching else None)
            if rule is None:
                return None
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule

    # --- reading what happened ---------------------------------------------------------
    @staticmethod
    def token_of(call: Call) -> str | None:
        """The bearer token a call was made with."""
        auth = next((v for k, v in call.headers.items() if k.lower() == "authorization"), "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else call.body.get("token")

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self) -> list[Call]:
        return self.calls_to("chat.postMessage")

    def messages_in(self, channel: str) -> list[dict]:
        """Messages posted in ``channel`` (a user id: in the DM with that user)."""
        with self._lock:
            return list(self.messages.get(_dm(channel), []))

    def _keep(self, body: dict) -> str:
        """Keep a posted message; its ts."""
        ts = self._new_ts()
        message = {"type": "message", "ts": ts, "text": body.get("text"), "user": "UBOT", "bot_id": "BBOT"}
        for key in ("thread_ts", "metadata", "blocks"):
            if body.get(key):
                message[key] = body[key]
        with self._lock:
            self.messages.setdefault(_dm(body.get("channel") or ""), []).append(message)
        return ts

    def _new_ts(self) -> str:
        """A message ts like Slack's: the time it was posted (conversations.history's ``oldest``
        compares with it), never the same twice."""
        with self._lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def _history(self, method: str, body: dict) -> dict:
        with self._lock:
            kept = list(self.messages.get(body.get("channel") or "", []))
        if method == "conversations.replies":
            parent = body.get("ts")
            found = [m for m in kept if m["ts"] == parent or m.get("thread_ts") == parent]
        else:
            oldest = float(body.get("oldest") or 0)
            found = [m for m in reversed(kept) if not m.get("thread_ts") and float(m["ts"]) > oldest]
        if str(body.get("include_all_metadata")).lower() not in ("true", "1"):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        return {"ok": True, "messages": found, "has_more": False}

    def matching(self, method: str, *, path: str | None = None, **where) -> list[Call]:
        """Calls of ``method`` (at ``path``) whose body has the values in ``where``."""
        return [
            c
            for c in self.calls_to(method)
            if (path is None or c.path == path) and all(c.body.get(k) == v for k, v in where.items())
        ]

    def wait_for_call(
        self, method: str, count: int = 1, timeout: float = 10.0, *, path: str | None = None, **where
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` matching ``path`` / ``where`` arrived."""
        return wait_until(
            lambda: (found := self.matching(method, path=path, **where)) and len(found) >= count and found,
            timeout=timeout,
            what=lambda: (
                f"{count} {method} call(s) with {where or path or 'any body'}, got "
                f"{self.matching(method, path=path, **where)} among {[c.method for c in self.calls]}"
            ),
        )

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until ``count`` calls of ``method`` arrived; return them (raises on timeout)."""
        return self.wait_for_call(method, count, timeout)

    def reply_to(self, name: str, timeout: float = 15.0) -> dict:
        """The body sent to ``response_url(name)`` (waits for it)."""
        return self.wait_for_call("response_url", timeout=timeout, path=f"/response_url/{name}")[0].body

    # --- answers ---------------------------------------------------------------------
    def _answer(self, method: str, body: dict, ts: str | None = None, token: str | None = None) -> dict:
        if method in self.answers:
            return self.answers[method](body)
        if token in self.revoked:
            return {"ok": False, "error": "token_revoked"}
        if method == "oauth.v2.access":
            return self._oauth_access(body)
        if method == "auth.test":
            if token in self.tokens:
                return self.tokens[token]
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "advisor"}
        if method == "chat.postMessage" and ts:
            return {"ok": True, "channel": _dm(body.get("channel") or ""), "ts": ts, "message": {"ts": ts}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, body)
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": _dm(body.get("users") or "")}}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            ts = self._new_ts()
            key = "message_ts" if method == "chat.postEphemeral" else "ts"
            return {"ok": True, "channel": body.get("channel"), key: ts, "message": {"ts": ts}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids)}"
            return {"ok": True, "upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f.get("id")} for f in files]}
        if method == "team.info":
            return {"ok": True, "team": {"id": "T1", "name": "Example Co"}}
        if method == "chat.getPermalink":
            channel, ts = body.get("channel") or "", (body.get("message_ts") or "").replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://fake.slack.com/archives/{channel}/p{ts}",
            }
        if method == "users.info":  # a user's "locale" is answered only when a test set one
            user = body.get("user")
            info = self.users.get(user, {"id": user, "tz": "Europe/Paris", "is_bot": False})
            return {"ok": True, "user": info}
        if method == "conversations.info":
            channel = body.get("channel")
            info = self.channels.get(channel, {"id": channel, "is_member": True, "name": "general"})
            return {"ok": True, "channel": info}
        return {"ok": True}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # slack_sdk reads conversations.history / .replies with GET
                self.do_POST(query=urlparse(self.path).query)

            def do_POST(self, query: str | None = None) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                path = urlparse(self.path).path
                ctype = self.headers.get("Content-Type", "")
                if query is not None:
                    body = {k: v[0] for k, v in parse_qs(query).items()}
                elif "json" in ctype:
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "attachments", "view"):
                        if isinstance(body.get(key), str):
                            try:
                                body[key] = json.loads(body[key])
                            except ValueError:
                                pass
                if path.startswith("/response_url/"):
                    method = "response_url"
                elif "/upload/" in path:  # a file's bytes (files.getUploadURLExternal's URL)
                    method, body = "file_upload", {"file_id": path.rsplit("/", 1)[-1], "content": raw}
                else:
                    method = path.rsplit("/", 1)[-1]
                call = Call(method, body, dict(self.headers), path=path)
                with fake._lock:
                    fake.calls.append(call)
                rule = fake._take_rule(call)
                ts = None
                if method == "chat.postMessage" and (rule is None or rule.kind in ("delay", "hold", "drop")):
                    ts = fake._keep(body)  # Slack has it, whether or not the answer gets back
                if rule and rule.kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if rule and rule.kind == "delay":
                    time.sleep(float(rule.value))
                    rule = None
                if rule and rule.kind == "hold":
                    rule.value.wait(HOLD_SECONDS)
                    rule = None
                if rule and rule.kind == "rate_limit":
                    self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(rule.value)})
                    return
                if rule and rule.kind == "http_error":
                    self._send(int(rule.value), {"ok": False, "error": "fatal_error"})
                    return
                if rule and rule.kind == "error":
                    self._send(200, {"ok": False, "error": rule.value})
                    return
                if method == "response_url":
                    self._send(200, {"ok": True})
                    return
                auth = self.headers.get("Authorization", "")
                token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else body.get("token")
                call.answer = fake._answer(method, body, ts, token)
                self._send(200, call.answer)

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler
