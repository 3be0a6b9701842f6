"""The document model every knowledge reader produces, whatever the file's format.

A knowledge file is of one ``kind``: ``article`` (a :class:`Document`), ``scope`` (questions
the knowledge does not answer, examples that teach the advisor to decline), ``glossary``
(abbreviations people type, spelled out) or ``tips`` (the tips domain's file, checked
against the documents by ``bot.tips.catalog``). A reader turns one file into a
:class:`KnowledgeFile`; ``bot.knowledge.loader`` combines them into :class:`Knowledge`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdvisorError

OWNERS = ("sales", "marketing", "both")
# What the article says of a plan: it backs it, warns against it, or it depends on a condition.
STANCES = ("backs", "warns", "depends")
# How an owner is named to people, in the CLI and on a card.
VERDICTS = {"sales": "Sales", "marketing": "Marketing", "both": "Both Sales and Marketing"}
KINDS = ("article", "glossary", "scope", "tips")


class KnowledgeError(AdvisorError):
    """Invalid knowledge: the message reads ``FILE:LINE: FIELD: problem``."""


@dataclass(frozen=True)
class Source:
    publisher: str
    date: str
    attribution: str | None
    url: str | None


@dataclass(frozen=True)
class Assignment:
    """A stretch of the article's text that gives one department a job (curated)."""

    quote: str
    owner: str
    topics: tuple[str, ...] = ()  # what this job is, in our words (helps pick the passage)


@dataclass(frozen=True)
class SentenceQuestions:
    """Questions one sentence answers, in our words (curated): keys that find that sentence."""

    quote: str  # verbatim words of the sentence (its opening words are enough)
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    """A principle the article states (curated): the sentence that states it, the stance it
    takes on plans like those listed (in our words), and for ``depends`` the condition."""

    quote: str  # verbatim words of the stating sentence (its opening words are enough)
    stance: str  # one of STANCES
    plans: tuple[str, ...]  # plans the article would say this of, as a manager writes them
    condition: str | None = None  # what it depends on (``depends`` only), in our words


@dataclass(frozen=True)
class Paragraph:
    text: str
    owner: str  # curated; inherits the section's owner unless set on the paragraph
    owner_given: bool = False  # set on the paragraph itself: the whole paragraph is an assignment


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    takeaway: str
    owner: str
    topics: tuple[str, ...]
    questions: tuple[str, ...]
    paragraphs: tuple[Paragraph, ...]
    assignments: tuple[Assignment, ...]
    document_id: str
    index: int  # position among the document's sections; INTRODUCTION for the introduction
    sentence_questions: tuple[SentenceQuestions, ...] = ()
    claims: tuple[Claim, ...] = ()


INTRODUCTION = -1  # Section.index of a document's introduction


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    source: Source | None
    introduction: Section | None  # headed by the document's title, verbatim
    sections: tuple[Section, ...]
    path: Path


@dataclass(frozen=True)
class Knowledge:
    documents: tuple[Document, ...]
    content_hash: str
    out_of_scope: tuple[str, ...] = ()
    glossary: tuple[tuple[str, str], ...] = ()  # (term, what it stands for)

    def sections(self) -> Iterator[Section]:
        """The documents' sections (not their introductions), in reading order."""
        for document in self.documents:
            yield from document.sections

    def retrievable_sections(self) -> Iterator[Section]:
        """Everything a question can be answered from: each introduction, then its sections."""
        for document in self.documents:
            if document.introduction is not None:
                yield document.introduction
            yield from document.sections

    def document(self, document_id: str) -> Document:
        for document in self.documents:
            if document.id == document_id:
                return document
        raise KeyError(document_id)


# --- what a reader makes of one file ------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """A text read from a file, and where: a check made after reading (a glossary term given
    in two files, a tip's quote not in its section) still says ``FILE:LINE: FIELD: problem``."""

    value: str
    path: Path
    line: int  # 1-based
    field: str  # e.g. ``tips[3].quote``

    def fail(self, problem: str) -> KnowledgeError:
        return KnowledgeError(f"{self.path}:{self.line}: {self.field}: {problem}")


@dataclass(frozen=True)
class GlossaryTerm:
    term: Located  # as written; its field is ``terms.TERM``
    meaning: str


@dataclass(frozen=True)
class TipEntry:
    """A tip as written in a tips file, each field's text checked; ``bot.tips.catalog``
    checks it against the documents."""

    id: Located
    title: Located
    quote: Located
    section: Located  # a section's heading, verbatim


@dataclass(frozen=True)
class KnowledgeFile:
    """One file as its reader read it: its kind, and what that kind holds."""

    path: Path
    kind: str  # one of KINDS
    document: Document | None = None  # kind: article
    out_of_scope: tuple[str, ...] = ()  # kind: scope
    terms: tuple[GlossaryTerm, ...] = ()  # kind: glossary
    tips: tuple[TipEntry, ...] = ()  # kind: tips
