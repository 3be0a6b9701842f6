"""The answer queue: acknowledged work as rows, taken by workers, resumed after a crash.

A job is enqueued in the same transaction as the claims that deduplicate its Slack request
(``processed_events``), before the request is acknowledged, so an acknowledged question is
never only in memory. Workers take due jobs one at a time: PostgreSQL with ``FOR UPDATE SKIP
LOCKED`` (workers never wait for each other), SQLite under its ``BEGIN IMMEDIATE`` write lock
(one taker at a time; each take is one short transaction).

A taken job is ``posting`` and carries its process's owner id and a lease, ``locked_at``; the
process's heartbeat renews the lease of everything it holds. A ``posting`` job whose lease
ran out (the process died, or stalled) is taken again by another process, with ``verify``
set: the post may have reached Slack, so the worker reads the thread before posting again
(``bot.slack.posted``). Every update made by a worker names its owner, so a process that lost
a job to another cannot overwrite the new owner's outcome.

Leases are read and written on the database's clock (``db_now``: ``clock_timestamp()``,
SQLite's ``strftime('now')``, evaluated inside the statement, after any wait for a lock),
never on the process clock read before the statement: a statement that waited out a stall
would otherwise write a lease that is already old, or find a live one stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from .models import AnswerJob, JobWorker, ProcessedEvent
from .rows import AreaStore, to_record, utcnow

PENDING, POSTING, DONE, FAILED = "pending", "posting", "done", "failed"
OPEN_STATUSES = (PENDING, POSTING)
# A posting job whose process has not beaten for this long is taken over (heartbeat: 2 s).
STALE_AFTER = timedelta(seconds=10)
JOB_KEEP = timedelta(days=1)
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NewJob:
    key: str  # unique: the Slack request it carries out (one job per message, command, click)
    kind: str
    team: str
    channel: str
    payload: dict
    thread_ts: str | None = None
    enterprise: str | None = None
    deadline: datetime | None = None


@dataclass(frozen=True)
class Enqueued:
    """What ``enqueue_job`` did: ``status`` queued, duplicate or busy; ``taken``: the claim (or
    the job key) found taken, for a duplicate."""

    status: str
    taken: str | None = None


@dataclass(frozen=True)
class JobRecord:
    id: int
    key: str
    kind: str
    team: str
    enterprise: str | None
    channel: str
    thread_ts: str | None
    payload: dict
    status: str
    attempts: int
    verify: bool
    run_after: datetime
    deadline: datetime | None
    locked_by: str | None
    locked_at: datetime | None
    message_ts: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


def db_now(dialect: str, offset: timedelta = timedelta(0)) -> ColumnElement:
    """The database's clock plus ``offset``, read when the statement runs (not when it was built).

    PostgreSQL: ``clock_timestamp()`` (``now()`` would be the transaction's start). SQLite:
    ``strftime`` of 'now' in the format SQLAlchemy stores datetimes in (text, compared as
    text, microseconds padded), UTC like every stored time."""
    if dialect == "postgresql":
        return func.clock_timestamp() + offset
    modifier = f"{offset.total_seconds():+.6f} seconds"
    return func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier).op("||")(literal("000"))


def _aware_time(value) -> datetime | None:
    """A time read back from the database: SQLite returns text for an expression's value."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _record(row, **overrides) -> JobRecord:
    overrides.setdefault("payload", json.loads(row["payload"]))
    return to_record(JobRecord, row, **overrides)


class JobStore(AreaStore):
    def enqueue_job(self, job: NewJob, *, claims: tuple[str, ...] = (), limit: int | None = None) -> Enqueued:
        """Claim ``claims`` and queue ``job`` in one transaction.

        Status ``queued``; ``duplicate`` when a claim or the job's key was taken before
        (nothing queued; ``taken`` names it); ``busy`` when ``limit`` jobs are already open
        (the claims are kept, so Slack's retries of a refused request are not refused again).
        """
        now = utcnow()
        j = AnswerJob.__table__
        with self.engine.begin() as conn:
            for key in claims:
                claim = (
                    self._insert(ProcessedEvent)
                    .values(key=key, created_at=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(ProcessedEvent.__table__.c.key)
                )
                if conn.execute(claim).scalar() is None:
                    return Enqueued("duplicate", key)
            if limit is not None:
                open_jobs = conn.execute(select(func.count()).where(j.c.status.in_(OPEN_STATUSES))).scalar()
                if open_jobs >= limit:
                    return Enqueued("busy")
            insert = (
                self._insert(AnswerJob)
                .values(
                    key=job.key,
                    kind=job.kind,
                    team=job.team,
                    enterprise=job.enterprise,
                    channel=job.channel,
                    thread_ts=job.thread_ts,
                    payload=json.dumps(job.payload, ensure_ascii=False),
                    status=PENDING,
                    attempts=0,
                    verify=False,
                    run_after=now,
                    deadline=job.deadline,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(j.c.id)
            )
            if conn.execute(insert).scalar() is None:
                return Enqueued("duplicate", job.key)
            return Enqueued("queued")

    def take_job(
        self, owner: str, *, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
    ) -> JobRecord | None:
        """The oldest due job, now ``posting`` and held by ``owner``; None if nothing is due.

        Due: pending with ``run_after`` reached (``now``: the process clock ``run_after`` was
        written with), or posting under a lease that ran out ``stale_after`` ago on the
        database's clock, held by another process (taken with ``verify`` set). A process never
        retakes its own job: its heartbeat is the one that renews it, and a worker of its own
        may still be posting it.
        """
        now = now or utcnow()
        j = AnswerJob.__table__
        due = or_(
            and_(j.c.status == PENDING, j.c.run_after <= now),
            and_(
                j.c.status == POSTING,
                j.c.locked_by != owner,
                j.c.locked_at < db_now(self.dialect, -stale_after),
            ),
        )
        query = select(j).where(due).order_by(j.c.run_after, j.c.id).limit(1)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            verify = bool(row["verify"]) or row["status"] == POSTING
            values = dict(
                status=POSTING,
                locked_by=owner,
                attempts=row["attempts"] + 1,
                verify=verify,
                updated_at=now,
            )
            # The lease starts on the database's clock, when this statement runs.
            locked_at = conn.execute(
                update(j)
                .where(j.c.id == row["id"])
                .values(locked_at=db_now(self.dialect), **values)
                .returning(j.c.locked_at)
            ).scalar()
        return _record(row, locked_at=_aware_time(locked_at), **values)

    def hold_job(self, job_id: int, owner: str, *, for_: timedelta) -> bool:
        """Extend ``owner``'s lease on a job to ``for_`` from now (database clock), before a
        call that may post it; False if ``owner`` no longer holds it (then it must not post).

        The heartbeat never shortens a lease (it keeps the later of the two), so another
        process can take the job only ``for_`` + STALE_AFTER after this, when the call is over
        and what it posted can be read back."""
        j = AnswerJob.__table__
        statement = (
            update(j)
            .where(j.c.id == job_id, j.c.locked_by == owner, j.c.status == POSTING)
            .values(locked_at=db_now(self.dialect, for_))
            .returning(j.c.id)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar() is not None

    def job_backlog(self) -> tuple[int, datetime | None]:
        """Open jobs that have failed at least once (waiting on Slack, or on a token), and the
        creation time of the oldest of them."""
        j = AnswerJob.__table__
        waiting = and_(j.c.status.in_(OPEN_STATUSES), j.c.last_error.is_not(None))
        with self.engine.begin() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(j.c.created_at)).where(waiting)).one()
        return count, _aware_time(oldest)

    def finish_job(
        self,
        job_id: int,
        owner: str,
        *,
        status: str,
        message_ts: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Record a held job's outcome (done or failed); False if ``owner`` no longer holds it."""
        return self._update_held(
            job_id,
            owner,
            status=status,
            message_ts=message_ts,
            last_error=error[:255] if error else None,
            locked_by=None,
        )

    def reschedule_job(
        self, job_id: int, owner: str, *, run_after: datetime, error: str, verify: bool = False
    ) -> bool:
        """Put a held job back in the queue until ``run_after`` (``verify``: it may be posted)."""
        values = dict(status=PENDING, run_after=run_after, last_error=error[:255], locked_by=None)
        if verify:
            values["verify"] = True
        return self._update_held(job_id, owner, **values)

    def _update_held(self, job_id: int, owner: str, **values) -> bool:
        j = AnswerJob.__table__
        statement = (
            update(j)
            .where(j.c.id == job_id, j.c.locked_by == owner, j.c.status == POSTING)
            .values(updated_at=utcnow(), **values)
            .returning(j.c.id)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar() is not None

    def beat(self, owner: str, started_at: datetime) -> None:
        """The process's heartbeat: its row in job_workers, and ``locked_at`` of its jobs."""
        now = utcnow()
        j = AnswerJob.__table__
        statement = self._insert(JobWorker).values(owner=owner, started_at=started_at, beat_at=now)
        statement = statement.on_conflict_do_update(index_elements=["owner"], set_={"beat_at": now})
        # Renew on the database's clock, never shortening a lease held over a call (hold_job).
        clock = db_now(self.dialect)
        renewed = case((j.c.locked_at > clock, j.c.locked_at), else_=clock)
        with self.engine.begin() as conn:
            conn.execute(statement)
            conn.execute(
                update(j).where(j.c.locked_by == owner, j.c.status == POSTING).values(locked_at=renewed)
            )

    def release_jobs(self, owner: str) -> int:
        """At shutdown: hand every job ``owner`` still holds to the next process at once (their
        posts may be in flight, so they are verified first). Returns how many."""
        j = AnswerJob.__table__
        # A job held over a call still in flight (hold_job) keeps its hold: released now, it
        # could be read back before that call's post lands, and posted twice.
        with self.engine.begin() as conn:
            released = conn.execute(
                update(j)
                .where(j.c.locked_by == owner, j.c.status == POSTING, j.c.locked_at <= db_now(self.dialect))
                .values(locked_at=_LONG_AGO, updated_at=utcnow())
            ).rowcount
            conn.execute(delete(JobWorker.__table__).where(JobWorker.__table__.c.owner == owner))
        return released

    def check_writable(self) -> None:
        """Write and remove a row: raises (SQLAlchemyError) when the database is read-only."""
        w = JobWorker.__table__
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(JobWorker)
                .values(owner="~write-check", started_at=now, beat_at=now)
                .on_conflict_do_update(index_elements=["owner"], set_={"beat_at": now})
            )
            conn.execute(delete(w).where(w.c.owner == "~write-check"))

    def job_counts(self) -> dict[str, int]:
        """How many jobs are in each status."""
        j = AnswerJob.__table__
        with self.engine.begin() as conn:
            rows = conn.execute(select(j.c.status, func.count()).group_by(j.c.status)).all()
        return {status: count for status, count in rows}

    def jobs(self, *, status: str | None = None) -> list[JobRecord]:
        """Every job (of one status), oldest first."""
        j = AnswerJob.__table__
        query = select(j).order_by(j.c.id)
        if status is not None:
            query = query.where(j.c.status == status)
        with self.engine.begin() as conn:
            return [_record(r) for r in conn.execute(query).mappings().all()]

    def job(self, key: str) -> JobRecord | None:
        j = AnswerJob.__table__
        with self.engine.begin() as conn:
            row = conn.execute(select(j).where(j.c.key == key)).mappings().first()
        return _record(row) if row else None

    def prune_jobs(self, older_than: timedelta = JOB_KEEP, *, now: datetime | None = None) -> int:
        """Forget finished jobs older than ``older_than``, and workers that stopped beating."""
        cutoff = (now or utcnow()) - older_than
        j, w = AnswerJob.__table__, JobWorker.__table__
        with self.engine.begin() as conn:
            removed = conn.execute(
                delete(j).where(j.c.status.in_((DONE, FAILED)), j.c.updated_at < cutoff)
            ).rowcount
            conn.execute(delete(w).where(w.c.beat_at < cutoff))
        return removed
