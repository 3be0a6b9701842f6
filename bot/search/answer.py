"""What a question gets back: everything a surface shows, from one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..knowledge import Source
from ..passages import Passage

Status = Literal["answered", "low_confidence", "not_covered"]


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
    # The question's language (ISO 639-1, bot/search/language.py): the card's words follow it;
    # the quote stays the knowledge's English.
    language: str = "en"

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "owner": self.owner,
            "language": self.language,
            "passages": [hit.to_dict() for hit in self.hits],
        }
