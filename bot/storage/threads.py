"""Threads the bot answered and follows, with the person who asked."""

from __future__ import annotations

from sqlalchemy import select, update

from .models import Thread
from .rows import AreaStore, utcnow

_KEY = ["team", "channel", "thread_ts"]


class ThreadStore(AreaStore):
    def _new_thread(self, team: str, channel: str, thread_ts: str, asker: str):
        return self._insert(Thread).values(
            team=team, channel=channel, thread_ts=thread_ts, asker=asker, closed=False, created_at=utcnow()
        )

    def remember_thread(self, team: str, channel: str, thread_ts: str, asker: str) -> None:
        """Record (or re-open) a thread the bot answered, with the person who asked."""
        statement = self._new_thread(team, channel, thread_ts, asker)
        statement = statement.on_conflict_do_update(
            index_elements=_KEY, set_={"asker": statement.excluded.asker, "closed": False}
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def follow_thread(self, team: str, channel: str, thread_ts: str, asker: str) -> bool:
        """Start following a thread new to the bot; False (and nothing changes) if it is known,
        open or closed: a thread closed because someone else joined stays closed."""
        statement = (
            self._new_thread(team, channel, thread_ts, asker)
            .on_conflict_do_nothing(index_elements=_KEY)
            .returning(Thread.__table__.c.thread_ts)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar() is not None

    def thread_asker(self, team: str, channel: str, thread_ts: str) -> str | None:
        """The asker of a thread the bot answered; None if unknown or closed."""
        t = Thread.__table__
        query = select(t.c.asker).where(
            t.c.team == team, t.c.channel == channel, t.c.thread_ts == thread_ts, t.c.closed.is_(False)
        )
        with self.engine.begin() as conn:
            return conn.execute(query).scalar()

    def close_thread(self, team: str, channel: str, thread_ts: str) -> None:
        t = Thread.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.team == team, t.c.channel == channel, t.c.thread_ts == thread_ts)
                .values(closed=True)
            )
