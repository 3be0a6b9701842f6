"""The tips: ``kind: tips`` YAML files, each a title of ours and a verbatim quote from a section.

Validation walks YAML nodes with the knowledge loader's reader, so every error reads
``FILE:LINE: FIELD: problem``; a quote that does not occur in its section names its tip.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..knowledge import (
    Knowledge,
    KnowledgeError,
    NodeReader,
    Section,
    compose_file,
    file_kind,
    knowledge_files,
    load_knowledge,
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


def _parse_tips(path: Path, node, knowledge: Knowledge, seen: dict[str, Path]) -> list[Tip]:
    r = NodeReader(path)
    top = r.mapping(node, "", ("kind", "tips"), ())
    by_heading: dict[str, Section] = {}
    for section in knowledge.sections():
        by_heading.setdefault(section.heading, section)
    tips: list[Tip] = []
    for i, tip_node in enumerate(r.items(top["tips"], "tips")):
        f = f"tips[{i}]"
        m = r.mapping(tip_node, f, ("id", "title", "quote", "section"), ())
        tip_id = r.text(m["id"], f"{f}.id")
        if not TIP_ID.match(tip_id):
            raise r.fail(m["id"], f"{f}.id", "use lowercase letters, digits and dashes")
        if tip_id in seen:
            raise r.fail(m["id"], f"{f}.id", f"duplicate tip id {tip_id!r} (also in {seen[tip_id]})")
        title = r.text(m["title"], f"{f}.title")
        if len(title) > MAX_TITLE:
            raise r.fail(m["title"], f"{f}.title", f"tip {tip_id!r}: longer than {MAX_TITLE} characters")
        quote = r.text(m["quote"], f"{f}.quote")
        if len(quote) > MAX_QUOTE:
            raise r.fail(m["quote"], f"{f}.quote", f"tip {tip_id!r}: longer than {MAX_QUOTE} characters")
        heading = r.text(m["section"], f"{f}.section")
        section = by_heading.get(heading)
        if section is None:
            close = difflib.get_close_matches(heading, list(by_heading), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise r.fail(m["section"], f"{f}.section", f"tip {tip_id!r}: no section with this heading{hint}")
        if not any(quote in text for text in _section_text(section)):
            raise r.fail(
                m["quote"],
                f"{f}.quote",
                f"tip {tip_id!r}: quote not found verbatim in section {heading!r}",
            )
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
        node = compose_file(path)
        if file_kind(path, node) == "tips":
            tips.extend(_parse_tips(path, node, knowledge, seen))
    if not tips:
        raise KnowledgeError(f"{directory}: no tips (a file with kind: tips) found")
    return TipCatalog(tips=tuple(tips))
