"""Reading back what a queued job may have posted, so it is posted exactly once.

Every message a job posts carries Slack message ``metadata`` naming the job (``event_type``
``advisor_answer``, ``event_payload.job`` = its key; ``messaging.post`` adds it). A job taken with
``verify`` set (its process died while posting, or a post timed out) first reads its thread
(``conversations.replies``) or channel (``conversations.history``) and is marked done, without
posting, if a message naming it is there. Replies through ``response_url`` (ephemeral) cannot be
read back: they are sent again after a crash (at least once).
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..storage.jobs import JobRecord
from .messaging import METADATA_EVENT_TYPE
from .retry import classify

logger = logging.getLogger(__name__)


def find_posted(client: WebClient, job: JobRecord) -> str | None:
    """The ts of a message in Slack that names ``job`` in its metadata, else None.

    A conversation the bot cannot read (a Slack error other than an outage) is logged and
    treated as "not there": posting twice is better than never answering.
    """
    try:
        channel = job.channel
        if channel.startswith(("U", "W")):  # a direct message addressed to the user
            channel = client.conversations_open(users=channel)["channel"]["id"]
        for message in _messages(client, channel, job):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("job") == job.key:
                return message.get("ts") or "?"
    except SlackApiError as exc:
        if classify(exc, job.attempts) is not None:
            raise
        logger.warning(
            "cannot read back job %s in %s (%s): posting it again",
            job.key,
            job.channel,
            exc.response.get("error"),
        )
    return None


def _messages(client: WebClient, channel: str, job: JobRecord, pages: int = 5):
    cursor = None
    for _ in range(pages):
        if job.thread_ts:
            response = client.conversations_replies(
                channel=channel, ts=job.thread_ts, include_all_metadata=True, limit=200, cursor=cursor
            )
        else:
            oldest = f"{job.created_at.timestamp() - 60:.6f}"
            response = client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor
            )
        yield from response.get("messages") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return
