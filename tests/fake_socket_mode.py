"""A fake Slack Socket Mode server: a real WebSocket server (the ``websockets`` package) on
127.0.0.1, run on its own asyncio loop in a background thread.

Point the fake Web API's ``apps.connections.open`` at ``url()`` (``FakeSlack.answers``).
Each connection gets a ``hello`` first, as Slack sends it. ``send`` pushes an envelope
(``events_api``, ``slash_commands``, ``interactive``) to the newest connection and returns its
``envelope_id``; ``ack(envelope_id)`` waits for the client's acknowledgement. ``disconnect``
sends Slack's ``disconnect`` envelope (``refresh_requested`` by default); ``drop`` closes the
newest connection abruptly, without a close frame, as a network failure would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve

from tests.fake_slack import wait_until


@dataclass
class Session:
    number: int
    path: str
    connection: ServerConnection
    received: list[dict] = field(default_factory=list)
    closed: bool = False


class FakeSocketMode:
    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-socket-mode", daemon=True)
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeSocketMode:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Socket Mode server did not start")
        return self

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0, ping_interval=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stopped.wait()

    def url(self) -> str:
        """A fresh connection URL (what apps.connections.open hands out)."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket={next(self._ids)}"

    async def _session(self, connection: ServerConnection) -> None:
        with self._lock:
            session = Session(len(self.sessions) + 1, connection.request.path, connection)
            self.sessions.append(session)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
            "connection_info": {"app_id": "A1"},
        }
        await connection.send(json.dumps(hello))
        try:
            async for raw in connection:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = {"unparsed": raw}
                with self._lock:
                    session.received.append(message)
        except Exception:
            pass  # the client went away; the session is over
        finally:
            session.closed = True

    # --- what the tests do -----------------------------------------------------------------
    def _newest(self) -> Session:
        with self._lock:
            live = [s for s in self.sessions if not s.closed]
        if not live:
            raise AssertionError("no live Socket Mode connection")
        return live[-1]

    def wait_for_sessions(self, count: int, timeout: float = 60) -> list[Session]:
        """Wait until ``count`` connections were made and the newest is open."""
        return wait_until(
            lambda: len(self.sessions) >= count and not self.sessions[-1].closed and list(self.sessions),
            timeout=timeout,
            what=lambda: f"{count} Socket Mode connection(s), got {len(self.sessions)}",
        )

    def _submit(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def send(self, kind: str, payload: dict, **extra) -> str:
        """Push an envelope of ``kind`` to the newest connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
            **extra,
        }
        self._submit(self._newest().connection.send(json.dumps(envelope)))
        return envelope_id

    def acks(self, envelope_id: str) -> list[dict]:
        with self._lock:
            return [m for s in self.sessions for m in s.received if m.get("envelope_id") == envelope_id]

    def ack(self, envelope_id: str, timeout: float = 30) -> dict:
        """The client's acknowledgement of ``envelope_id`` (waits for it)."""
        return wait_until(
            lambda: (found := self.acks(envelope_id)) and found[0],
            timeout=timeout,
            what=f"an ack of {envelope_id}",
        )

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` envelope: the client should connect again elsewhere."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-socket-mode"}}
        self._submit(self._newest().connection.send(json.dumps(message)))

    def drop(self) -> None:
        """Close the newest connection abruptly (no close frame)."""
        session = self._newest()
        self._loop.call_soon_threadsafe(session.connection.transport.abort)
        wait_until(lambda: session.closed, what="the dropped connection to close")
