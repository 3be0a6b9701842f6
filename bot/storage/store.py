"""The Store: every read and write the bot and the tip scheduler make, on SQLite or PostgreSQL.

Methods are short transactions on SQLAlchemy Core. Claims (events, posts) are INSERTs
guarded by a unique key, so they hold across threads, processes and restarts. On SQLite
every transaction, reads included, starts with ``BEGIN IMMEDIATE``: one transaction at a time,
the others wait (``busy_timeout``, 30 s) instead of failing; WAL keeps each one short. On
PostgreSQL the unique index and row locks do the same job without serialising readers.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from . import migrate
from .models import Feedback, Post, ProcessedEvent, Subscription, Thread, TipOrder

logger = logging.getLogger(__name__)

EVENT_KEEP = timedelta(days=1)
_PRUNE_EVERY_SECONDS = 600
SQLITE_BUSY_TIMEOUT_MS = 30_000
DAYS = ("weekdays", "daily")
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class StoreError(Exception):
    """The database cannot be opened or upgraded; the message is one line."""


class InvalidSubscription(ValueError):
    """A subscription that could never be scheduled (bad time, time zone or days); one line."""


def check_schedule(local_time: str, tz: str, days: str) -> None:
    """Raise InvalidSubscription unless ``local_time`` is HH:MM, ``tz`` a zone zoneinfo knows
    and ``days`` one of DAYS: a row the scheduler cannot read must never be stored."""
    if days not in DAYS:
        raise InvalidSubscription(f"invalid days {days!r}: use one of {', '.join(DAYS)}")
    if not isinstance(local_time, str) or not _LOCAL_TIME.match(local_time):
        raise InvalidSubscription(f"invalid time {local_time!r}: use 24-hour HH:MM, e.g. 09:00")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidSubscription(f"unknown time zone {tz!r}: use Area/City, e.g. Europe/Paris") from None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class SubscriptionRecord:
    team: str
    channel: str
    local_time: str  # "HH:MM"
    tz: str
    days: str  # "weekdays" | "daily"
    active: bool
    paused_reason: str | None
    created_by: str | None
    failures: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def live(self) -> bool:
        """Subscribed and not paused: tips are due for this channel."""
        return self.active and self.paused_reason is None


@dataclass(frozen=True)
class PostRecord:
    id: int
    team: str
    channel: str
    local_date: date
    tip_id: str | None
    message_ts: str | None
    status: str  # claimed | sent | failed | gave_up | unknown
    attempts: int
    error: str | None
    claimed_at: datetime
    updated_at: datetime


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


@dataclass(frozen=True)
class TipOrderState:
    """Where a channel is in its walk through the tips."""

    round: int
    order: tuple[str, ...]
    position: int


# pick(state or None) -> (tip id to post, new state); runs inside the claim's transaction.
TipPicker = Callable[[TipOrderState | None], tuple[str, TipOrderState]]


def _sqlite_engine(url, pool: dict) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Take the write lock up front: a deferred transaction that reads and then writes can
        # fail with "database is locked" at once instead of waiting out busy_timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_store_engine(database_url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``database_url``; ``pool_size`` connections are kept open (SQLAlchemy's
    default 5 if None), and up to 10 more are opened, then closed, under a burst."""
    url = make_url(database_url)
    pool = {"pool_size": pool_size} if pool_size else {}
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, pool_pre_ping=True, **pool)
    raise StoreError(f"unsupported DATABASE_URL scheme {url.drivername!r} (use sqlite or postgresql)")


def open_store(database_url: str, *, upgrade: bool = True, pool_size: int | None = None) -> Store:
    """Open the database at ``database_url`` and upgrade its schema to the newest revision.

    ``pool_size``: connections kept open; give one per thread that uses the store at once.
    """
    from alembic.util import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        engine = create_store_engine(database_url, pool_size=pool_size)
    except (ArgumentError, ValueError, ImportError):
        # The parser's message quotes the URL, password included: say only what is wrong.
        raise StoreError("invalid DATABASE_URL: cannot be parsed (scheme://user:password@host/db)") from None
    try:
        if upgrade:
            migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        # str(exc.orig) names the problem without echoing the URL (and its password).
        problem = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot open the database ({engine.url.get_backend_name()}): {problem}") from None
    except CommandError as exc:  # e.g. a schema newer than this code (after a rollback)
        engine.dispose()
        problem = str(exc).strip().splitlines()[0]
        raise StoreError(
            f"cannot upgrade the database schema to {migrate.head_revision()}: {problem}"
        ) from None
    return Store(engine)


class Store:
    """The bot's persistent state. Thread-safe; share one per process."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._prune_lock = threading.Lock()
        self._last_prune = 0.0

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, model):
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(model.__table__)

    # --- event dedupe ---------------------------------------------------------------------
    def claim_event(self, key: str) -> bool:
        """True the first time ``key`` is claimed (in any process), False every time after."""
        now = _utcnow()
        statement = (
            self._insert(ProcessedEvent)
            .values(key=key, created_at=now)
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
        cutoff = (now or _utcnow()) - older_than
        table = ProcessedEvent.__table__
        with self.engine.begin() as conn:
            return conn.execute(table.delete().where(table.c.created_at < cutoff)).rowcount

    def _maybe_prune(self) -> None:
        with self._prune_lock:
            if time.monotonic() - self._last_prune < _PRUNE_EVERY_SECONDS:
                return
            self._last_prune = time.monotonic()
        self.prune_events()

    # --- threads ----------------------------------------------------------------------------
    def remember_thread(self, team: str, channel: str, thread_ts: str, asker: str) -> None:
        """Record (or re-open) a thread the bot answered, with the person who asked."""
        statement = self._insert(Thread).values(
            team=team,
            channel=channel,
            thread_ts=thread_ts,
            asker=asker,
            closed=False,
            created_at=_utcnow(),
        )
        statement = statement.on_conflict_do_update(
            index_elements=["team", "channel", "thread_ts"],
            set_={"asker": statement.excluded.asker, "closed": False},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def follow_thread(self, team: str, channel: str, thread_ts: str, asker: str) -> bool:
        """Start following a thread new to the bot; False (and nothing changes) if it is known,
        open or closed: a thread closed because someone else joined stays closed."""
        t = Thread.__table__
        statement = (
            self._insert(Thread)
            .values(
                team=team,
                channel=channel,
                thread_ts=thread_ts,
                asker=asker,
                closed=False,
                created_at=_utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["team", "channel", "thread_ts"])
            .returning(t.c.thread_ts)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar() is not None

    def thread_asker(self, team: str, channel: str, thread_ts: str) -> str | None:
        """The asker of a thread the bot answered; None if unknown or closed."""
        t = Thread.__table__
        query = select(t.c.asker).where(
            t.c.team == team,
            t.c.channel == channel,
            t.c.thread_ts == thread_ts,
            t.c.closed.is_(False),
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

    # --- feedback ---------------------------------------------------------------------------
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
        now = _utcnow()
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
        statement = statement.on_conflict_do_update(
            index_elements=["team", "channel", "message_ts", "user"],
            set_={
                "question": statement.excluded.question,
                "passage_id": statement.excluded.passage_id,
                "helpful": statement.excluded.helpful,
                "updated_at": statement.excluded.updated_at,
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
            rows = conn.execute(query).mappings().all()
        return [
            FeedbackRecord(
                team=r["team"],
                channel=r["channel"],
                message_ts=r["message_ts"],
                user=r["user"],
                question=r["question"],
                passage_id=r["passage_id"],
                helpful=r["helpful"],
                updated_at=_aware(r["updated_at"]),
            )
            for r in rows
        ]

    # --- subscriptions ----------------------------------------------------------------------
    @staticmethod
    def _subscription(row) -> SubscriptionRecord:
        return SubscriptionRecord(
            team=row["team"],
            channel=row["channel"],
            local_time=row["local_time"],
            tz=row["tz"],
            days=row["days"],
            active=row["active"],
            paused_reason=row["paused_reason"],
            created_by=row["created_by"],
            failures=row["failures"],
            last_error=row["last_error"],
            created_at=_aware(row["created_at"]),
            updated_at=_aware(row["updated_at"]),
        )

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

        Raises InvalidSubscription (a ValueError) for a time other than 24-hour ``HH:MM``, a
        time zone zoneinfo does not know, or days other than weekdays / daily.
        """
        check_schedule(local_time, tz, days)
        now = _utcnow()
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
                .values(active=False, paused_reason=None, updated_at=_utcnow())
            )
        return result.rowcount > 0

    def get_subscription(self, team: str, channel: str) -> SubscriptionRecord | None:
        s = Subscription.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(s).where(s.c.team == team, s.c.channel == channel)).mappings().first()
        return self._subscription(row) if row else None

    def list_subscriptions(self, team: str | None = None) -> list[SubscriptionRecord]:
        """Every subscription (inactive ones too: check ``.active``), by team and channel."""
        s = Subscription.__table__
        query = select(s).order_by(s.c.team, s.c.channel)
        if team is not None:
            query = query.where(s.c.team == team)
        with self.engine.begin() as conn:
            return [self._subscription(r) for r in conn.execute(query).mappings().all()]

    def deactivate_team(self, team: str, reason: str) -> int:
        """Deactivate every active subscription of a workspace (token revoked, app uninstalled)."""
        s = Subscription.__table__
        with self.engine.begin() as conn:
            result = conn.execute(
                update(s)
                .where(s.c.team == team, s.c.active.is_(True))
                .values(active=False, paused_reason=reason, last_error=reason, updated_at=_utcnow())
            )
        return result.rowcount

    def pause_subscription(self, team: str, channel: str, reason: str) -> None:
        """Stop posting to a channel until it is subscribed again (not in channel, archived...)."""
        s = Subscription.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(s)
                .where(s.c.team == team, s.c.channel == channel)
                .values(paused_reason=reason, last_error=reason, updated_at=_utcnow())
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
                .values(updated_at=_utcnow(), **values)
            )

    # --- posts and tip order ----------------------------------------------------------------
    @staticmethod
    def _post(row) -> PostRecord:
        return PostRecord(
            id=row["id"],
            team=row["team"],
            channel=row["channel"],
            local_date=row["local_date"],
            tip_id=row["tip_id"],
            message_ts=row["message_ts"],
            status=row["status"],
            attempts=row["attempts"],
            error=row["error"],
            claimed_at=_aware(row["claimed_at"]),
            updated_at=_aware(row["updated_at"]),
        )

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
        now = now or _utcnow()
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
                return self._post(row) if row else None
            state = self._tip_order(conn, team, channel, for_update=True)
            tip_id, new_state = pick(state)
            self._save_tip_order(conn, team, channel, new_state, now)
            conn.execute(update(p).where(p.c.id == post_id).values(tip_id=tip_id))
            row = conn.execute(select(p).where(p.c.id == post_id)).mappings().one()
            return self._post(row)

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
                    updated_at=now or _utcnow(),
                )
            )

    def post_for(self, team: str, channel: str, local_date: date) -> PostRecord | None:
        p = Post.__table__
        query = select(p).where(p.c.team == team, p.c.channel == channel, p.c.local_date == local_date)
        with self.engine.begin() as conn:
            row = conn.execute(query).mappings().first()
        return self._post(row) if row else None

    def posts(self, team: str | None = None, channel: str | None = None) -> list[PostRecord]:
        """Posts, oldest local date first (optionally of one team or channel)."""
        p = Post.__table__
        query = select(p).order_by(p.c.local_date, p.c.team, p.c.channel)
        if team is not None:
            query = query.where(p.c.team == team)
        if channel is not None:
            query = query.where(p.c.channel == channel)
        with self.engine.begin() as conn:
            return [self._post(r) for r in conn.execute(query).mappings().all()]

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
        return TipOrderState(
            round=row["round"], order=tuple(json.loads(row["tip_order"])), position=row["position"]
        )

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
