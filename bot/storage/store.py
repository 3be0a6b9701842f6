"""The Store: every read and write the bot and the tip scheduler make, on SQLite or PostgreSQL.

One class per area (``events``, ``threads``, ``feedback``, ``tips``, ``question_log``, ``jobs``,
``experts``), each
short transactions on SQLAlchemy Core over the one engine set up in ``engine``; ``Store`` is all of them at
once, so a process shares one pool. Claims (events, posts) are INSERTs guarded by a unique
key, so they hold across threads, processes and restarts. On SQLite every transaction,
reads included, starts with ``BEGIN IMMEDIATE``: one transaction at a time, the others wait
(``busy_timeout``, 30 s) instead of failing; WAL keeps each one short. On PostgreSQL the
unique index and row locks do the same job without serialising readers.

A new table: a model in ``models.py``, a migration, and an area module like ``threads.py``
added to ``Store``'s bases.
"""

from __future__ import annotations

from .engine import open_engine
from .events import EventStore
from .experts import ExpertsStore
from .feedback import FeedbackStore
from .jobs import JobStore
from .question_log import QuestionLogStore
from .threads import ThreadStore
from .tips import TipStore


class Store(EventStore, ThreadStore, FeedbackStore, TipStore, QuestionLogStore, JobStore, ExpertsStore):
    """The bot's persistent state. Thread-safe; share one per process."""

    def record_feedback(self, **vote) -> None:
        """Store a vote, then count the answer's votes onto its logged question."""
        super().record_feedback(**vote)
        self.count_votes(vote["team"], vote["channel"], vote["message_ts"])

    def purge_question_text(self, retention_days: int, *, now=None) -> int:
        """The question log's retention, applied to the escalations' texts too."""
        purged = super().purge_question_text(retention_days, now=now)
        self.purge_escalation_text(retention_days, now=now)
        return purged

    def close(self) -> None:
        self.engine.dispose()


def open_store(database_url: str, *, upgrade: bool = True, pool_size: int | None = None) -> Store:
    """Open the database at ``database_url`` and upgrade its schema to the newest revision.

    ``pool_size``: connections kept open; give one per thread that uses the store at once.
    """
    return Store(open_engine(database_url, upgrade=upgrade, pool_size=pool_size))
