"""The knowledge: every file in the knowledge directory, read by its format's reader
(``bot.knowledge.readers``), combined and checked across files."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from .model import Document, Knowledge, KnowledgeError, KnowledgeFile, SentenceQuestions, Translation
from .readers import is_lenient, knowledge_files, read_file

logger = logging.getLogger(__name__)

# The kinds this loader reads; a tips file is the tips loader's (bot.tips.catalog).
KNOWLEDGE_KINDS = ("article", "glossary", "scope", "translation")


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate every article, scope and glossary file in ``directory``."""
    documents: list[Document] = []
    out_of_scope: list[str] = []
    glossary: dict[str, tuple[str, str]] = {}
    skipped: list[str] = []
    digest = hashlib.sha256()
    translated: list[KnowledgeFile] = []
    translated_scope: list[tuple[str, str]] = []
    for path in knowledge_files(directory):
        try:
            file = read_file(path, KNOWLEDGE_KINDS)
        except KnowledgeError as exc:
            if not is_lenient(path):
                raise
            # Left out of the knowledge and of its hash: the index built without it stays fresh.
            logger.warning("left out of the knowledge: %s", exc)
            skipped.append(str(exc))
            continue
        if file.kind not in KNOWLEDGE_KINDS:
            continue
        if file.kind == "translation":
            # Not hashed: the index holds the English knowledge only; the multilingual
            # vectors key their cache on their own texts (bot/search/crosslingual.py).
            translated.append(file)
            continue
        if file.kind == "scope" and file.language not in ("", "en"):
            # Read by the multilingual path alone; unhashed like the translations.
            translated_scope += [(file.language, text) for text in file.out_of_scope]
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        out_of_scope.extend(file.out_of_scope)
        for entry in file.terms:
            term = entry.term.value
            if term.lower() in glossary:
                raise entry.term.fail("term given twice")
            glossary[term.lower()] = (term, entry.meaning)
        if file.document is not None:
            document = file.document
            for other in documents:
                if other.id == document.id:
                    raise KnowledgeError(
                        f"{path}:1: id: document id {document.id!r} also used by {other.path}"
                    )
            documents.append(document)
    if not documents:
        raise KnowledgeError(f"{directory}: no knowledge files (kind: article) found")
    return Knowledge(
        documents=tuple(documents),
        content_hash=digest.hexdigest(),
        out_of_scope=tuple(out_of_scope),
        glossary=tuple(glossary.values()),
        skipped=tuple(skipped),
        translations=tuple(t for file in translated for t in _translations(file, documents)),
        translated_scope=tuple(translated_scope),
    )


def _translations(file: KnowledgeFile, documents: list[Document]) -> list[Translation]:
    """A translation file's sections, each checked against its document: the section exists,
    and every quote is found verbatim in that section's English text (twice where a takeaway
    restates a paragraph's sentence: the words stand for both)."""
    by_id = {d.id: d for d in documents}
    result = []
    for entry in file.translations:
        document = by_id.get(entry.document.value)
        if document is None:
            raise entry.document.fail(f"no document has the id {entry.document.value!r}")
        sections = {s.id: s for s in (document.introduction, *document.sections) if s is not None}
        section = sections.get(entry.section.value)
        if section is None:
            raise entry.section.fail(
                f"no section {entry.section.value!r} in {document.id} (ids: {', '.join(sections)})"
            )
        texts = [section.takeaway, *(p.text for p in section.paragraphs)]
        for quote in [q for q, _questions in entry.quotes] + [q for q, _text in entry.sentences]:
            if not any(quote.value in text for text in texts):
                raise quote.fail("not found verbatim in this section's text")
        result.append(
            Translation(
                language=file.language,
                document_id=document.id,
                section_id=section.id,
                questions=entry.questions,
                sentence_questions=tuple(SentenceQuestions(q.value, qs) for q, qs in entry.quotes),
                sentences=tuple((q.value, text) for q, text in entry.sentences),
            )
        )
    return result
