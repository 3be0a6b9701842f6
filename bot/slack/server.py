"""The bot's HTTP surface: the WSGI application, and the buffering ASGI front gunicorn serves.

Routes: ``POST /slack/events`` (events, slash commands and interactivity, all verified with
the signing secret), ``GET /healthz``; in OAuth mode also ``GET /slack/install`` and
``GET /slack/oauth_redirect`` (Bolt's install flow); any other path is 404, another method 405.

Before Bolt sees a request: a body over MAX_BODY_BYTES is 413 (Slack's payloads are a few
KB), a bad or missing signature is 401 and one short log line (Bolt's own warning would log
the whole body), a signed body that is not UTF-8 JSON / form data is 400. None of them gets
a traceback.

``buffered_asgi`` is what gunicorn's asyncio worker runs: it reads each request in full on
the event loop (a client trickling bytes holds no thread), then calls the WSGI application
on a thread pool. ``/healthz`` is 503 when the process's health check says so (the
database not writable, queue workers stuck).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from slack_bolt.adapter.wsgi import SlackRequestHandler

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1_000_000
MAX_CLOCK_SKEW_SECONDS = 300  # Slack's advice: refuse requests signed more than 5 minutes away
READ_TIMEOUT_SECONDS = 10.0  # a request body not in after this long is dropped (408)
TEXT = "text/plain; charset=utf-8"

Health = Callable[[], tuple[bool, dict]]


# --- WSGI ----------------------------------------------------------------------------------


def _respond(start_response, status: str, body: bytes, content_type: str, extra=()) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    start_response(status, headers)
    return [body]


def _not_allowed(start_response, allow: str) -> list[bytes]:
    body = b"method not allowed\n"
    return _respond(start_response, "405 Method Not Allowed", body, TEXT, [("Allow", allow)])


def malformed(body: str, content_type: str) -> str | None:
    """Why a signed body is not something Slack sends (None if it parses): not JSON or form
    data, JSON nested deeper than the parser goes (RecursionError), not an object, or an
    event that is not an object (Bolt's own middleware would fail on it before ours runs)."""
    try:
        if "json" in content_type:
            parsed = json.loads(body)
            if not isinstance(parsed, dict):
                return "JSON body is not an object"
            if "event" in parsed and not isinstance(parsed["event"], dict):
                return "event is not an object"
            return None
        form = parse_qs(body, keep_blank_values=True)
        if "payload" in form:
            if not isinstance(json.loads(form["payload"][0]), dict):
                return "payload is not a JSON object"
        return None
    except (ValueError, RecursionError) as exc:
        return f"unreadable body ({type(exc).__name__})"


def _signed(secret: str, raw: bytes, headers: dict) -> bool:
    """Slack's signature (``v0=`` HMAC-SHA256 of ``v0:timestamp:body``), over the raw bytes (a
    body that is not UTF-8 still verifies, then gets its 400), sent within 5 minutes."""
    timestamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def wsgi_app(
    app, *, signing_secret: str | None = None, health: Health | None = None, events: bool = True
) -> Callable[[dict, Callable], Iterable[bytes]]:
    """The WSGI application: Bolt at EVENTS_PATH behind the guards, a health check, 404, 405.

    ``signing_secret``: what requests are verified with (default: the Bolt app's). Without
    one, or with ``events=False`` (Socket Mode's install pages), there is no EVENTS_PATH: a
    request nobody can verify is 404, never handed to Bolt."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)
    flow = app.oauth_flow
    oauth_paths = {flow.install_path, flow.redirect_uri_path} if flow is not None else set()
    secret = signing_secret or getattr(app, "_signing_secret", None)
    serve_events = events and bool(secret)

    def healthz(method: str, start_response) -> list[bytes]:
        if method not in ("GET", "HEAD"):
            return _not_allowed(start_response, "GET, HEAD")
        ok, details = health() if health is not None else (True, {})
        payload = json.dumps({"status": "ok" if ok else "unhealthy", **details}).encode()
        body = b"" if method == "HEAD" else payload
        status = "200 OK" if ok else "503 Service Unavailable"
        return _respond(start_response, status, body, "application/json")

    def events(environ: dict, start_response) -> list[bytes] | Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _respond(start_response, "400 Bad Request", b"bad Content-Length\n", TEXT)
        if length > MAX_BODY_BYTES:
            return _respond(start_response, "413 Content Too Large", b"request body too large\n", TEXT)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if secret and not _signed(secret, raw, headers):
            logger.warning(
                "rejected a request to %s: invalid or missing signature (%d bytes)", EVENTS_PATH, len(raw)
            )
            return _respond(start_response, "401 Unauthorized", b"invalid signature\n", TEXT)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, problem = "", "body is not UTF-8"
        else:
            problem = malformed(body, environ.get("CONTENT_TYPE") or "")
        if problem:
            logger.warning("rejected a signed request to %s: %s (%d bytes)", EVENTS_PATH, problem, len(raw))
            return _respond(start_response, "400 Bad Request", f"{problem}\n".encode(), TEXT)
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return bolt(environ, start_response)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = (environ.get("REQUEST_METHOD") or "GET").upper()
        if path == HEALTH_PATH:
            return healthz(method, start_response)
        if path == EVENTS_PATH and serve_events:
            if method != "POST":
                return _not_allowed(start_response, "POST")
            return events(environ, start_response)
        if path in oauth_paths:
            if method != "GET":
                return _not_allowed(start_response, "GET")
            return bolt(environ, start_response)
        return _respond(start_response, "404 Not Found", b"not found\n", TEXT)

    return application


# --- the buffering ASGI front -----------------------------------------------------------------


def buffered_asgi(
    wsgi: Callable,
    *,
    threads: int,
    on_shutdown: Callable[[], None] | None = None,
    max_body: int = MAX_BODY_BYTES,
    read_timeout: float = READ_TIMEOUT_SECONDS,
):
    """An ASGI application that buffers each request, then runs ``wsgi`` on ``threads`` threads.

    The body is read on the event loop, so slow clients cost a coroutine, not a thread; one
    over ``max_body`` is 413 without reading the rest, one not complete within
    ``read_timeout`` is 408. ``on_shutdown`` runs (on a thread) at the ASGI lifespan's
    shutdown, after gunicorn has stopped accepting and finished the open requests.
    """
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="request")

    async def reply(send, status: int, body: bytes) -> None:
        headers = [(b"content-type", TEXT.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def lifespan(receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if on_shutdown is not None:
                    await asyncio.get_running_loop().run_in_executor(None, on_shutdown)
                executor.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        declared = next((v for k, v in headers if k == "content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            await reply(send, 413, b"request body too large\n")
            return
        body = bytearray()
        try:
            async with asyncio.timeout(read_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    if len(body) > max_body:
                        await reply(send, 413, b"request body too large\n")
                        return
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            await reply(send, 408, b"request body not received in time\n")
            return
        environ = _environ(scope, headers, bytes(body))
        status, response_headers, chunks = await asyncio.get_running_loop().run_in_executor(
            executor, _call_wsgi, wsgi, environ
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers],
            }
        )
        await send({"type": "http.response.body", "body": chunks})

    return app


def _environ(scope: dict, headers: list[tuple[str, str]], body: bytes) -> dict:
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name != "content-length":
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _call_wsgi(wsgi: Callable, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    started: list = []

    def start_response(status: str, headers, exc_info=None):
        started[:] = [int(status.split(" ", 1)[0]), list(headers)]

    try:
        result = wsgi(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        logger.exception("request to %s failed", environ.get("PATH_INFO"))
        return 500, [("Content-Type", TEXT)], b"internal error\n"
    return started[0], started[1], body
