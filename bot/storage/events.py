"""Event dedupe: a key claimed once, across threads, processes and restarts."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import Engine

from .models import ProcessedEvent
from .rows import AreaStore, utcnow

EVENT_KEEP = timedelta(days=1)
_PRUNE_EVERY_SECONDS = 600


class EventStore(AreaStore):
    def __init__(self, engine: Engine):
        super().__init__(engine)
        self._prune_lock = threading.Lock()
        self._last_prune = 0.0

    def claim_event(self, key: str) -> bool:
        """True the first time ``key`` is claimed (in any process), False every time after."""
        statement = (
            self._insert(ProcessedEvent)
            .values(key=key, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(ProcessedEvent.__table__.c.key)
        )
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
        with self.engine.begin() as conn:
            claimed = conn.execute(statement).scalar() is not None
        self._maybe_prune()
        return claimed

    def prune_events(self, older_than: timedelta = EVENT_KEEP, *, now: datetime | None = None) -> int:
        """Forget claimed keys older than ``older_than``; returns how many were removed."""
        cutoff = (now or utcnow()) - older_than
        table = ProcessedEvent.__table__
        with self.engine.begin() as conn:
            return conn.execute(table.delete().where(table.c.created_at < cutoff)).rowcount

    def _maybe_prune(self) -> None:
        with self._prune_lock:
            if time.monotonic() - self._last_prune < _PRUNE_EVERY_SECONDS:
                return
            self._last_prune = time.monotonic()
        self.prune_events()
