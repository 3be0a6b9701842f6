"""The agent surface's "thinking" status while a DM (or assistant-thread) question is answered.

``assistant.threads.setStatus`` shows "advisor is reading the article..." under the
conversation; posting the answer ends it, and this clears it explicitly too (an empty
status), so a failed answer never leaves it spinning for Slack's two-minute timeout. The
status is decoration: if Slack refuses it (an app without the agent view, a missing scope)
that is logged and the answer goes out all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient

from . import blocks

logger = logging.getLogger(__name__)


def status_thread(event: dict) -> str | None:
    """The thread a status belongs to: a DM message's thread (or the message itself); None
    outside DMs, where Slack shows no status."""
    if event.get("channel_type") != "im" and not str(event.get("channel", "")).startswith("D"):
        return None
    return event.get("thread_ts") or event.get("ts")


def _set(client: WebClient, channel: str, thread_ts: str, status: str) -> bool:
    try:
        client.assistant_threads_setStatus(
            channel_id=channel,
            thread_ts=thread_ts,
            status=status,
            loading_messages=list(blocks.LOADING_MESSAGES) if status else None,
        )
        return True
    except Exception as exc:
        logger.warning("could not %s the status in %s: %s", "set" if status else "clear", channel, exc)
        return False


@contextmanager
def thinking(client: WebClient, event: dict) -> Iterator[None]:
    """Show the "reading the article" status while the body runs (DMs only), then clear it."""
    thread_ts = status_thread(event)
    shown = bool(thread_ts) and _set(client, event["channel"], thread_ts, blocks.THINKING)
    try:
        yield
    finally:
        if shown:
            _set(client, event["channel"], thread_ts, "")
