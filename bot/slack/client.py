"""The Web API client every part of the bot uses: one base URL seam, bounded 429 retries."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from ..config import Settings

RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


def retry_handlers() -> list:
    """429s wait out Retry-After (slack_sdk's handler), connection errors back off; both bounded."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
    ]


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient pointed at ``settings.slack_api_url`` (a fake Slack in tests)."""
    client = WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=retry_handlers(),
    )
    return client
