"""Split sections into retrievable passages of whole sentences.

A passage is a run of consecutive sentences inside one paragraph (or the section's
takeaway line), short enough for all-MiniLM-L6-v2's 256 word pieces. Its text is a
verbatim slice of the article. Sentences are what a question is matched against and what
a quote is made of. A curated assignment (the clause that gives one department a job) is
kept as a span inside the passage: a quote that contains it carries its verdict.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .knowledge import Knowledge, Section

MAX_PASSAGE_WORDS = 70
TAKEAWAY = -1  # paragraph index used for the section's takeaway line
PARAGRAPH_OWNER = -1  # AssignedSpan.assignment of an owner set on the paragraph itself

# A sentence ends at . ? or ! (and a closing quote) before a capital; a parenthesis that
# follows stays with the sentence it explains.
_SENTENCE_END = re.compile(r'(?<=[.?!])["”)]?\s+(?=["“]?[A-Z])')
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class Sentence:
    """A sentence inside a passage: offsets into the passage's text."""

    start: int
    end: int


@dataclass(frozen=True)
class AssignedSpan:
    """A curated assignment inside a passage: offsets into its text, and the department."""

    start: int
    end: int
    owner: str
    assignment: int  # index in its section's ``assignments``; PARAGRAPH_OWNER for a paragraph's owner


@dataclass(frozen=True)
class Passage:
    id: str
    document_id: str
    section_id: str
    section: str  # the section heading, verbatim
    section_index: int
    paragraph: int  # index in the section; TAKEAWAY (-1) for the takeaway line
    position: int  # order of this passage inside its paragraph
    start: int  # where the passage starts in its paragraph's text
    text: str
    sentences: tuple[Sentence, ...]
    assignments: tuple[AssignedSpan, ...] = ()

    def sentence_text(self, sentence: Sentence) -> str:
        return self.text[sentence.start : sentence.end]

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in ("sentences", "assignments")}
        data["sentences"] = [[s.start, s.end] for s in self.sentences]
        data["assignments"] = [[a.start, a.end, a.owner, a.assignment] for a in self.assignments]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Passage:
        sentences = tuple(Sentence(s, e) for s, e in data["sentences"])
        assignments = tuple(AssignedSpan(s, e, o, i) for s, e, o, i in data["assignments"])
        return cls(**{**data, "sentences": sentences, "assignments": assignments})


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text`` (whitespace between them excluded)."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + len(match.group(0).rstrip())
        spans.append((start, end))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if any(ch.isalnum() for ch in text[s:e])]


def passage_id(document_id: str, heading: str, text: str) -> str:
    digest = hashlib.sha256(f"{document_id}\0{heading}\0{text}".encode()).hexdigest()
    return f"p_{digest[:12]}"


def _chunk(text: str, sentences: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Greedy runs of consecutive sentences up to MAX_PASSAGE_WORDS words (one at least)."""
    chunks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    words = 0
    for span in sentences:
        n = len(_WORDS.findall(text[span[0] : span[1]]))
        if current and words + n > MAX_PASSAGE_WORDS:
            chunks.append(current)
            current, words = [], 0
        current.append(span)
        words += n
    if current:
        chunks.append(current)
    return chunks


def _assigned(text: str, section: Section, paragraph: int) -> list[tuple[int, int, str, int]]:
    """Curated assignments in ``text``: its clauses, and the paragraph itself when its owner is
    set on it (a playbook's way of saying "this paragraph is sales' job")."""
    spans = []
    if paragraph != TAKEAWAY and section.paragraphs[paragraph].owner_given:
        spans.append((0, len(text), section.paragraphs[paragraph].owner, PARAGRAPH_OWNER))
    for i, assignment in enumerate(section.assignments):
        at = text.find(assignment.quote)
        if at >= 0:
            spans.append((at, at + len(assignment.quote), assignment.owner, i))
    return spans


def _passages_of(text: str, paragraph: int, section: Section) -> list[Passage]:
    passages = []
    assigned = _assigned(text, section, paragraph)
    for position, chunk in enumerate(_chunk(text, split_sentences(text))):
        start, end = chunk[0][0], chunk[-1][1]
        body = text[start:end]
        passages.append(
            Passage(
                id=passage_id(section.document_id, section.heading, body),
                document_id=section.document_id,
                section_id=section.id,
                section=section.heading,
                section_index=section.index,
                paragraph=paragraph,
                position=position,
                start=start,
                text=body,
                sentences=tuple(Sentence(s - start, e - start) for s, e in chunk),
                assignments=tuple(
                    AssignedSpan(max(a, start) - start, min(b, end) - start, owner, i)
                    for a, b, owner, i in assigned
                    if a < end and b > start
                ),
            )
        )
    return passages


def paragraph_text(section: Section, paragraph: int) -> str:
    return section.takeaway if paragraph == TAKEAWAY else section.paragraphs[paragraph].text


def split_section(section: Section) -> list[Passage]:
    passages = _passages_of(section.takeaway, TAKEAWAY, section) if section.takeaway else []
    for i, paragraph in enumerate(section.paragraphs):
        passages.extend(_passages_of(paragraph.text, i, section))
    return passages


def split_knowledge(knowledge: Knowledge) -> list[Passage]:
    """All passages, in reading order. Ids are unique: a repeated text keeps its first id."""
    passages: list[Passage] = []
    seen: set[str] = set()
    for section in knowledge.retrievable_sections():
        for passage in split_section(section):
            if passage.id not in seen:
                seen.add(passage.id)
                passages.append(passage)
    return passages
