"""Block action listeners (buttons)."""

from __future__ import annotations

from slack_bolt import App, BoltContext

from ... import blocks
from ...admin_home import SEND_REPORT
from ...cards import Cards
from ...experts import ExpertDesk
from ...queue import JobQueue
from .admin_report import REPORT_JOB, AdminReport
from .answer_buttons import AnswerButtons, Clicked, VoteStore
from .home_buttons import open_ask_modal


def in_reply_thread(body: dict) -> tuple[str, str | None]:
    """Where shared passages are posted: the thread their button names, or the channel (for
    the queue to read back)."""
    clicked = Clicked.of(body, (body.get("actions") or [{}])[0], BoltContext())
    return clicked.channel, clicked.value.get("t") or None


def at_top_level(body: dict) -> tuple[str, str | None]:
    """Where Share posts: the channel itself."""
    return Clicked.of(body, (body.get("actions") or [{}])[0], BoltContext()).channel, None


def register(
    app: App, *, cards: Cards, store: VoteStore, queue: JobQueue, desk: ExpertDesk | None = None
) -> None:
    """The answer buttons' work is queued before the click is acked; opening the ask form is
    not (its trigger_id expires in 3 seconds)."""
    buttons = AnswerButtons(cards, store, desk=desk)
    queue.add(buttons.handlers())
    queue.add(AdminReport(cards, store).handlers())  # the store is the whole Store: a ReportStore too
    app.action(SEND_REPORT)(queue.listener(REPORT_JOB))
    app.action(blocks.MORE_PASSAGES)(queue.listener("more_passages"))
    app.action(blocks.SHARE_PASSAGES)(queue.listener("share_passages", where=in_reply_thread))
    vote = queue.listener("vote")
    app.action(blocks.FEEDBACK)(vote)
    app.action(blocks.FEEDBACK_HELPFUL)(vote)  # cards posted before the vote control
    app.action(blocks.FEEDBACK_NOT_HELPFUL)(vote)
    app.action(blocks.SHARE_ANSWER)(queue.listener("share", where=at_top_level))
    app.action(blocks.ASK_SUGGESTION_PATTERN)(queue.listener("ask_suggestion"))
    app.action(blocks.OPEN_ASK_MODAL)(open_ask_modal)
