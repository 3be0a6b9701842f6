"""What the scheduler is handed to publish a tip, and how a post can fail.

The scheduler knows nothing of Slack: the composition root (``bot.serve``) hands it a
``Poster`` (``bot.slack.tips.SlackTipPoster``), which turns the platform's errors into these.
"""

from __future__ import annotations

from typing import Protocol

from .catalog import Tip


class PostError(Exception):
    """A tip was not (or may not have been) posted; ``reason`` is a short code (``not_in_channel``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ChannelUnavailable(PostError):
    """The channel is gone or closed to the bot: pause it, keep serving the others."""


class WorkspaceRevoked(PostError):
    """The workspace took the bot's access away: deactivate all of its subscriptions."""


class PostFailed(PostError):
    """Nothing was posted (refused, or never sent): retried on a later check."""


class PostUnconfirmed(PostError):
    """No answer after the request went out: it may have been posted, so it is never retried."""


class Poster(Protocol):
    def __call__(self, channel: str, tip: Tip, *, team: str | None = None) -> str | None:
        """Post ``tip`` to ``channel`` of workspace ``team``; the message's id (Slack's ts), or
        raise a PostError."""
