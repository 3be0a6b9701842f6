"""Each consumer depends on a narrow interface (a Protocol beside it); the one ``Store`` the
composition root opens serves every one of them: same method names, and every call a consumer
may make through its interface is a call ``Store`` accepts."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest

from bot.report import ReportStore
from bot.slack.experts import DeskStore
from bot.slack.listeners.actions.answer_buttons import VoteStore
from bot.slack.listeners.commands import CommandStore
from bot.slack.listeners.events import EventsStore
from bot.slack.listeners.experts.escalations import EscalationStore
from bot.slack.question_log import QuestionLogWriter
from bot.slack.queue import JobStore
from bot.storage import Store
from bot.tips.ledger import SchedulerStore, Subscriptions, TipLedger

INTERFACES = [
    JobStore,
    VoteStore,
    QuestionLogWriter,
    EventsStore,
    CommandStore,
    ReportStore,
    Subscriptions,
    TipLedger,
    SchedulerStore,
    DeskStore,
    EscalationStore,
]


def members(protocol: type) -> dict[str, object]:
    found = {}
    for klass in reversed(protocol.__mro__):
        if klass in (object, Protocol) or not getattr(klass, "_is_protocol", False):
            continue
        found.update({n: f for n, f in vars(klass).items() if callable(f) and not n.startswith("_")})
    return found


def accepts(store_method, wanted: inspect.Signature) -> list[str]:
    """What a call shaped like ``wanted`` could pass that ``store_method`` would refuse."""
    have = inspect.signature(store_method).parameters
    var_kw = any(p.kind is p.VAR_KEYWORD for p in have.values())
    problems = []
    for name, p in list(wanted.parameters.items())[1:]:
        mine = have.get(name)
        if mine is None:
            if not (var_kw and p.kind is p.KEYWORD_ONLY):
                problems.append(f"no parameter {name}")
        elif p.kind is p.POSITIONAL_OR_KEYWORD and mine.kind is not p.POSITIONAL_OR_KEYWORD:
            problems.append(f"{name} cannot be passed by position")
        elif p.default is not p.empty and mine.default is mine.empty:
            problems.append(f"{name} may be left out, but the store requires it")
    for name, mine in have.items():
        required = mine.default is mine.empty and mine.kind not in (mine.VAR_KEYWORD, mine.VAR_POSITIONAL)
        if name != "self" and required and name not in wanted.parameters:
            problems.append(f"the store requires {name}")
    return problems


def test_the_interfaces_are_narrow():
    everything = {n for n in dir(Store) if not n.startswith("_") and callable(getattr(Store, n))}
    for protocol in INTERFACES:
        assert 0 < len(members(protocol)) < len(everything) / 2, protocol.__name__


@pytest.mark.parametrize("protocol", INTERFACES, ids=lambda p: p.__name__)
def test_the_store_serves_every_consumers_interface(protocol):
    for name, method in members(protocol).items():
        assert hasattr(Store, name), f"{protocol.__name__}.{name}: Store has no such method"
        problems = accepts(getattr(Store, name), inspect.signature(method))
        assert problems == [], f"{protocol.__name__}.{name}: {problems}"
