"""Logging each answered or refused question for the admin's report (bot.storage.question_log).

One call, ``QuestionLog.record``, after an answer card went out. It never breaks an answer: a
failure to log is logged with its traceback and forgotten. What it keeps is in docs/privacy.md.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Protocol

from ..config import QUESTION_RETENTION_DAYS
from ..search.answer import Answer
from ..storage import JobRecord

logger = logging.getLogger(__name__)

# A conversation id's first letter, when the event does not say the channel type
# (app_mention events, slash commands): public channel, private channel, DM.
_PREFIX_TYPES = {"C": "channel", "G": "group", "D": "im"}


def channel_type(channel: str | None, given: str | None = None) -> str:
    """The kind of conversation (channel, group, im, mpim), never which one it was."""
    if given:
        return given
    return _PREFIX_TYPES.get((channel or "?")[0], "unknown")


def job_started(job: JobRecord) -> float:
    """When a queued question came in, on the ``time.monotonic()`` clock (its job's creation),
    so a logged latency includes the time it waited in the queue."""
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)
    return time.monotonic() - max(0.0, (datetime.now(UTC) - created).total_seconds())


class QuestionLogWriter(Protocol):
    """What the question log needs of the store (``bot.storage.Store`` is one)."""

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
    ) -> int: ...


class QuestionLog:
    """Records questions in ``store``; their text kept for ``retention_days`` (0: never)."""

    def __init__(self, store: QuestionLogWriter, retention_days: int = QUESTION_RETENTION_DAYS):
        self.store = store
        self.retention_days = retention_days

    def record(
        self,
        *,
        team: str,
        channel: str | None,
        answer: Answer,
        started: float,
        given_type: str | None = None,
        message_ts: str | None = None,
    ) -> None:
        """``answer`` went out ``time.monotonic() - started`` seconds after the question came in."""
        top = answer.hits[0] if answer.hits else None
        try:
            self.store.log_question(
                team=team,
                channel_type=channel_type(channel, given_type),
                status=answer.status,
                question=answer.question if self.retention_days > 0 else None,
                top_section=top.passage.section if top else None,
                top_passage=top.passage.id if top else None,
                score=round(float(top.score), 4) if top else None,
                latency_ms=round((time.monotonic() - started) * 1000),
                message_ts=message_ts,
            )
        except Exception:
            logger.exception("could not log a question of workspace %s", team)
