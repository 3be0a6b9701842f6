"""Sending built messages: one place that sets unfurls off and never sets link_names."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import blocks
from .jobs import job_metadata

logger = logging.getLogger(__name__)

# Web API errors meaning the bot cannot post in a channel (not invited, or cannot see it).
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found"})


def post(client: WebClient, channel: str, message: dict, *, thread_ts: str | None = None):
    """chat.postMessage of a built message (text fallback + blocks), unfurls off. Posted by a
    queued job, the message names the job in its metadata (read back after a crash)."""
    return client.chat_postMessage(
        channel=channel,
        text=message["text"],
        blocks=message.get("blocks"),
        thread_ts=thread_ts,
        unfurl_links=False,
        unfurl_media=False,
        metadata=job_metadata(),
    )


def reply_privately(respond: Callable, message: dict, *, thread_ts: str | None = None) -> None:
    """An ephemeral message to the person who clicked or typed, through response_url."""
    response = respond(
        text=message["text"],
        blocks=message.get("blocks"),
        response_type="ephemeral",
        replace_original=False,
        unfurl_links=False,
        unfurl_media=False,
        thread_ts=thread_ts,
    )
    status = getattr(response, "status_code", 200)
    if status >= 300:
        raise RuntimeError(f"response_url answered HTTP {status}: {getattr(response, 'body', '')}")


def slack_error(exc: BaseException) -> str | None:
    """The Web API error code of a failed call (``not_in_channel``), else None."""
    if isinstance(exc, SlackApiError):
        return exc.response.get("error")
    return None


def report_failure(send: Callable[[dict], object], what: str, *args) -> None:
    """Log the exception being handled, then tell the user (best effort) that it failed."""
    logger.exception("failed to " + what, *args)
    try:
        send(blocks.error_message())
    except Exception:
        logger.exception("could not tell the user that we failed to " + what, *args)
