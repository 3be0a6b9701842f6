"""What a question gets back: everything a surface shows, from one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..knowledge import Source
from ..passages import Passage

Status = Literal["answered", "low_confidence", "not_covered"]
Stance = Literal["backs", "warns", "depends"]


@dataclass(frozen=True)
class Hit:
    passage: Passage  # widened to the whole quote when the quote runs past the passage
    quote: str
    owner: str | None  # the verdict the quote carries, or None when it assigns nothing
    score: float
    document_title: str = ""  # the title of the document the passage is from
    source: Source | None = None  # that document's publisher, date and address, when known

    def to_dict(self) -> dict:
        return {
            "id": self.passage.id,
            "section": self.passage.section,
            "text": self.passage.text,
            "quote": self.quote,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    owner: str | None
    hits: tuple[Hit, ...]
    # For a refusal: the curated questions closest to this one (ones the knowledge answers).
    suggestions: tuple[str, ...] = ()
    # For a plan (bot.search.stance): what the article says of it, the sentence that says it,
    # and for "depends" the condition it depends on; None for a question that is not a plan.
    stance: Stance | None = None
    stance_quote: str | None = None
    stance_condition: str | None = None

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "owner": self.owner,
            "stance": self.stance,
            "stance_quote": self.stance_quote,
            "stance_condition": self.stance_condition,
            "passages": [hit.to_dict() for hit in self.hits],
        }
