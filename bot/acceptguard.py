"""Triage at accept: at the connection cap, a connection whose request head is not all in is
closed before asyncio builds anything for it (bot/httpguard.py's asyncio worker).

Under a flood of slow-header clients that reconnect as soon as they are closed, the server sits
at its connection cap and every new connection used to cost the event loop a task, a transport,
a protocol, gunicorn's parser, and the eviction of an older one (1,300-2,500 a second): the
loop was saturated and a health probe waited behind hundreds of such connections in the
kernel's accept queue (0.6 s median, 1.3-1.8 s worst under 1,100 clients, scripts/slow_clients.py).

Here the accept loop looks at each new connection's first bytes (``MSG_PEEK``, nothing read)
while the server is at the cap:

- the request head is complete (a health probe, Slack's signed POST: one send each): handed to
  asyncio as before, and the guard evicts the oldest connection still waiting for its headers;
- bytes but no end of head, or the client already gone: closed at once (a reset), no transport;
- nothing yet: parked, at most ``PARK_MAX`` of them and for ``PARK_SECONDS``, with a reader on
  the socket; when its bytes arrive it is triaged again, and the oldest parked one is closed to
  make room. A client whose request is on its way is not refused for arriving a moment early.

Below the cap (and over TLS) every connection is handed to asyncio unchanged (the header
timeout then applies).
It replaces asyncio's private ``_accept_connection`` on the worker's loop (same signature, same
handling of "too many open files": the listening socket is left alone for a second) and hands
admitted connections to its private ``_accept_connection2``, so the server still tracks them.
"""

from __future__ import annotations

import errno
import socket
import time
from collections import OrderedDict

PARK_MAX = 64
PARK_SECONDS = 1.0
PEEK_BYTES = 8192
HEAD_END = b"\r\n\r\n"
ACCEPT_RETRY_SECONDS = 1.0  # asyncio's own ACCEPT_RETRY_DELAY
OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def head_state(conn: socket.socket) -> str:
    """``ready`` (the request head is in), ``partial`` (bytes, no end of head), ``gone`` (the
    client closed or reset) or ``empty`` (nothing yet), without consuming anything."""
    try:
        head = conn.recv(PEEK_BYTES, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return "empty"
    except OSError:
        return "gone"
    if not head:
        return "gone"
    return "ready" if HEAD_END in head or len(head) >= PEEK_BYTES else "partial"


class AcceptTriage:
    """The accept loop of one asyncio event loop, in front of a ``ConnectionGuard``."""

    def __init__(self, loop, guard, *, park_max: int = PARK_MAX, park_seconds: float = PARK_SECONDS):
        self.loop = loop
        self.guard = guard
        self.park_max = park_max
        self.park_seconds = park_seconds
        self.pending = 0  # handed to asyncio, protocol not yet counted by the guard
        self.parked: OrderedDict[socket.socket, tuple] = OrderedDict()
        self.dropped = 0
        self._sweep = None

    def install(self) -> AcceptTriage:
        """Accept through ``self.accept`` from now on (servers created after this call)."""
        self.loop._accept_connection = self.accept
        return self

    def at_cap(self) -> bool:
        return len(self.guard) + self.pending >= self.guard.cap

    def accept(self, protocol_factory, sock, sslcontext=None, server=None, backlog=100, *timeouts) -> None:
        """asyncio's ``_accept_connection``: up to ``backlog`` connections this turn."""
        serving = (protocol_factory, sslcontext, server, timeouts)
        for _ in range(backlog):
            try:
                conn, addr = sock.accept()
                conn.setblocking(False)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in OUT_OF_RESOURCES:
                    raise  # the event loop logs and ignores it
                # Linux keeps reporting the socket readable: leave it a second, as asyncio does.
                self.loop.call_exception_handler(
                    {"message": "socket.accept() out of system resource", "exception": exc}
                )
                self.loop.remove_reader(sock.fileno())
                self.loop.call_later(
                    ACCEPT_RETRY_SECONDS,
                    self.loop._start_serving,
                    protocol_factory,
                    sock,
                    sslcontext,
                    server,
                    backlog,
                    *timeouts,
                )
                return
            # Over TLS the first bytes are a handshake, not a request head: no triage there.
            if sslcontext is not None or not self.at_cap():
                self._hand(conn, addr, serving)
                continue
            state = head_state(conn)
            if state == "ready":
                self._hand(conn, addr, serving)
            elif state == "empty":
                self._park(conn, addr, serving)
            else:
                self._drop(conn)

    def _hand(self, conn: socket.socket, addr, serving: tuple) -> None:
        protocol_factory, sslcontext, server, timeouts = serving
        if server is not None and not server.is_serving():  # shutting down: parked ones too
            self._drop(conn)
            return
        self.pending += 1
        task = self.loop.create_task(
            self.loop._accept_connection2(
                protocol_factory, conn, {"peername": addr}, sslcontext, server, *timeouts
            )
        )
        task.add_done_callback(self._handed)

    def _handed(self, _task) -> None:
        self.pending -= 1

    def _drop(self, conn: socket.socket) -> None:
        self.dropped += 1
        conn.close()  # unread bytes make it a reset: the client learns at once

    def _park(self, conn: socket.socket, addr, serving: tuple) -> None:
        self.parked[conn] = (time.monotonic(), addr, serving)
        self.loop.add_reader(conn.fileno(), self._readable, conn)
        while len(self.parked) > self.park_max:
            oldest, _ = self.parked.popitem(last=False)
            self.loop.remove_reader(oldest.fileno())
            self._drop(oldest)
        if self._sweep is None:
            self._sweep = self.loop.call_later(self.park_seconds, self._expire)

    def _unpark(self, conn: socket.socket):
        entry = self.parked.pop(conn, None)
        if entry is not None:
            self.loop.remove_reader(conn.fileno())
        return entry

    def _readable(self, conn: socket.socket) -> None:
        entry = self._unpark(conn)
        if entry is None:
            return
        _, addr, serving = entry
        state = head_state(conn)
        if state == "ready" or (state != "gone" and not self.at_cap()):
            self._hand(conn, addr, serving)
        else:
            self._drop(conn)

    def _expire(self) -> None:
        """Parked for ``park_seconds`` with nothing sent: handed on if there is room, else closed."""
        self._sweep = None
        deadline = time.monotonic() - self.park_seconds
        while self.parked:
            conn, (since, addr, serving) = next(iter(self.parked.items()))
            if since > deadline:
                break
            self._unpark(conn)
            if self.at_cap():
                self._drop(conn)
            else:
                self._hand(conn, addr, serving)
        if self.parked:
            self._sweep = self.loop.call_later(self.park_seconds, self._expire)
