"""Ask an expert: the buttons on answer cards and on the experts' posts, and the experts'
replies in those posts' threads (``escalations.py``)."""

from __future__ import annotations

from slack_bolt import App

from ...blocks.experts import ASK_EXPERT, SAVE_EXPERT_ANSWER, TAKE_ESCALATION
from ...cards import Cards
from ...queue import JobQueue
from .escalations import SAVE, TAKE, Escalations, EscalationStore


def register(
    app: App, *, cards: Cards, store: EscalationStore, queue: JobQueue, keep_text: bool = True
) -> Escalations:
    """Add the experts' jobs and buttons; the returned ``Escalations`` also takes the replies in
    experts' threads (the question listeners hand them over: ``on_thread_reply``)."""
    escalations = Escalations(cards, store, queue, keep_text=keep_text)
    queue.add(escalations.handlers())
    app.action(ASK_EXPERT)(escalations.on_ask_expert)
    app.action(TAKE_ESCALATION)(queue.listener(TAKE))
    app.action(SAVE_EXPERT_ANSWER)(queue.listener(SAVE))
    return escalations
