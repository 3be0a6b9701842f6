"""SQLAlchemy 2 models: the bot's event dedupe, threads, feedback and answer jobs; tip subscriptions
and posts; the question log; the OAuth tables (slack_sdk's, defined in ``installations``).

The schema itself is owned by the Alembic migrations in ``bot/storage/migrations``; these
models must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ProcessedEvent(Base):
    """A Slack event (or any other key) that has been claimed for processing once."""

    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Thread(Base):
    """A thread the bot answered in, with the person who asked; closed once others join."""

    __tablename__ = "threads"

    team: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    thread_ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    asker: Mapped[str] = mapped_column(String(32))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Feedback(Base):
    """A helpful / not helpful vote on one answer; the last vote per user wins."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("team", "channel", "message_ts", "user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    passage_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Subscription(Base):
    """A channel subscribed to one tip a day at a local time in a time zone."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("team", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    local_time: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    tz: Mapped[str] = mapped_column(String(64))
    days: Mapped[str] = mapped_column(String(16))  # "weekdays" | "daily"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Post(Base):
    """Today's tip for one channel: claimed before Slack is called, so it exists at most once."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("team", "channel", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[date] = mapped_column(Date)
    tip_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # claimed -> sent | failed (retried on a later check) | gave_up | unknown (no answer from Slack)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TipOrder(Base):
    """A channel's walk through the tips: a shuffled order and how far along it is."""

    __tablename__ = "tip_orders"

    team: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    tip_order: Mapped[str] = mapped_column(Text)  # JSON list of tip ids
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuestionLog(Base):
    """One answered or refused question: what the admin's report counts.

    No channel and no user: the team, the kind of conversation and the outcome. The text is
    kept for ``ADVISOR_QUESTION_RETENTION_DAYS`` and then set to NULL (the row stays, so the
    counts do); ``message_ts`` (the answer's, None for private answers) attaches votes.
    """

    __tablename__ = "question_log"
    __table_args__ = (Index("ix_question_log_team_asked_at", "team", "asked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(32))
    channel_type: Mapped[str] = mapped_column(String(16))  # channel | group | im | mpim | unknown
    status: Mapped[str] = mapped_column(String(16))  # answered | low_confidence | not_covered
    top_section: Mapped[str | None] = mapped_column(String(255), nullable=True)
    top_passage: Mapped[str | None] = mapped_column(String(255), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- OAuth installs: slack_sdk's SQLAlchemy stores' tables (bot.storage.installations uses them),
# copied column for column with every time column timezone-aware. A test compares them with
# the installed slack_sdk's own definitions.


def _time(name: str, *, nullable: bool = True, **kw) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable, **kw)


def _bot_columns() -> list[Column]:
    return [
        Column("bot_token", String(200)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(200)),
        _time("bot_token_expires_at"),
    ]


slack_installations = Table(
    "slack_installations",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    *_bot_columns(),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(200)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(200)),
    _time("user_token_expires_at"),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    _time("installed_at", nullable=False, default=func.now()),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    *_bot_columns(),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    _time("installed_at", nullable=False, default=func.now()),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    _time("expire_at", nullable=False),
)


class AnswerJob(Base):
    """Acknowledged work (an answer to post, a command or click to carry out), kept until done.

    pending -> posting (a worker holds it; ``locked_at`` is its process's heartbeat) -> done |
    failed; a rescheduled job goes back to pending with ``run_after`` later. ``verify`` says a
    post may already have reached Slack, so the thread is read before posting again.
    """

    __tablename__ = "answer_jobs"
    __table_args__ = (Index("ix_answer_jobs_status_run_after", "status", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(32))
    enterprise: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    verify: Mapped[bool] = mapped_column(Boolean, default=False)
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExpertsChannel(Base):
    """Where a workspace's questions go when someone asks an expert (one channel a workspace)."""

    __tablename__ = "experts_channels"

    team: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    set_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Escalation(Base):
    """A question sent to the experts: claimed by ``key`` before Slack is called (one per card).

    ``question`` and ``answer`` are texts: cleared with the question log's retention (the row
    and its times stay, for the report); ``expert_ts`` is the post in the experts channel.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_team_experts_channel_expert_ts", "team", "experts_channel", "expert_ts"),
        Index("ix_escalations_team_created_at", "team", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    team: Mapped[str] = mapped_column(String(32))
    asker: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))  # the asker's conversation
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # what the advisor answered
    experts_channel: Mapped[str] = mapped_column(String(32))
    expert_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expert: Mapped[str | None] = mapped_column(String(32), nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SavedAnswer(Base):
    """An expert's answer kept for the next asker of a question like it, in one workspace."""

    __tablename__ = "saved_answers"
    __table_args__ = (Index("ix_saved_answers_team", "team"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    expert: Mapped[str] = mapped_column(String(32))  # who answered
    saved_by: Mapped[str] = mapped_column(String(32))
    escalation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SavedAnswerUse(Base):
    """A card that showed a saved answer: its reuse count, and (by the card's ts) its votes."""

    __tablename__ = "saved_answer_uses"
    __table_args__ = (Index("ix_saved_answer_uses_team_used_at", "team", "used_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(32))
    saved_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobWorker(Base):
    """A serving process's heartbeat: its jobs are taken over once it stops beating."""

    __tablename__ = "job_workers"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
