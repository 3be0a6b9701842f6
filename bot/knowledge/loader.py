"""The knowledge: every file in the knowledge directory, read by its format's reader
(``bot.knowledge.readers``), combined and checked across files."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from .model import Document, Knowledge, KnowledgeError
from .readers import is_lenient, knowledge_files, read_file

logger = logging.getLogger(__name__)

# The kinds this loader reads; a tips file is the tips loader's (bot.tips.catalog).
KNOWLEDGE_KINDS = ("article", "glossary", "scope")


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate every article, scope and glossary file in ``directory``."""
    documents: list[Document] = []
    out_of_scope: list[str] = []
    glossary: dict[str, tuple[str, str]] = {}
    skipped: list[str] = []
    digest = hashlib.sha256()
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
    )
