"""Sending built messages: one place that sets unfurls off and never sets link_names."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import blocks

if TYPE_CHECKING:
    from ..storage.jobs import JobRecord

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "advisor_answer"  # the metadata naming the queued job that posted a message

# The job whose handler is running on this thread (set by the queue's workers): ``post``
# names it in the message, so a job resumed after a crash can find what it posted.
current_job: contextvars.ContextVar[JobRecord | None] = contextvars.ContextVar("current_job", default=None)

# Called right before a queued job's post leaves (set by the queue's workers): it extends the
# job's lease over the call, and raises when the job was taken over (then nothing is posted).
before_post: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "before_post", default=None
)

# Web API errors meaning the bot cannot post in a channel (not invited, or cannot see it).
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found"})


def job_metadata() -> dict | None:
    """The ``metadata`` of a message posted by the running job (None outside a job)."""
    job = current_job.get()
    if job is None:
        return None
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"job": job.key}}


def post(client: WebClient, channel: str, message: dict, *, thread_ts: str | None = None):
    """chat.postMessage of a built message (text fallback + blocks), unfurls off. Posted by a
    queued job, the message names the job in its metadata (read back after a crash), and is
    sent only under a lease that covers the call (``before_post``)."""
    hold = before_post.get()
    if hold is not None:
        hold()
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
