"""Which failures of a queued job's attempt can pass, and when to try again.

A Slack outage is waited out, not given up on: a call that never reached Slack (refused, no
DNS answer), one that got no answer (a reset, a timeout) and a 5xx are retried with capped
exponential backoff and jitter for as long as the job's retry budget lasts
(``RetryPolicy.budget``, ``ADVISOR_SLACK_RETRY_BUDGET_SECONDS``: six hours by default, see
docs/reliability.md); a 429 after its Retry-After (capped at RETRY_AFTER_CAP: no thread sleeps
out a slow channel). A call that may have reached Slack is retried ``verify``: Slack may have
acted on it, so what it posted is looked for first. Only an error Slack returns for the request
itself (``channel_not_found``, ``not_in_channel``, ``invalid_blocks``...) fails the job.
The database out of reach in the middle of an attempt (a stall, a restart: the handler logs the
question, the lease is held before a post) is waited out the same way: the attempt may have
posted before it, so the next one looks first.
"""

from __future__ import annotations

import http.client
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.error import URLError

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..config import Settings
from .client import never_sent

RETRY_AFTER_CAP = 20.0  # seconds: a longer Retry-After is retried at the cap (and counted)
SLACK_OUTAGE_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
FIRST_BACKOFF = 1.0  # seconds before the first retry; doubled each attempt up to the cap


@dataclass(frozen=True)
class Retry:
    after: float  # seconds
    why: str
    verify: bool  # the attempt may have posted: look before posting again


@dataclass(frozen=True)
class RetryPolicy:
    """How long a job keeps trying through an outage (``budget``, from its creation) and the
    longest wait between two attempts (``cap``)."""

    budget: float = 6 * 3600.0
    cap: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(budget=settings.slack_retry_budget_seconds, cap=settings.slack_retry_cap_seconds)

    def backoff(self, attempts: int) -> float:
        """Capped exponential backoff with jitter (half to all of the step): workers that
        failed together in an outage do not all come back in the same second."""
        step = min(self.cap, FIRST_BACKOFF * 2.0 ** min(attempts, 40))
        return step * random.uniform(0.5, 1.0)

    def spent(self, created_at: datetime, now: datetime, after: float) -> bool:
        """The next attempt, ``after`` s from ``now``, would fall past the budget."""
        return now + timedelta(seconds=after) - created_at > timedelta(seconds=self.budget)


def classify(exc: BaseException, attempts: int, policy: RetryPolicy | None = None) -> Retry | None:
    """A retry for a failure that can pass (rate limit, Slack outage, network), else None."""
    backoff = (policy or RetryPolicy()).backoff(attempts)
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        if status == 429:
            retry_after = _retry_after(exc)
            return Retry(
                min(retry_after, RETRY_AFTER_CAP), f"ratelimited (Retry-After {retry_after:g}s)", False
            )
        if status >= 500 or error in SLACK_OUTAGE_ERRORS:
            return Retry(backoff, f"Slack answered {error or f'HTTP {status}'}", True)
        return None
    if isinstance(exc, OperationalError | PoolTimeout):
        cause = getattr(exc, "orig", None) or exc
        return Retry(backoff, f"database unavailable: {type(cause).__name__}", True)
    if never_sent(exc):
        return Retry(backoff, f"cannot reach Slack: {type(exc).__name__}", False)
    if isinstance(
        exc, TimeoutError | socket.timeout | ConnectionError | URLError | http.client.HTTPException
    ):
        return Retry(backoff, f"no answer from Slack: {type(exc).__name__}", True)
    return None


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0


def describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack error {exc.response.get('error')}"
    return f"{type(exc).__name__}: {exc}"
