"""The Web API client every part of the bot uses: one base URL seam, bounded, safe retries."""

from __future__ import annotations

import socket
from typing import Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from ..config import Settings

RATE_LIMIT_RETRIES = 2
# A 429 whose Retry-After is at most this is waited out on the calling thread; a longer one is
# raised (SlackApiError, status 429), and a queued job is rescheduled instead (bot.slack.jobs).
RATE_LIMIT_WAIT = 2.0
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 10  # every Web API call: connect and read


def never_sent(error: BaseException | None) -> bool:
    """True when a failed call cannot have reached Slack: connection refused, or no DNS answer.

    Anything else (a reset or a closed connection after the request went out, a read timeout)
    may come after Slack acted on the request, so it is not safe to send it again.
    """
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


class UnsentRequestRetryHandler(RetryHandler):
    """Retries only calls that never left this machine (unlike slack_sdk's connection handler,
    which also retries a reset after sending, and so can post a message twice)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return response is None and never_sent(error)


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (waits Retry-After), only for a Retry-After of RATE_LIMIT_WAIT
    seconds or less: a thread never sleeps out a long rate limit."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        values = (response.headers or {}).get("retry-after") or (response.headers or {}).get("Retry-After")
        value = values[0] if isinstance(values, list) and values else values
        try:
            return float(value) <= RATE_LIMIT_WAIT
        except (TypeError, ValueError):
            return True  # no Retry-After: slack_sdk waits about a second


def retry_handlers() -> list[RetryHandler]:
    """Short 429s wait out Retry-After, long ones are raised; unsent calls back off; bounded."""
    return [
        ShortRateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        UnsentRequestRetryHandler(max_retry_count=CONNECTION_RETRIES),
    ]


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient pointed at ``settings.slack_api_url`` (a fake Slack in tests)."""
    client = WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
    )
    return client


class WorkspaceClients(Protocol):
    """The Web API client to use for one workspace (team).

    The seam between single-workspace token mode and OAuth installs: work done outside a
    request from Slack (queued answers, tips) asks for its team's client here instead of
    holding one client. ``enterprise_id`` is given for Enterprise Grid installs.
    """

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> WebClient:
        """The team's client; raises ``NotInstalled`` when the app is not installed there
        (OAuth mode), ``slack_sdk.errors.SlackTokenRotationError`` when its token could not
        be refreshed."""
        ...


class SingleWorkspace:
    """Token mode: one bot token (``SLACK_BOT_TOKEN``), the same client for every team."""

    def __init__(self, client: WebClient):
        self.client = client

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> WebClient:
        return self.client


class NotInstalled(LookupError):
    """No installation of the app (with a bot token) for this workspace: uninstalled, or never."""

    def __init__(self, team_id: str | None, enterprise_id: str | None = None):
        super().__init__(f"the app is not installed in workspace {team_id or enterprise_id}")
        self.team_id = team_id
        self.enterprise_id = enterprise_id
