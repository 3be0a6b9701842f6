"""Where Slack's requests enter the app: every body made storable, unusable ones dropped.

``guard_inbound`` is the Bolt app's first middleware of its own, so it runs for every request
whichever way it came (HTTP or Socket Mode) and before any listener:

- every string in the body is made storable (``bot.text.storable``: a lone surrogate becomes
  U+FFFD, a NUL is dropped), in place, so the ``event``, ``command`` and ``payload`` a listener
  is handed, and everything it stores from them, are clean. This is the one place user text
  is cleaned on the way in.
- an event or interaction the bot cannot use (a message event without ``channel`` or ``ts``,
  an event that is not an object, a view submission without a view) is acknowledged with a
  quiet 200 and one log line instead of reaching a listener that would fail on it: a 500
  would make Slack send it again, and fail the same way.

(The HTTP front, ``bot.slack.server``, refuses bodies that do not parse, JSON nested past the
parser's depth included, with a 400 before Bolt sees them.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse

from ..text import storable

logger = logging.getLogger(__name__)

# Events whose listeners read these fields (bot/slack/listeners/events/questions.py).
_MESSAGE_EVENTS = {"app_mention": ("channel", "ts"), "message": ("channel", "ts")}


def clean_strings(node):
    """``node`` (JSON-shaped: dicts, lists, strings) with every string made storable, in place
    for dicts and lists; the node."""
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = clean_strings(value)
        return node
    if isinstance(node, list):
        for i, value in enumerate(node):
            node[i] = clean_strings(value)
        return node
    if isinstance(node, str):
        return storable(node)
    return node


def unusable(body: dict) -> str | None:
    """Why the bot cannot act on ``body`` (None if it can)."""
    if body.get("type") == "event_callback" or "event" in body:
        event = body.get("event")
        if not isinstance(event, dict):
            return "the event is not an object"
        kind = event.get("type")
        if not isinstance(kind, str):
            return "the event has no type"
        needed = _MESSAGE_EVENTS.get(kind, ())
        if event.get("subtype") is None or kind == "app_mention":
            missing = [name for name in needed if not isinstance(event.get(name), str) or not event.get(name)]
            if missing:
                return f"{kind} event without {', '.join(missing)}"
        if "text" in event and not isinstance(event["text"], str):
            return f"{kind} event whose text is not a string"
    if body.get("type") == "view_submission":
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return "view submission without a view"
        if not isinstance(view.get("state", {}), dict):
            return "view submission whose state is not an object"
    return None


def guard_inbound(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
    """Bolt middleware: clean the body's strings; drop (200, one log line) what cannot be used."""
    body = req.body
    if isinstance(body, dict):
        clean_strings(body)
        problem = unusable(body)
        if problem is not None:
            logger.warning("dropped a request from Slack: %s", problem)
            return BoltResponse(status=200, body="")
    return next()
