"""Tip subscriptions, the day's post of each channel (claimed before Slack is called), tip orders."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select, update

from ..tips.records import PostRecord, SubscriptionRecord, TipOrderState, TipPicker
from ..tips.schedule import check_subscription
from .models import Post, Subscription, TipOrder
from .rows import AreaStore, to_record, utcnow


class TipStore(AreaStore):
    # --- subscriptions ----------------------------------------------------------------------
    def subscribe(
        self,
        *,
        team: str,
        channel: str,
        local_time: str,
        tz: str,
        days: str = "weekdays",
        created_by: str | None = None,
    ) -> SubscriptionRecord:
        """Subscribe a channel (or update and re-activate its subscription, clearing any pause).

        Raises ScheduleError (a ValueError) for a time other than 24-hour ``HH:MM``, a
        time zone zoneinfo does not know, or days other than weekdays / daily.
        """
        check_subscription(local_time, tz, days, canonical=True)
        now = utcnow()
        values = dict(
            local_time=local_time,
            tz=tz,
            days=days,
            active=True,
            paused_reason=None,
            created_by=created_by,
            failures=0,
            last_error=None,
            updated_at=now,
        )
        statement = self._insert(Subscription).values(team=team, channel=channel, created_at=now, **values)
        statement = statement.on_conflict_do_update(index_elements=["team", "channel"], set_=values)
        with self.engine.begin() as conn:
            conn.execute(statement)
        record = self.get_subscription(team, channel)
        assert record is not None
        return record

    def unsubscribe(self, team: str, channel: str) -> bool:
        """Stop a channel's tips; False if it was not subscribed."""
        s = Subscription.__table__
        with self.engine.begin() as conn:
            result = conn.execute(
                update(s)
                .where(s.c.team == team, s.c.channel == channel, s.c.active.is_(True))
                .values(active=False, paused_reason=None, updated_at=utcnow())
            )
        return result.rowcount > 0

    def get_subscription(self, team: str, channel: str) -> SubscriptionRecord | None:
        s = Subscription.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(s).where(s.c.team == team, s.c.channel == channel)).mappings().first()
        return to_record(SubscriptionRecord, row) if row else None

    def list_subscriptions(self, team: str | None = None) -> list[SubscriptionRecord]:
        """Every subscription (inactive ones too: check ``.active``), by team and channel."""
        s = Subscription.__table__
        query = select(s).order_by(s.c.team, s.c.channel)
        if team is not None:
            query = query.where(s.c.team == team)
        with self.engine.begin() as conn:
            return [to_record(SubscriptionRecord, r) for r in conn.execute(query).mappings().all()]

    def deactivate_team(self, team: str, reason: str) -> int:
        """Deactivate every active subscription of a workspace (token revoked, app uninstalled)."""
        s = Subscription.__table__
        with self.engine.begin() as conn:
            result = conn.execute(
                update(s)
                .where(s.c.team == team, s.c.active.is_(True))
                .values(active=False, paused_reason=reason, last_error=reason, updated_at=utcnow())
            )
        return result.rowcount

    def pause_subscription(self, team: str, channel: str, reason: str) -> None:
        """Stop posting to a channel until it is subscribed again (not in channel, archived...)."""
        s = Subscription.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(s)
                .where(s.c.team == team, s.c.channel == channel)
                .values(paused_reason=reason, last_error=reason, updated_at=utcnow())
            )

    def note_subscription_result(self, team: str, channel: str, error: str | None) -> None:
        """Count consecutive failures of a channel's posts (reset by a success)."""
        s = Subscription.__table__
        values = (
            {"failures": 0, "last_error": None}
            if error is None
            else {"failures": s.c.failures + 1, "last_error": error[:255]}
        )
        with self.engine.begin() as conn:
            conn.execute(
                update(s)
                .where(s.c.team == team, s.c.channel == channel)
                .values(updated_at=utcnow(), **values)
            )

    # --- posts and tip order ----------------------------------------------------------------
    def skip_day(self, team: str, channel: str, local_date: date) -> bool:
        """Mark ``local_date`` as having no tip for a channel (status ``skipped``): tips turned
        on after that day's time start the next day, never the same evening. False if the day
        already has a post row (which is left as it is)."""
        now = utcnow()
        statement = (
            self._insert(Post)
            .values(
                team=team,
                channel=channel,
                local_date=local_date,
                status="skipped",
                attempts=0,
                claimed_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["team", "channel", "local_date"])
            .returning(Post.__table__.c.id)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar() is not None

    def claim_post(
        self,
        *,
        team: str,
        channel: str,
        local_date: date,
        pick: TipPicker,
        max_attempts: int,
        now: datetime | None = None,
    ) -> PostRecord | None:
        """Claim the channel's post for ``local_date``; None if it is already claimed.

        The first claim inserts the (team, channel, local_date) row and advances the channel's
        tip order in the same transaction. A row left ``failed`` before ``now`` with attempts
        to spare is claimed again (same tip). A ``claimed`` or ``sent`` row is never reclaimed.
        """
        now = now or utcnow()
        p = Post.__table__
        insert = (
            self._insert(Post)
            .values(
                team=team,
                channel=channel,
                local_date=local_date,
                status="claimed",
                attempts=1,
                claimed_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["team", "channel", "local_date"])
            .returning(p.c.id)
        )
        with self.engine.begin() as conn:
            post_id = conn.execute(insert).scalar()
            if post_id is None:
                retry = (
                    update(p)
                    .where(
                        p.c.team == team,
                        p.c.channel == channel,
                        p.c.local_date == local_date,
                        p.c.status == "failed",
                        p.c.attempts < max_attempts,
                        p.c.updated_at < now,
                    )
                    .values(status="claimed", attempts=p.c.attempts + 1, claimed_at=now, updated_at=now)
                    .returning(*p.c)
                )
                row = conn.execute(retry).mappings().first()
                return to_record(PostRecord, row) if row else None
            state = self._tip_order(conn, team, channel, for_update=True)
            tip_id, new_state = pick(state)
            self._save_tip_order(conn, team, channel, new_state, now)
            conn.execute(update(p).where(p.c.id == post_id).values(tip_id=tip_id))
            row = conn.execute(select(p).where(p.c.id == post_id)).mappings().one()
            return to_record(PostRecord, row)

    def finish_post(
        self,
        post_id: int,
        *,
        status: str,
        message_ts: str | None = None,
        error: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Record how a claimed post ended: sent (with its ts), failed or gave_up (with why)."""
        p = Post.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(p)
                .where(p.c.id == post_id)
                .values(
                    status=status,
                    message_ts=message_ts,
                    error=error[:255] if error else None,
                    updated_at=now or utcnow(),
                )
            )

    def post_for(self, team: str, channel: str, local_date: date) -> PostRecord | None:
        p = Post.__table__
        query = select(p).where(p.c.team == team, p.c.channel == channel, p.c.local_date == local_date)
        with self.engine.begin() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(PostRecord, row) if row else None

    def posts(self, team: str | None = None, channel: str | None = None) -> list[PostRecord]:
        """Posts, oldest local date first (optionally of one team or channel)."""
        p = Post.__table__
        query = select(p).order_by(p.c.local_date, p.c.team, p.c.channel)
        if team is not None:
            query = query.where(p.c.team == team)
        if channel is not None:
            query = query.where(p.c.channel == channel)
        with self.engine.begin() as conn:
            return [to_record(PostRecord, r) for r in conn.execute(query).mappings().all()]

    def tip_order(self, team: str, channel: str) -> TipOrderState | None:
        with self.engine.begin() as conn:
            return self._tip_order(conn, team, channel, for_update=False)

    def _tip_order(self, conn, team: str, channel: str, *, for_update: bool) -> TipOrderState | None:
        t = TipOrder.__table__
        query = select(t).where(t.c.team == team, t.c.channel == channel)
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return to_record(TipOrderState, row, order=tuple(json.loads(row["tip_order"])))

    def _save_tip_order(self, conn, team: str, channel: str, state: TipOrderState, now: datetime) -> None:
        values = dict(
            round=state.round,
            tip_order=json.dumps(list(state.order)),
            position=state.position,
            updated_at=now,
        )
        statement = self._insert(TipOrder).values(team=team, channel=channel, **values)
        statement = statement.on_conflict_do_update(index_elements=["team", "channel"], set_=values)
        conn.execute(statement)
