"""Votes on answers (Helpful / Not helpful)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .models import Feedback
from .rows import AreaStore, to_record, utcnow


@dataclass(frozen=True)
class FeedbackRecord:
    team: str
    channel: str
    message_ts: str
    user: str
    question: str
    passage_id: str | None
    helpful: bool
    updated_at: datetime


class FeedbackStore(AreaStore):
    def record_feedback(
        self,
        *,
        team: str,
        channel: str,
        message_ts: str,
        user: str,
        question: str,
        passage_id: str | None,
        helpful: bool,
    ) -> None:
        """Store a vote on an answer; a later vote by the same user on the same message wins."""
        now = utcnow()
        statement = self._insert(Feedback).values(
            team=team,
            channel=channel,
            message_ts=message_ts,
            user=user,
            question=question,
            passage_id=passage_id,
            helpful=helpful,
            created_at=now,
            updated_at=now,
        )
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["team", "channel", "message_ts", "user"],
            set_={
                "question": excluded.question,
                "passage_id": excluded.passage_id,
                "helpful": excluded.helpful,
                "updated_at": excluded.updated_at,
            },
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def feedback_for(self, team: str, channel: str, message_ts: str) -> list[FeedbackRecord]:
        f = Feedback.__table__
        query = (
            select(f)
            .where(f.c.team == team, f.c.channel == channel, f.c.message_ts == message_ts)
            .order_by(f.c.id)
        )
        with self.engine.begin() as conn:
            return [to_record(FeedbackRecord, r) for r in conn.execute(query).mappings().all()]
