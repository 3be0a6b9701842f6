"""The document model every knowledge reader produces, whatever the file's format.

A knowledge file is of one ``kind``: ``article`` (a :class:`Document`), ``scope`` (questions
the knowledge does not answer, examples that teach the advisor to decline), ``glossary``
(abbreviations people type, spelled out), ``translation`` (a document's curated questions in
another language: :class:`Translation`) or ``tips`` (the tips domain's file, checked
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
KINDS = ("article", "glossary", "scope", "tips", "translation")


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
class Translation:
    """One section's curated questions in another language (ours, like the English ones):
    keys that find its sentences from a question in that language, and the questions a
    refusal suggests to an asker of that language."""

    language: str  # ISO 639-1, e.g. "zh", "es"
    document_id: str
    section_id: str
    questions: tuple[str, ...]  # whole questions a reader would ask
    sentence_questions: tuple[SentenceQuestions, ...] = ()  # quotes are the English sentence's words
    sentences: tuple[tuple[str, str], ...] = ()  # (quote, the gist of that sentence in this language)


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
    line: int = 0  # 1-based line in its file where a reader knows it (Markdown), else 0


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
    parent: str = ""  # the enclosing heading of a subsection (a Markdown H3's H2), verbatim
    line: int = 0  # 1-based line of its heading where a reader knows it (Markdown), else 0

    @property
    def path(self) -> tuple[str, ...]:
        """The heading and its parent's: how a question set names a subsection."""
        return (self.heading, self.parent) if self.parent else (self.heading,)

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

    @property
    def curated(self) -> bool:
        """Whether someone wrote keys for it (the article); a company playbook has none."""
        parts = (*self.sections, *([self.introduction] if self.introduction else []))
        return any(s.topics or s.questions or s.sentence_questions for s in parts)

    @property
    def name(self) -> str:
        """How a reply names it: "the article", or a playbook by its title."""
        return "the article" if self.curated else self.title


@dataclass(frozen=True)
class Knowledge:
    documents: tuple[Document, ...]
    content_hash: str
    out_of_scope: tuple[str, ...] = ()
    glossary: tuple[tuple[str, str], ...] = ()  # (term, what it stands for)
    # Files left out, one line each (a malformed Markdown export): the rest still serves.
    skipped: tuple[str, ...] = ()
    # Curated questions in other languages; not part of content_hash (the index is English).
    translations: tuple[Translation, ...] = ()
    # Out-of-scope examples in other languages, (language, question); not hashed either.
    translated_scope: tuple[tuple[str, str], ...] = ()

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
    language: str = ""  # kind: translation, or a scope file's in another language than English
    translations: tuple[TranslatedSection, ...] = ()  # kind: translation, checked by the loader


@dataclass(frozen=True)
class TranslatedSection:
    """A translation file's section as written; the loader checks it against the documents."""

    document: Located  # the document's id
    section: Located  # the section's id ("introduction" for the text before the sections)
    questions: tuple[str, ...]
    quotes: tuple[tuple[Located, tuple[str, ...]], ...]  # (English quote, its questions)
    sentences: tuple[tuple[Located, str], ...] = ()  # (English quote, the sentence's gist)
