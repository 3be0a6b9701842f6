"""The agent surface around an answer: the "thinking" status while a question is answered
(a DM or a mention's thread), and a DM thread's title.

``assistant.threads.setStatus`` shows "advisor is reading the article..." under the
conversation; posting the answer ends it, and this clears it explicitly too (an empty
status), so a failed answer never leaves it spinning for Slack's two-minute timeout.
``assistant.threads.setTitle`` names a DM conversation after its first question (a short
title), so the DM history lists conversations by what was asked. Both are decoration: if
Slack refuses them (an app without the agent view, a missing scope) that is logged and the
answer goes out all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient

from . import blocks

logger = logging.getLogger(__name__)


def status_thread(event: dict) -> str | None:
    """The thread a status belongs to: the message's thread, or the thread its answer starts."""
    return event.get("thread_ts") or event.get("ts")


def _set(client: WebClient, channel: str, thread_ts: str, status: str, loading: list[str] | None) -> bool:
    try:
        client.assistant_threads_setStatus(
            channel_id=channel,
            thread_ts=thread_ts,
            status=status,
            loading_messages=loading if status else None,
        )
        return True
    except Exception as exc:
        logger.warning("could not %s the status in %s: %s", "set" if status else "clear", channel, exc)
        return False


@contextmanager
def thinking(client: WebClient, event: dict, lang: str = "en") -> Iterator[None]:
    """Show the "reading the article" status while the body runs, then clear it."""
    thread_ts = status_thread(event)
    status, loading = blocks.thinking(lang)
    shown = bool(thread_ts and event.get("channel")) and _set(
        client, event["channel"], thread_ts, status, loading
    )
    try:
        yield
    finally:
        if shown:
            _set(client, event["channel"], thread_ts, "", None)


def set_title(client: WebClient, channel: str, thread_ts: str, question: str) -> bool:
    """Name a DM thread after its question (a short title); False if Slack refused."""
    try:
        client.assistant_threads_setTitle(
            channel_id=channel, thread_ts=thread_ts, title=blocks.short_title(question)
        )
        return True
    except Exception as exc:
        logger.warning("could not set the title of thread %s in %s: %s", thread_ts, channel, exc)
        return False
