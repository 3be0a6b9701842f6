"""Experts: a workspace's experts channel, the questions sent there, and the answers kept.

An escalation is claimed by its ``key`` (one per answer card) before Slack is called, so a
click delivered twice, or a job run again after a crash, finds the same row. Saved answers
belong to one workspace; deleting one (or uninstalling) removes the row at once, and the
matcher reads the rows on every question, so a deleted answer is never shown again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from .models import Escalation, ExpertsChannel, Feedback, SavedAnswer, SavedAnswerUse
from .rows import AreaStore, to_record, utcnow


@dataclass(frozen=True)
class EscalationRecord:
    id: int
    key: str
    team: str
    asker: str
    channel: str
    thread_ts: str | None
    question: str | None
    status: str
    experts_channel: str
    expert_ts: str | None
    expert: str | None
    answer: str | None
    answered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SavedAnswerRecord:
    id: int
    team: str
    question: str
    answer: str
    expert: str
    saved_by: str
    escalation_id: int | None
    answered_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SavedUsage:
    """How often a saved answer was shown, and the votes on the cards that showed it."""

    saved_id: int
    question: str
    uses: int
    helpful: int
    not_helpful: int


class ExpertsStore(AreaStore):
    # --- the experts channel ----------------------------------------------------------------
    def set_experts_channel(self, team: str, channel: str, *, set_by: str | None = None) -> None:
        statement = self._insert(ExpertsChannel).values(
            team=team, channel=channel, set_by=set_by, updated_at=utcnow()
        )
        statement = statement.on_conflict_do_update(
            index_elements=["team"],
            set_={"channel": channel, "set_by": set_by, "updated_at": statement.excluded.updated_at},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def experts_channel(self, team: str) -> str | None:
        e = ExpertsChannel.__table__
        with self.engine.begin() as conn:
            return conn.execute(select(e.c.channel).where(e.c.team == team)).scalar()

    def clear_experts_channel(self, team: str) -> bool:
        e = ExpertsChannel.__table__
        with self.engine.begin() as conn:
            return conn.execute(delete(e).where(e.c.team == team)).rowcount > 0

    # --- escalations ----------------------------------------------------------------------------
    def claim_escalation(
        self,
        *,
        key: str,
        team: str,
        asker: str,
        channel: str,
        thread_ts: str | None,
        question: str | None,
        status: str,
        experts_channel: str,
    ) -> EscalationRecord:
        """The escalation named ``key``: inserted now, or the one claimed before (a retry)."""
        e = Escalation.__table__
        statement = (
            self._insert(Escalation)
            .values(
                key=key,
                team=team,
                asker=asker,
                channel=channel,
                thread_ts=thread_ts,
                question=question,
                status=status,
                experts_channel=experts_channel,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
            row = conn.execute(select(e).where(e.c.key == key)).mappings().one()
        return to_record(EscalationRecord, row)

    def escalation_posted(self, escalation_id: int, expert_ts: str) -> None:
        e = Escalation.__table__
        with self.engine.begin() as conn:
            conn.execute(update(e).where(e.c.id == escalation_id).values(expert_ts=expert_ts))

    def escalation_at(self, team: str, experts_channel: str, expert_ts: str) -> EscalationRecord | None:
        """The escalation posted at ``expert_ts`` in the experts channel (a thread's parent)."""
        e = Escalation.__table__
        query = select(e).where(
            e.c.team == team, e.c.experts_channel == experts_channel, e.c.expert_ts == expert_ts
        )
        with self.engine.begin() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(EscalationRecord, row) if row else None

    def escalation(self, escalation_id: int) -> EscalationRecord | None:
        e = Escalation.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(e).where(e.c.id == escalation_id)).mappings().first()
        return to_record(EscalationRecord, row) if row else None

    def record_expert_answer(self, escalation_id: int, *, expert: str, answer: str) -> EscalationRecord:
        """Keep an expert's reply; the first reply's time stays the time to an answer."""
        e = Escalation.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(e)
                .where(e.c.id == escalation_id)
                .values(expert=expert, answer=answer, answered_at=func.coalesce(e.c.answered_at, utcnow()))
            )
            row = conn.execute(select(e).where(e.c.id == escalation_id)).mappings().one()
        return to_record(EscalationRecord, row)

    def escalations(
        self, *, since: datetime | None = None, team: str | None = None
    ) -> list[EscalationRecord]:
        e = Escalation.__table__
        query = select(e).order_by(e.c.created_at, e.c.id)
        if since is not None:
            query = query.where(e.c.created_at >= since)
        if team is not None:
            query = query.where(e.c.team == team)
        with self.engine.begin() as conn:
            return [to_record(EscalationRecord, r) for r in conn.execute(query).mappings().all()]

    def purge_escalation_text(self, retention_days: int, *, now: datetime | None = None) -> int:
        """Forget the question and the reply of escalations older than ``retention_days``."""
        cutoff = (now or utcnow()) - timedelta(days=retention_days)
        e = Escalation.__table__
        with self.engine.begin() as conn:
            return conn.execute(
                update(e)
                .where(e.c.created_at <= cutoff, (e.c.question.is_not(None)) | (e.c.answer.is_not(None)))
                .values(question=None, answer=None)
            ).rowcount

    # --- saved answers --------------------------------------------------------------------------
    def save_answer(
        self,
        *,
        team: str,
        question: str,
        answer: str,
        expert: str,
        saved_by: str,
        answered_at: datetime | None = None,
        escalation_id: int | None = None,
    ) -> SavedAnswerRecord:
        """Keep an answer; saving one escalation again updates its saved answer."""
        now = utcnow()
        values = dict(
            team=team,
            question=question,
            answer=answer,
            expert=expert,
            saved_by=saved_by,
            escalation_id=escalation_id,
            answered_at=answered_at or now,
            created_at=now,
            updated_at=now,
        )
        s = SavedAnswer.__table__
        with self.engine.begin() as conn:
            existing = None
            if escalation_id is not None:
                existing = conn.execute(select(s.c.id).where(s.c.escalation_id == escalation_id)).scalar()
            if existing is None:
                saved_id = conn.execute(s.insert().values(**values).returning(s.c.id)).scalar_one()
            else:
                saved_id = existing
                conn.execute(
                    update(s)
                    .where(s.c.id == existing)
                    .values(question=question, answer=answer, saved_by=saved_by, updated_at=now)
                )
            row = conn.execute(select(s).where(s.c.id == saved_id)).mappings().one()
        return to_record(SavedAnswerRecord, row)

    def saved_answers(self, team: str) -> list[SavedAnswerRecord]:
        s = SavedAnswer.__table__
        with self.engine.begin() as conn:
            rows = conn.execute(select(s).where(s.c.team == team).order_by(s.c.id)).mappings().all()
        return [to_record(SavedAnswerRecord, r) for r in rows]

    def saved_answer(self, team: str, saved_id: int) -> SavedAnswerRecord | None:
        s = SavedAnswer.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(s).where(s.c.team == team, s.c.id == saved_id)).mappings().first()
        return to_record(SavedAnswerRecord, row) if row else None

    def edit_saved_answer(
        self, team: str, saved_id: int, *, question: str | None = None, answer: str | None = None
    ) -> bool:
        values = {k: v for k, v in (("question", question), ("answer", answer)) if v}
        if not values:
            return False
        s = SavedAnswer.__table__
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(s)
                    .where(s.c.team == team, s.c.id == saved_id)
                    .values(**values, updated_at=utcnow())
                ).rowcount
                > 0
            )

    def delete_saved_answer(self, team: str, saved_id: int) -> bool:
        s, u = SavedAnswer.__table__, SavedAnswerUse.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(u).where(u.c.team == team, u.c.saved_id == saved_id))
            return conn.execute(delete(s).where(s.c.team == team, s.c.id == saved_id)).rowcount > 0

    def record_saved_use(self, team: str, saved_id: int, channel: str, message_ts: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                SavedAnswerUse.__table__.insert().values(
                    team=team, saved_id=saved_id, channel=channel, message_ts=message_ts, used_at=utcnow()
                )
            )

    def saved_usage(self, *, since: datetime | None = None, team: str | None = None) -> list[SavedUsage]:
        """Each saved answer (of ``team``) with its uses since ``since`` and the votes on them."""
        s, u, f = SavedAnswer.__table__, SavedAnswerUse.__table__, Feedback.__table__
        query = select(s.c.id, s.c.question).order_by(s.c.id)
        if team is not None:
            query = query.where(s.c.team == team)
        uses = select(u.c.saved_id, u.c.team, u.c.channel, u.c.message_ts)
        if since is not None:
            uses = uses.where(u.c.used_at >= since)
        with self.engine.begin() as conn:
            saved = conn.execute(query).all()
            used = conn.execute(uses).all()
            votes = {}
            for saved_id, team_, channel, ts in used:
                if not ts:
                    continue
                rows = conn.execute(
                    select(f.c.helpful).where(f.c.team == team_, f.c.channel == channel, f.c.message_ts == ts)
                ).all()
                tally = votes.setdefault(saved_id, [0, 0])
                tally[0] += sum(1 for (h,) in rows if h)
                tally[1] += sum(1 for (h,) in rows if not h)
        counts: dict[int, int] = {}
        for saved_id, *_ in used:
            counts[saved_id] = counts.get(saved_id, 0) + 1
        return [SavedUsage(sid, q, counts.get(sid, 0), *votes.get(sid, (0, 0))) for sid, q in saved]

    # --- leaving a workspace --------------------------------------------------------------------
    def forget_experts(self, team: str) -> int:
        """Delete a workspace's saved answers, their uses and its experts channel (uninstall);
        how many saved answers went."""
        s, u, e = SavedAnswer.__table__, SavedAnswerUse.__table__, ExpertsChannel.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(u).where(u.c.team == team))
            conn.execute(delete(e).where(e.c.team == team))
            return conn.execute(delete(s).where(s.c.team == team)).rowcount
