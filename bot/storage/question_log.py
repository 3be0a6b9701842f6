"""The question log: one row per answered or refused question, for the admin's report.

What is kept and for how long is written down in docs/privacy.md: the team, the kind of
conversation (never the channel or the person), the outcome, and the question's text for
``ADVISOR_QUESTION_RETENTION_DAYS`` (0: never stored). ``purge_question_text`` clears texts
past that age, in the log and in the votes; the rows and their counts stay.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from .feedback import FeedbackRecord
from .models import Feedback, QuestionLog
from .rows import AreaStore, to_record, utcnow

_PURGE_EVERY_SECONDS = 3600


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    team: str
    channel_type: str
    status: str
    top_section: str | None
    top_passage: str | None
    score: float | None
    latency_ms: int
    question: str | None
    message_ts: str | None
    helpful: int
    not_helpful: int
    asked_at: datetime


class QuestionLogStore(AreaStore):
    def __init__(self, engine):
        super().__init__(engine)
        self._purge_lock = threading.Lock()
        self._last_purge = float("-inf")

    def log_question(
        self,
        *,
        team: str,
        channel_type: str,
        status: str,
        question: str | None,
        top_section: str | None,
        top_passage: str | None,
        score: float | None,
        latency_ms: int,
        message_ts: str | None,
        now: datetime | None = None,
    ) -> int:
        """Record one question's outcome (``question`` None: keep no text); its row id."""
        statement = (
            QuestionLog.__table__.insert()
            .values(
                team=team,
                channel_type=channel_type,
                status=status,
                question=question,
                top_section=top_section[:255] if top_section else None,
                top_passage=top_passage[:255] if top_passage else None,
                score=score,
                latency_ms=max(0, int(latency_ms)),
                message_ts=message_ts,
                helpful=0,
                not_helpful=0,
                asked_at=now or utcnow(),
            )
            .returning(QuestionLog.__table__.c.id)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar_one()

    def count_votes(self, team: str, channel: str, message_ts: str) -> None:
        """Copy the votes on an answer (the last vote of each person) onto its logged question."""
        f, q = Feedback.__table__, QuestionLog.__table__
        votes = (
            select(f.c.helpful, func.count())
            .where(f.c.team == team, f.c.channel == channel, f.c.message_ts == message_ts)
            .group_by(f.c.helpful)
        )
        with self.engine.begin() as conn:
            counts = {bool(helpful): n for helpful, n in conn.execute(votes)}
            conn.execute(
                update(q)
                .where(q.c.team == team, q.c.message_ts == message_ts)
                .values(helpful=counts.get(True, 0), not_helpful=counts.get(False, 0))
            )

    def logged_questions(
        self, *, since: datetime | None = None, team: str | None = None
    ) -> list[LoggedQuestion]:
        """Logged questions asked at or after ``since`` (of one ``team``), oldest first."""
        q = QuestionLog.__table__
        query = select(q).order_by(q.c.asked_at, q.c.id)
        if since is not None:
            query = query.where(q.c.asked_at >= since)
        if team is not None:
            query = query.where(q.c.team == team)
        with self.engine.begin() as conn:
            return [to_record(LoggedQuestion, r) for r in conn.execute(query).mappings().all()]

    def votes_since(self, since: datetime | None = None, *, team: str | None = None) -> list[FeedbackRecord]:
        """Votes cast (or last changed) at or after ``since``, of one ``team`` or all."""
        f = Feedback.__table__
        query = select(f).order_by(f.c.id)
        if since is not None:
            query = query.where(f.c.updated_at >= since)
        if team is not None:
            query = query.where(f.c.team == team)
        with self.engine.begin() as conn:
            return [to_record(FeedbackRecord, r) for r in conn.execute(query).mappings().all()]

    def purge_question_text(self, retention_days: int, *, now: datetime | None = None) -> int:
        """Forget the text of questions older than ``retention_days`` (0: all of it), in the
        log and in the votes; the rows stay. Returns how many log rows lost their text."""
        cutoff = (now or utcnow()) - timedelta(days=retention_days)
        q, f = QuestionLog.__table__, Feedback.__table__
        with self.engine.begin() as conn:
            purged = conn.execute(
                update(q).where(q.c.asked_at <= cutoff, q.c.question.is_not(None)).values(question=None)
            ).rowcount
            # A vote keeps the question it was on (NOT NULL): emptied, like the log's.
            conn.execute(update(f).where(f.c.created_at <= cutoff, f.c.question != "").values(question=""))
        return purged

    def maybe_purge_question_text(self, retention_days: int) -> int | None:
        """``purge_question_text`` at most once an hour per process (the scheduler calls this on
        every pass); None when it was not time yet."""
        with self._purge_lock:
            if time.monotonic() - self._last_purge < _PURGE_EVERY_SECONDS:
                return None
            self._last_purge = time.monotonic()
        return self.purge_question_text(retention_days)
