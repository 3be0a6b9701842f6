"""Split sections into retrievable passages of whole sentences.

A passage is a run of consecutive sentences inside one paragraph (or the section's
takeaway line), short enough for all-MiniLM-L6-v2's 256 word pieces. Its text is a
verbatim slice of the article. Sentences are the units a quote is chosen from; a curated
assignment that covers part of a sentence (``...; while the marketing department ...``)
splits that sentence, so a quote can give one department's job on its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

from .knowledge import Knowledge, Section

MAX_PASSAGE_WORDS = 70
TAKEAWAY = -1  # paragraph index used for the section's takeaway line

# A sentence ends at . ? or ! (and a closing quote) before a capital; a parenthesis that
# follows stays with the sentence it explains.
_SENTENCE_END = re.compile(r'(?<=[.?!])["”)]?\s+(?=["“]?[A-Z])')


@dataclass(frozen=True)
class Unit:
    """A sentence (or curated part of one) inside a passage: offsets into passage text."""

    start: int
    end: int
    owner: str


@dataclass(frozen=True)
class Passage:
    id: str
    document_id: str
    section_id: str
    section: str  # the section heading, verbatim
    section_index: int
    paragraph: int  # index in the section; TAKEAWAY (-1) for the takeaway line
    position: int  # order of this passage inside its paragraph
    text: str
    units: tuple[Unit, ...]

    def unit_text(self, unit: Unit) -> str:
        return self.text[unit.start : unit.end]

    def to_json(self) -> dict:
        data = asdict(self)
        data["units"] = [[u.start, u.end, u.owner] for u in self.units]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Passage:
        units = tuple(Unit(start=s, end=e, owner=o) for s, e, o in data["units"])
        return cls(**{**data, "units": units})


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
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _units(text: str, default_owner: str, section: Section) -> list[Unit]:
    """Sentences of ``text``, cut further at curated assignment boundaries, with owners."""
    cuts: set[int] = set()
    owned: list[tuple[int, int, str]] = []
    for assignment in section.assignments:
        at = text.find(assignment.quote)
        if at >= 0:
            owned.append((at, at + len(assignment.quote), assignment.owner))
            cuts.update((at, at + len(assignment.quote)))
    units: list[Unit] = []
    for start, end in split_sentences(text):
        points = sorted({start, end, *(c for c in cuts if start < c < end)})
        for a, b in zip(points, points[1:], strict=False):
            piece = text[a:b]
            a += len(piece) - len(piece.lstrip())
            b -= len(piece) - len(piece.rstrip())
            if b <= a or not any(ch.isalnum() for ch in text[a:b]):
                continue
            owner = next((o for s, e, o in owned if s <= a and b <= e), default_owner)
            units.append(Unit(a, b, owner))
    return units


def passage_id(document_id: str, heading: str, text: str) -> str:
    digest = hashlib.sha256(f"{document_id}\0{heading}\0{text}".encode()).hexdigest()
    return f"p_{digest[:12]}"


def _chunk(text: str, units: list[Unit]) -> list[list[Unit]]:
    """Greedy runs of consecutive units up to MAX_PASSAGE_WORDS words (one unit at least)."""
    chunks: list[list[Unit]] = []
    current: list[Unit] = []
    words = 0
    for unit in units:
        n = len(_WORDS.findall(text[unit.start : unit.end]))
        if current and words + n > MAX_PASSAGE_WORDS:
            chunks.append(current)
            current, words = [], 0
        current.append(unit)
        words += n
    if current:
        chunks.append(current)
    return chunks


_WORDS = re.compile(r"\S+")


def _passages_of(text: str, paragraph: int, owner: str, section: Section) -> list[Passage]:
    passages = []
    for position, chunk in enumerate(_chunk(text, _units(text, owner, section))):
        start, end = chunk[0].start, chunk[-1].end
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
                text=body,
                units=tuple(Unit(u.start - start, u.end - start, u.owner) for u in chunk),
            )
        )
    return passages


def split_section(section: Section) -> list[Passage]:
    passages = _passages_of(section.takeaway, TAKEAWAY, section.owner, section)
    for i, paragraph in enumerate(section.paragraphs):
        passages.extend(_passages_of(paragraph.text, i, paragraph.owner, section))
    return passages


def split_knowledge(knowledge: Knowledge) -> list[Passage]:
    """All passages, in reading order. Ids are unique: a repeated text keeps its first id."""
    passages: list[Passage] = []
    seen: set[str] = set()
    for section in knowledge.sections():
        for passage in split_section(section):
            if passage.id not in seen:
                seen.add(passage.id)
                passages.append(passage)
    return passages
