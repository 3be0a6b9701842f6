"""Block action listeners (buttons)."""

from __future__ import annotations

from slack_bolt import App, BoltContext

from ....storage import Store
from ... import blocks
from ...cards import Cards
from ...jobs import JobQueue
from .answer_buttons import AnswerButtons, Clicked
from .home_buttons import open_ask_modal


def in_reply_thread(body: dict) -> tuple[str, str | None]:
    """Where More passages posts: the card's thread (for the queue to read back)."""
    clicked = Clicked.of(body, (body.get("actions") or [{}])[0], BoltContext())
    return clicked.channel, clicked.reply_thread


def at_top_level(body: dict) -> tuple[str, str | None]:
    """Where Share posts: the channel itself."""
    return Clicked.of(body, (body.get("actions") or [{}])[0], BoltContext()).channel, None


def register(app: App, *, cards: Cards, store: Store, queue: JobQueue) -> None:
    """The answer buttons' work is queued (``JobQueue.deferred``) before the click is acked;
    opening the ask form is not (its trigger_id expires in 3 seconds)."""
    buttons = AnswerButtons(cards, store)
    app.action(blocks.MORE_PASSAGES)(queue.deferred("more_passages", buttons.more_passages))
    app.action(blocks.SHARE_PASSAGES)(
        queue.deferred("share_passages", buttons.share_passages, where=in_reply_thread)
    )
    vote = queue.deferred("vote", buttons.vote)
    app.action(blocks.FEEDBACK)(vote)
    app.action(blocks.FEEDBACK_HELPFUL)(vote)  # cards posted before the vote control
    app.action(blocks.FEEDBACK_NOT_HELPFUL)(vote)
    app.action(blocks.SHARE_ANSWER)(queue.deferred("share", buttons.share, where=at_top_level))
    app.action(blocks.ASK_SUGGESTION_PATTERN)(queue.deferred("ask_suggestion", buttons.ask_suggestion))
    app.action(blocks.OPEN_ASK_MODAL)(open_ask_modal)
