"""The experts' part of the admin's report: questions sent to the experts, how soon they were
answered, those still waiting, and each saved answer with how often it was shown and the
votes on the cards that showed it. Built from the store alone (``ExpertsReportStore``);
``bot.report`` adds it to the report, and the App Home's admin section shows a week of it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .storage.experts import EscalationRecord, SavedUsage


class ExpertsReportStore(Protocol):
    """What the experts' figures read (``bot.storage.Store`` is one)."""

    def escalations(
        self, *, since: datetime | None = None, team: str | None = None
    ) -> list[EscalationRecord]: ...

    def saved_usage(self, *, since: datetime | None = None, team: str | None = None) -> list[SavedUsage]: ...


@dataclass(frozen=True)
class SavedFigures:
    id: int
    question: str
    uses: int
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class ExpertFigures:
    escalations: int = 0
    answered: int = 0
    unanswered: int = 0
    median_minutes_to_answer: float | None = None
    saved: list[SavedFigures] = field(default_factory=list)  # most shown first

    @property
    def reuses(self) -> int:
        return sum(s.uses for s in self.saved)


def build_experts(store: ExpertsReportStore, *, since: datetime, team: str | None) -> ExpertFigures:
    """Escalations asked since ``since``; every saved answer, with its uses since ``since``."""
    asked = store.escalations(since=since, team=team)
    waits = [(e.answered_at - e.created_at).total_seconds() / 60 for e in asked if e.answered_at is not None]
    saved = [
        SavedFigures(s.saved_id, s.question, s.uses, s.helpful, s.not_helpful)
        for s in store.saved_usage(since=since, team=team)
    ]
    return ExpertFigures(
        escalations=len(asked),
        answered=len(waits),
        unanswered=len(asked) - len(waits),
        median_minutes_to_answer=statistics.median(waits) if waits else None,
        saved=sorted(saved, key=lambda s: (-s.uses, s.id)),
    )


def wait_text(minutes: float | None) -> str:
    if minutes is None:
        return "-"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def experts_lines(figures: ExpertFigures, top: int = 10) -> list[str]:
    """The experts' part of ``advisor report``'s text."""
    lines = [
        f"asked an expert: {figures.escalations} ({figures.answered} answered, "
        f"{figures.unanswered} waiting); median time to an expert's answer: "
        f"{wait_text(figures.median_minutes_to_answer)}",
        f"saved answers: {len(figures.saved)}, shown {figures.reuses} time(s)",
    ]
    if figures.saved:
        lines.append("saved answers (shown; helpful / not helpful):")
        lines += [
            f"  #{s.id} {s.uses:>4}; {s.helpful} / {s.not_helpful}  {s.question[:100]}"
            for s in figures.saved[:top]
        ]
    return lines
