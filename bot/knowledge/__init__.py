"""The curated knowledge (the article and any company playbooks): its document model
(``model``), one reader per file format (``readers``) and the loader that combines a
directory's files (``loader``). The public names are imported from here."""

from __future__ import annotations

from .loader import load_knowledge
from .model import (
    INTRODUCTION,
    KINDS,
    OWNERS,
    STANCES,
    VERDICTS,
    Assignment,
    Claim,
    Document,
    GlossaryTerm,
    Knowledge,
    KnowledgeError,
    KnowledgeFile,
    Located,
    Paragraph,
    Section,
    SentenceQuestions,
    Source,
    TipEntry,
    Translation,
)
from .readers import READERS, knowledge_files, read_file

# The YAML reader's validating node walker, also used for the evaluation's question sets.
from .readers.yaml import NodeReader, compose_file

__all__ = [
    "INTRODUCTION",
    "KINDS",
    "OWNERS",
    "READERS",
    "STANCES",
    "VERDICTS",
    "Assignment",
    "Claim",
    "Document",
    "GlossaryTerm",
    "Knowledge",
    "KnowledgeError",
    "KnowledgeFile",
    "Located",
    "NodeReader",
    "Paragraph",
    "Section",
    "SentenceQuestions",
    "Source",
    "TipEntry",
    "Translation",
    "compose_file",
    "knowledge_files",
    "load_knowledge",
    "read_file",
]
