"""The bot's HTTP surface: the WSGI application gunicorn serves (``bot.serve`` runs it).

Routes: ``POST /slack/events`` (events, slash commands and interactivity, all verified with
the signing secret by Bolt), ``GET /healthz``; in OAuth mode also ``GET /slack/install`` and
``GET /slack/oauth_redirect`` (Bolt's install flow); any other path is 404, another method 405.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from slack_bolt.adapter.wsgi import SlackRequestHandler

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


# --- WSGI ----------------------------------------------------------------------------------


def _respond(start_response, status: str, body: bytes, content_type: str, extra=()) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    start_response(status, headers)
    return [body]


def _not_allowed(start_response, allow: str) -> list[bytes]:
    body = b"method not allowed\n"
    return _respond(
        start_response, "405 Method Not Allowed", body, "text/plain; charset=utf-8", [("Allow", allow)]
    )


def wsgi_app(app) -> Callable[[dict, Callable], Iterable[bytes]]:
    """The WSGI application: Bolt at EVENTS_PATH, a health check, 404 and 405 for the rest."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)
    flow = app.oauth_flow
    oauth_paths = {flow.install_path, flow.redirect_uri_path} if flow is not None else set()
    health = json.dumps({"status": "ok"}).encode()
    text = "text/plain; charset=utf-8"

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = (environ.get("REQUEST_METHOD") or "GET").upper()
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return _not_allowed(start_response, "GET, HEAD")
            body = b"" if method == "HEAD" else health
            return _respond(start_response, "200 OK", body, "application/json")
        if path == EVENTS_PATH:
            if method != "POST":
                return _not_allowed(start_response, "POST")
            return bolt(environ, start_response)
        if path in oauth_paths:
            if method != "GET":
                return _not_allowed(start_response, "GET")
            return bolt(environ, start_response)
        return _respond(start_response, "404 Not Found", b"not found\n", text)

    return application
