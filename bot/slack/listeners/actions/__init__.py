"""Block action listeners (buttons)."""

from __future__ import annotations

from slack_bolt import App

from ....storage import Store
from ... import blocks
from ...cards import Cards
from .answer_buttons import AnswerButtons
from .home_buttons import open_ask_modal


def register(app: App, *, cards: Cards, store: Store) -> None:
    buttons = AnswerButtons(cards, store)
    app.action(blocks.MORE_PASSAGES)(buttons.more_passages)
    app.action(blocks.SHARE_PASSAGES)(buttons.share_passages)
    app.action(blocks.FEEDBACK)(buttons.vote)
    app.action(blocks.FEEDBACK_HELPFUL)(buttons.vote)  # cards posted before the vote control
    app.action(blocks.FEEDBACK_NOT_HELPFUL)(buttons.vote)
    app.action(blocks.SHARE_ANSWER)(buttons.share)
    app.action(blocks.ASK_SUGGESTION_PATTERN)(buttons.ask_suggestion)
    app.action(blocks.OPEN_ASK_MODAL)(open_ask_modal)
