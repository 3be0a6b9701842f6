"""Hostile clients cannot take the HTTP servers down: a header-read timeout and a cap on open
connections below the file limit, for gunicorn's asyncio worker and for the small threaded
servers (Socket Mode's health and install pages, ``serve --http --health-port``).

A client that opens a connection and trickles its request headers (or sends none) holds a file
descriptor. A thousand of them used to exhaust a 1,024 file limit: /healthz and Slack's signed
events timed out and asyncio logged "Too many open files" on every accept. Now:

- headers not complete ``HEADER_TIMEOUT_SECONDS`` after the connection opened (or after the
  previous response on a kept-alive one) close the connection with a 408;
- at most ``connection_cap()`` connections are open, below the file limit with room for the
  database pool, Slack's clients and the model's files. A new connection at the cap first
  evicts the oldest connection still waiting for its headers (a slow client yields to one that
  is ready, so /healthz keeps answering under a trickle); only when every open connection is a
  request being served is the new one answered 503 and closed;
- the kernel keeps gunicorn's full accept queue (``full_listen_queue``), so a connection is
  never dropped for a queue that asyncio shortened.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import threading
from collections import OrderedDict

logger = logging.getLogger(__name__)

HEADER_TIMEOUT_SECONDS = 10.0
# A connection that has sent nothing is accepted after this long anyway (the kernel rounds it
# up to its SYN-ACK retransmission times: about 1 s, then 3 s).
DEFER_ACCEPT_SECONDS = 1
# File descriptors kept free of client connections: the database pool (up to ~40 connections
# with its overflow, three files each on SQLite: database, WAL, shared memory), Slack Web API
# and Socket Mode sockets, the model's and index's files, logs, pipes; and the accept loop's
# overshoot: asyncio accepts up to 100 connections a turn of the loop, and both they and the
# evicted ones hold a descriptor for a turn or two before the guard sees or closes them
# (measured: 300 still let "Too many open files" through under 1,100 reconnecting clients).
RESERVED_FDS = 450
MAX_CONNECTIONS = 1000
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 26\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many open connections\n"
)
TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 33\r\nConnection: close\r\n\r\nrequest headers not sent in time\n"
)


def connection_cap(requested: int = MAX_CONNECTIONS, file_limit: int | None = None) -> int:
    """Open connections allowed: ``requested``, but at most the file limit less RESERVED_FDS."""
    if file_limit is None:
        file_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if file_limit == resource.RLIM_INFINITY or file_limit <= 0:
        return requested
    return min(requested, max(8, file_limit - RESERVED_FDS))


class ConnectionGuard:
    """Which connections are open and which still wait for their headers; thread-safe.

    A connection is any object with an ``evict()`` method (closing it from another thread or
    the event loop must be safe). Every operation is O(1): under a trickle each new
    connection at the cap evicts one (1,300-2,500 a second measured), and a scan of the open
    connections on each would cost the event loop time the ready clients wait for."""

    def __init__(self, cap: int):
        self.cap = cap
        self._lock = threading.Lock()
        self._open: set[object] = set()
        # Those waiting for their headers, oldest first (admitted, or kept alive, earliest).
        self._waiting: OrderedDict[object, None] = OrderedDict()
        self.refused = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection) -> bool:
        """Take ``connection`` (waiting for its headers), evicting the oldest waiting one at the
        cap; False when every open connection is being served (answer 503 and close)."""
        victim = None
        with self._lock:
            if len(self._open) >= self.cap:
                if not self._waiting:
                    self.refused += 1
                    return False
                victim, _ = self._waiting.popitem(last=False)
                self._open.discard(victim)
                self.evicted += 1
            self._open.add(connection)
            self._waiting[connection] = None
        if victim is not None:
            victim.evict()
        return True

    def serving(self, connection) -> None:
        """``connection``'s headers are in: it is no longer evictable."""
        with self._lock:
            self._waiting.pop(connection, None)

    def waiting(self, connection) -> None:
        """``connection`` waits for another request's headers (kept alive): evictable again,
        as the newest."""
        with self._lock:
            if connection in self._open:
                self._waiting.pop(connection, None)
                self._waiting[connection] = None

    def release(self, connection) -> None:
        with self._lock:
            self._open.discard(connection)
            self._waiting.pop(connection, None)


# --- gunicorn's asyncio worker -------------------------------------------------------------


def guarded_asgi_worker(
    *, header_timeout: float = HEADER_TIMEOUT_SECONDS, max_connections: int = MAX_CONNECTIONS
):
    """gunicorn's ASGI worker class with the header timeout and the connection cap."""
    from gunicorn.asgi.protocol import ASGIProtocol
    from gunicorn.workers import gasgi

    class GuardedProtocol(ASGIProtocol):
        def __init__(self, worker):
            super().__init__(worker)
            self._guard: ConnectionGuard = worker.connection_guard
            self._refused = False
            self._header_timer = None

        def connection_made(self, transport):
            if not self._guard.admit(self):
                # 503, then our side closed; what the client sends is read and dropped until it
                # closes too (closing with its request unread would reset the connection, and
                # the reset can destroy the 503 before the client reads it), for 1 s at most.
                self._refused = True
                self.transport = transport
                transport.write(BUSY)
                transport.write_eof()
                self.worker.loop.call_later(1.0, transport.close)
                return
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data):
            if not self._refused:
                super().data_received(data)

        def eof_received(self):
            if self._refused:
                self.transport.close()
                return False
            return super().eof_received()

        def connection_lost(self, exc):
            if self._refused:
                return  # never counted by gunicorn (connection_made did not run)
            self._guard.release(self)
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _on_headers_complete(self):
            self._cancel_header_timer()
            self._guard.serving(self)
            return super()._on_headers_complete()

        def _arm_keepalive_timer(self):
            super()._arm_keepalive_timer()
            self._guard.waiting(self)
            self._arm_header_timer()

        def _arm_header_timer(self):
            self._cancel_header_timer()
            self._header_timer = self.worker.loop.call_later(header_timeout, self.close_slow)

        def _cancel_header_timer(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _off_loop(self, method) -> bool:
            """True (and ``method`` rescheduled on the worker's loop) when called from another
            thread: the transport may only be touched on its loop."""
            loop = self.worker.loop
            try:
                if loop is asyncio.get_running_loop():
                    return False
            except RuntimeError:  # no loop runs on this thread
                pass
            loop.call_soon_threadsafe(method)
            return True

        def close_slow(self):
            """Headers not in time: 408, then close (on the loop)."""
            if self._off_loop(self.close_slow):
                return
            if self._closed or self.transport is None:
                return
            self.transport.write(TOO_SLOW)
            self._keepalive_timeout()  # gunicorn's own close-and-wake of an idle connection

        def evict(self):
            """Made room for a ready client at the cap: dropped at once (a reset costs the
            least; a client that trickles has no answer coming)."""
            if self._off_loop(self.evict):
                return
            if not self._closed and self.transport is not None:
                self.transport.abort()

    class GuardedASGIWorker(gasgi.ASGIWorker):
        def init_process(self):
            cap = connection_cap(min(max_connections, self.cfg.worker_connections))
            self.connection_guard = ConnectionGuard(cap)
            # gasgi's server factory names ASGIProtocol; this process (the forked worker) uses ours.
            gasgi.ASGIProtocol = GuardedProtocol
            super().init_process()

        def _setup_event_loop(self):
            super()._setup_event_loop()
            self.loop.create_server = full_listen_queue(self.loop.create_server, self.cfg.backlog)
            # At the cap, a connection whose request head is not in is closed before asyncio
            # builds anything for it (bot.acceptguard). asyncio's selector loop only (uvloop,
            # if gunicorn picked it, accepts in C).
            if hasattr(self.loop, "_accept_connection2"):
                from .acceptguard import AcceptTriage

                self.accept_triage = AcceptTriage(self.loop, self.connection_guard).install()

    return GuardedASGIWorker


def full_listen_queue(create_server, backlog: int):
    """``loop.create_server`` whose listening socket keeps a ``backlog``-long accept queue.

    asyncio's ``create_server(sock=...)`` calls ``listen(100)`` on gunicorn's socket, shrinking
    the kernel's queue of connections waiting to be accepted from gunicorn's 2,048 to 100.
    Under a trickle, evicted clients reconnect at once and fill 100 places; a health probe's
    SYN that finds the queue full is dropped and sent again by its kernel after 1 s, then 3 s
    (measured with scripts/slow_clients.py: the kernel's ListenOverflows counter grew with the
    probes' worst times). Waiting connections hold no file descriptor, so a long queue costs
    only kernel memory; asyncio still accepts at most 100 a turn (its ``backlog`` argument),
    which keeps the accept overshoot that RESERVED_FDS allows for."""

    async def create(*args, **kwargs):
        server = await create_server(*args, **kwargs)
        sock = kwargs.get("sock")
        if sock is not None:  # listen() again on a listening socket only resizes its queue
            sock.listen(backlog)
            defer_accept(sock)
        return server

    return create


def defer_accept(sock: socket.socket, seconds: int = DEFER_ACCEPT_SECONDS) -> None:
    """Linux's ``TCP_DEFER_ACCEPT``: a connection is handed to ``accept`` once its first bytes
    are in (or after about ``seconds`` without any), not when its handshake completes.

    A client that connects and sends nothing then waits in the kernel, holding no descriptor
    and costing the event loop nothing; a health probe or Slack's POST, which send at once,
    are accepted with their request in, so the accept triage (bot.acceptguard) never has to
    guess whether an empty connection's request is on its way. Under 1,100 reconnecting
    slow-header clients this is most of the triage's gain (docs/reliability.md)."""
    option = getattr(socket, "TCP_DEFER_ACCEPT", None)
    if option is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, seconds)
        except OSError:  # not a TCP socket after all: nothing to defer
            pass


# --- the threaded servers (Socket Mode's health endpoint, OAuth's install pages) -----------------


# The guarded threaded servers' open sockets, each with its guard's handle (a socket takes no
# attributes of ours).
_connections: dict[socket.socket, _ThreadedConnection] = {}
_connections_lock = threading.Lock()


class _ThreadedConnection:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def evict(self) -> None:
        try:  # wakes the handler's blocked read with EOF; its thread closes the socket
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def guard_threaded_server(
    server_class: type, *, header_timeout: float = HEADER_TIMEOUT_SECONDS, max_connections: int = 200
) -> type:
    """``server_class`` (a ``socketserver.ThreadingMixIn`` HTTP server) with the connection cap:
    a connection over it is answered 503 on the accepting thread, no thread started. Pair it
    with ``guard_handler`` for the header timeout and eviction."""

    class Guarded(server_class):
        daemon_threads = True
        guard = ConnectionGuard(connection_cap(max_connections))
        header_seconds = header_timeout

        def process_request(self, request, client_address):
            connection = _ThreadedConnection(request)
            if not self.guard.admit(connection):
                try:  # 503; the request read (if it is in) so the close does not reset it away
                    request.sendall(BUSY)
                    request.shutdown(socket.SHUT_WR)
                    request.setblocking(False)
                    request.recv(65536)
                except OSError:
                    pass
                request.close()
                return
            with _connections_lock:
                _connections[request] = connection
            super().process_request(request, client_address)

        def close_request(self, request):
            with _connections_lock:
                connection = _connections.pop(request, None)
            if connection is not None:
                self.guard.release(connection)
            super().close_request(request)

    Guarded.__name__ = f"Guarded{server_class.__name__}"
    return Guarded


def guard_handler(handler_class: type) -> type:
    """``handler_class`` (a ``BaseHTTPRequestHandler``) reading with the server's header timeout,
    telling the guard when its headers are in."""

    class Guarded(handler_class):
        def setup(self):
            self.timeout = getattr(self.server, "header_seconds", HEADER_TIMEOUT_SECONDS)
            super().setup()

        def parse_request(self):
            parsed = super().parse_request()
            with _connections_lock:
                connection = _connections.get(self.request)
            guard: ConnectionGuard | None = getattr(self.server, "guard", None)
            if connection is not None and guard is not None:
                guard.serving(connection)
            return parsed

    Guarded.__name__ = f"Guarded{handler_class.__name__}"
    return Guarded


def start_wsgi_server(application, host: str, port: int, *, name: str, log_request=None):
    """``application`` served on ``host:port`` by threads (one a connection) behind the guard,
    from a thread named ``name``; the server (``shutdown()`` stops it). Each request line goes
    to ``log_request`` if given, else nowhere."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Handler(WSGIRequestHandler):
        def log_message(self, format, *args) -> None:
            if log_request is not None:
                log_request(format % args)

    server = make_server(
        host,
        port,
        application,
        server_class=guard_threaded_server(Server),
        handler_class=guard_handler(Handler),
    )
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server
