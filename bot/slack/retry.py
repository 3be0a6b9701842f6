"""Which failures of a queued job's attempt can pass, and when to try again.

A 429 is retried after its Retry-After (capped at RETRY_AFTER_CAP: no thread sleeps out a slow
channel); a timeout, a reset or a 5xx with backoff, verified first (``verify``: Slack may have
acted on the request); a call that never left this machine with backoff, unverified. Anything
else (a Slack error naming a mistake) is not retried.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from .client import never_sent

MAX_ATTEMPTS = 6
RETRY_AFTER_CAP = 20.0  # seconds: a longer Retry-After is retried at the cap (and counted)
SLACK_OUTAGE_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})


@dataclass(frozen=True)
class Retry:
    after: float  # seconds
    why: str
    verify: bool  # the attempt may have posted: look before posting again


def classify(exc: BaseException, attempts: int) -> Retry | None:
    """A retry for a failure that can pass (rate limit, Slack outage, network), else None."""
    backoff = min(2.0**attempts, 30.0)
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
