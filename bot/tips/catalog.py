"""The tips: ``kind: tips`` knowledge files, each a title of ours and a verbatim quote from a section.

The file is read by its format's knowledge reader (``bot.knowledge.readers``), which keeps
where each field was, so every error here reads ``FILE:LINE: FIELD: problem``; a quote that
does not occur in its section names its tip.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..knowledge import (
    Knowledge,
    KnowledgeError,
    Section,
    TipEntry,
    knowledge_files,
    load_knowledge,
    read_file,
)

TIP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_TITLE = 100
MAX_QUOTE = 400


@dataclass(frozen=True)
class Tip:
    id: str
    title: str
    quote: str
    section_heading: str
    section_id: str
    document_title: str
    source_url: str | None


@dataclass(frozen=True)
class TipCatalog:
    tips: tuple[Tip, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(tip.id for tip in self.tips)

    def get(self, tip_id: str) -> Tip | None:
        for tip in self.tips:
            if tip.id == tip_id:
                return tip
        return None


def _section_text(section: Section) -> list[str]:
    return [section.takeaway, *(p.text for p in section.paragraphs)]


def _check_tips(
    path: Path, entries: tuple[TipEntry, ...], knowledge: Knowledge, seen: dict[str, Path]
) -> list[Tip]:
    by_heading: dict[str, Section] = {}
    for section in knowledge.sections():
        by_heading.setdefault(section.heading, section)
    tips: list[Tip] = []
    for entry in entries:
        tip_id = entry.id.value
        if not TIP_ID.match(tip_id):
            raise entry.id.fail("use lowercase letters, digits and dashes")
        if tip_id in seen:
            raise entry.id.fail(f"duplicate tip id {tip_id!r} (also in {seen[tip_id]})")
        title = entry.title.value
        if len(title) > MAX_TITLE:
            raise entry.title.fail(f"tip {tip_id!r}: longer than {MAX_TITLE} characters")
        quote = entry.quote.value
        if len(quote) > MAX_QUOTE:
            raise entry.quote.fail(f"tip {tip_id!r}: longer than {MAX_QUOTE} characters")
        heading = entry.section.value
        section = by_heading.get(heading)
        if section is None:
            close = difflib.get_close_matches(heading, list(by_heading), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise entry.section.fail(f"tip {tip_id!r}: no section with this heading{hint}")
        if not any(quote in text for text in _section_text(section)):
            raise entry.quote.fail(f"tip {tip_id!r}: quote not found verbatim in section {heading!r}")
        document = knowledge.document(section.document_id)
        seen[tip_id] = path
        tips.append(
            Tip(
                id=tip_id,
                title=title,
                quote=quote,
                section_heading=section.heading,
                section_id=section.id,
                document_title=document.title,
                source_url=document.source.url if document.source else None,
            )
        )
    return tips


def load_tips(directory: Path, knowledge: Knowledge | None = None) -> TipCatalog:
    """Load and check every ``kind: tips`` file in the knowledge directory."""
    knowledge = knowledge or load_knowledge(directory)
    tips: list[Tip] = []
    seen: dict[str, Path] = {}
    for path in knowledge_files(directory):
        file = read_file(path, ("tips",))
        if file.kind == "tips":
            tips.extend(_check_tips(path, file.tips, knowledge, seen))
    if not tips:
        raise KnowledgeError(f"{directory}: no tips (a file with kind: tips) found")
    return TipCatalog(tips=tuple(tips))
