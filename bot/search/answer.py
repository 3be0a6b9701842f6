"""What a question gets back: everything a surface shows, from one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..knowledge import Source
from ..passages import Passage
from .embedder import Tokens

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
    document_file: str = ""  # the document's file name in the knowledge directory
    section_parent: str = ""  # the enclosing heading of a subsection (a playbook's H2)
    line: int = 0  # the line the quoted paragraph starts on in that file (Markdown), else 0
    company: bool = False  # from a company playbook (a document nobody curated), not the article

    @property
    def section_ref(self) -> str:
        return f"{self.passage.document_id}/{self.passage.section_id}"

    def to_dict(self) -> dict:
        return {
            "id": self.passage.id,
            "section": self.passage.section,
            "text": self.passage.text,
            "quote": self.quote,
            "score": round(float(self.score), 4),
            "document": self.document_title,
            "file": self.document_file,
            **({"parent": self.section_parent} if self.section_parent else {}),
            **({"line": self.line} if self.line else {}),
        }


@dataclass(frozen=True)
class Query:
    """The question as the search read it: prepared (glossary, spelling), its vector and word
    pieces from the English model. Carried on the answer so what else matches the question
    (saved answers, bot.search.saved) does not run the model on it again."""

    text: str
    vector: np.ndarray  # (dimension,), unit length
    pieces: Tokens


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    owner: str | None
    hits: tuple[Hit, ...]
    # For a refusal: the curated questions closest to this one (ones the knowledge answers).
    suggestions: tuple[str, ...] = ()
    # How a reply names each loaded document ("the article", a playbook's title), in load order:
    # a refusal says which of them do not cover the question (:func:`not_covered_line`).
    documents: tuple[str, ...] = ()
    # When a company playbook answers and the article gives the job to a different owner:
    # the article's best passage with its verdict (the answer's own owner is the company's rule).
    article_view: Hit | None = None
    # The question's language (ISO 639-1, bot/search/language.py): the card's words follow it;
    # the quote stays the knowledge's English.
    language: str = "en"
    # For a plan (bot.search.stance): what the article says of it, the sentence that says it,
    # and for "depends" the condition it depends on; None for a question that is not a plan.
    stance: Stance | None = None
    stance_quote: str | None = None
    stance_condition: str | None = None
    # The English question's prepared text, vector and pieces (None for another language's
    # question, which the multilingual model read, or one with no words): not shown anywhere.
    query: Query | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        data = {
            "question": self.question,
            "status": self.status,
            "owner": self.owner,
            "language": self.language,
            "stance": self.stance,
            "stance_quote": self.stance_quote,
            "stance_condition": self.stance_condition,
            "passages": [hit.to_dict() for hit in self.hits],
        }
        if self.article_view is not None:
            data["article_view"] = {**self.article_view.to_dict(), "owner": self.article_view.owner}
        return data


def names_together(names: tuple[str, ...] | list[str]) -> str:
    """ "the article", "the article and the Acme playbook", "A, B and C"."""
    names = [n if n.lower().startswith("the ") else f"the {n}" for n in names] or ["the article"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def not_covered_line(documents: tuple[str, ...]) -> str:
    """The refusal's first words, naming what is loaded: "The article does not cover this." or
    "The article and the Acme Analytics GTM Playbook do not cover this."."""
    together = names_together(documents)
    verb = "does not" if len(documents) <= 1 else "do not"
    return f"{together[0].upper()}{together[1:]} {verb} cover this."
