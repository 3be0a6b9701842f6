"""The index's files, written once: :data:`FILES` is the one table from which the index is
written and read (bot.search.store), its shapes checked and its documentation made
(docs/index-files.md, ``python -m bot.search.schema``). A loaded :class:`SearchIndex` has one
attribute per row.

A new index file is one row here and the value that fits it (bot.search.fitting); bump
:data:`FORMAT_VERSION` with it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..knowledge import Section
from ..passages import Passage

FORMAT_VERSION = 8
MANIFEST = "manifest.json"
VERIFIED = "verified.json"  # each file's stat stamp when its digest last matched (bot.search.store)
PROJECTED_DIMENSION = 128  # the word-piece match keeps its quality at 128 of 384 (docs/retrieval.md)
# Below this many sentences no piece is common: in a two-sentence handbook every piece of one
# sentence is in half of them. (Changing the rule changes what an index holds: bump
# FORMAT_VERSION with it, since the question side applies it again at load.)
COMMON_MIN_SENTENCES = 10


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_id: str
    dimension: int
    knowledge_hash: str
    passage_count: int
    sentence_count: int
    key_count: int
    built_at: str
    build_seconds: float
    files: dict[str, str]
    # The ONNX export: {"file", "exporter", "parity_max_abs_diff", ...}, or {"unavailable": why}.
    onnx: dict | None = None

    @property
    def onnx_file(self) -> str | None:
        """The exported model's file name inside the index, when there is one."""
        return (self.onnx or {}).get("file")


def section_ref(document_id: str, section_id: str) -> str:
    """A section's name across documents: two playbooks may both have an ``overview``."""
    return f"{document_id}/{section_id}"


def is_curated(section: Section) -> bool:
    """Whether someone wrote keys for the section (topics, questions), as for the article."""
    return bool(section.topics or section.questions or section.sentence_questions)


def sentence_rows(passages: list[Passage]) -> list[tuple[int, int]]:
    """(passage row, sentence index in that passage) of each sentence row, in order."""
    return [(i, j) for i, p in enumerate(passages) for j in range(len(p.sentences))]


def common_pieces(piece_frequency: np.ndarray, n_sentences: int) -> set[int]:
    """Word pieces in half the sentences or more (".", ",", "the", "and", "is" in the article):
    left out of the word-piece match on both sides, question and sentence."""
    if n_sentences < COMMON_MIN_SENTENCES:
        return set()
    return {int(i) for i, n in piece_frequency if 2 * n >= n_sentences}


@dataclass(frozen=True)
class SectionKey:
    section: str  # section_ref(document_id, section_id)
    kind: str  # heading | takeaway | topic | question | sentence (uncurated sections)
    text: str


@dataclass(frozen=True)
class SentenceKey:
    sentence: int  # row of the sentence it finds
    # question (curated sentence_questions) | topic (a curated assignment's topics) |
    # plan:backs, plan:warns, plan:depends (a curated claim's plans, :func:`plan_kind`)
    kind: str
    text: str


PLAN = "plan:"  # the kind of a sentence key that is a claim's plan, before its stance


def plan_kind(stance: str) -> str:
    return PLAN + stance


@dataclass(frozen=True)
class AssignmentKey:
    passage: int  # row of the passage
    span: int  # index into that passage's ``assignments``
    text: str  # the assignment's own words, or one of its topics


# --- how each kind of file is written and read ------------------------------------------------


def _write_jsonl(path: Path, rows: list) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            data = row.to_json() if hasattr(row, "to_json") else asdict(row)
            out.write(json.dumps(data, ensure_ascii=False) + "\n")


def _jsonl(cls) -> tuple[Callable, Callable]:
    def read(path: Path) -> list:
        make = getattr(cls, "from_json", None) or (lambda data: cls(**data))
        with open(path, encoding="utf-8") as lines:
            return [make(json.loads(line)) for line in lines]

    return _write_jsonl, read


def _npy(dtype=None, *, mapped: bool = False) -> tuple[Callable, Callable]:
    """An array file, stored as ``dtype`` (else as it is); ``mapped``: memory-mapped read-only,
    so a large knowledge's arrays are paged in where a question reads them, not loaded whole."""
    return (
        lambda path, array: np.save(
            path, array if dtype is None else array.astype(dtype), allow_pickle=False
        ),
        lambda path: np.load(path, allow_pickle=False, mmap_mode="r" if mapped else None),
    )


def _faiss() -> tuple[Callable, Callable]:
    def write(path: Path, vectors: np.ndarray) -> None:
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        faiss.write_index(index, str(path))

    def read(path: Path):
        import faiss

        return faiss.read_index(str(path))

    return write, read


def import_bm25s():
    """bm25s, imported lazily (it is slow to import) with its logger kept quiet.

    bm25s sets its own logger to DEBUG when imported, so every index build would log at
    DEBUG whatever the application's level; put it back under the root logger's control.
    """
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def _bm25() -> tuple[Callable, Callable]:
    return (
        lambda path, model: model.save(str(path)),
        lambda path: import_bm25s().BM25.load(str(path)),
    )


def _json() -> tuple[Callable, Callable]:
    return (
        lambda path, value: path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8"),
        lambda path: json.loads(path.read_text(encoding="utf-8")),
    )


# --- the table ----------------------------------------------------------------------------------

Check = Callable[["SearchIndex", Manifest], bool]  # True: the loaded value fits the rest


@dataclass(frozen=True)
class IndexFile:
    field: str  # the SearchIndex attribute it loads into
    name: str  # file (or bm25s directory) name inside the index directory
    what: str
    io: tuple[Callable, Callable]  # (write(path, value), read(path) -> value)
    check: Check | None = None  # its shape against the manifest and the other files


def _pieces_fit(ix: SearchIndex, _m: Manifest) -> bool:
    pieces, n = ix.sentence_token_pieces, ix.sentence_count
    return (
        pieces.shape == (len(ix.sentence_tokens), 2)
        and np.array_equal(np.unique(pieces[:, 0]), np.arange(n))
        and not np.any(np.diff(pieces[:, 0]) < 0)
        and bool(np.isin(pieces[:, 1], ix.piece_frequency[:, 0]).all())
    )


FILES: tuple[IndexFile, ...] = (
    IndexFile(
        "passages",
        "passages.jsonl",
        "one passage a line: text, section, sentences, assignments",
        _jsonl(Passage),
        lambda ix, m: len(ix.passages) == m.passage_count,
    ),
    IndexFile(
        "passage_index",
        "passages.faiss",
        "inner-product index over normalised passage vectors",
        _faiss(),
        lambda ix, m: ix.passage_index.ntotal == m.passage_count,
    ),
    IndexFile(
        "sentence_index",
        "sentences.faiss",
        "the same over every sentence, in passage order",
        _faiss(),
        lambda ix, m: ix.sentence_count == m.sentence_count and ix.sentence_index.ntotal == ix.sentence_count,
    ),
    IndexFile(
        "sentence_tokens",
        "sentence_tokens.npy",
        "the model's word-piece vectors of every sentence, projected (below) and normalised, in"
        " sentence order; special tokens and the pieces of half the sentences or more left out;"
        " float16, memory-mapped (a question reads its candidates' only)",
        _npy(np.float16, mapped=True),
        lambda ix, m: (
            ix.sentence_tokens.ndim == 2
            and ix.sentence_tokens.dtype == np.float16
            and ix.sentence_tokens.shape[1] in (PROJECTED_DIMENSION, m.dimension)
        ),
    ),
    IndexFile(
        "sentence_token_pieces",
        "sentence_pieces.npy",
        "for each of those vectors: its sentence row and its word piece's vocabulary id",
        _npy(mapped=True),
        _pieces_fit,
    ),
    IndexFile(
        "piece_frequency",
        "piece_frequency.npy",
        "every word piece of the sentences (vocabulary id) and how many sentences have it",
        _npy(),
        lambda ix, m: ix.piece_frequency.ndim == 2 and ix.piece_frequency.shape[1:] == (2,),
    ),
    IndexFile(
        "token_projection",
        "token_projection.npy",
        "the word-piece vectors' principal directions (dimension x at most 128), fitted at build",
        _npy(),
        lambda ix, m: ix.token_projection.shape == (m.dimension, ix.sentence_tokens.shape[1]),
    ),
    IndexFile(
        "sentence_keys",
        "sentence_keys.jsonl",
        "curated keys of sentences: sentence_questions, assignment topics, claims' plans",
        _jsonl(SentenceKey),
        lambda ix, m: all(0 <= k.sentence < ix.sentence_count for k in ix.sentence_keys),
    ),
    IndexFile(
        "sentence_key_vectors",
        "sentence_keys.npy",
        "their vectors",
        _npy(mapped=True),
        lambda ix, m: ix.sentence_key_vectors.shape == (len(ix.sentence_keys), m.dimension),
    ),
    IndexFile(
        "section_keys",
        "section_keys.jsonl",
        "curated section keys: heading, takeaway, topics, questions",
        _jsonl(SectionKey),
        lambda ix, m: len(ix.section_keys) + len(ix.sentence_keys) == m.key_count,
    ),
    IndexFile(
        "section_key_vectors",
        "section_keys.npy",
        "their vectors (memory-mapped: an uncurated section's are its sentences')",
        _npy(mapped=True),
        lambda ix, m: ix.section_key_vectors.shape == (len(ix.section_keys), m.dimension),
    ),
    IndexFile(
        "assignment_keys",
        "assignment_keys.jsonl",
        "each assignment's words and topics, by passage span",
        _jsonl(AssignmentKey),
        lambda ix, m: all(0 <= k.passage < len(ix.passages) for k in ix.assignment_keys),
    ),
    IndexFile(
        "assignment_key_vectors",
        "assignment_keys.npy",
        "their vectors (which clause of a quote answers)",
        _npy(),
        lambda ix, m: ix.assignment_key_vectors.shape == (len(ix.assignment_keys), m.dimension),
    ),
    IndexFile(
        "scope_vectors",
        "scope.npy",
        "curated out-of-scope questions (teach the advisor to decline)",
        _npy(),
        lambda ix, m: ix.scope_vectors.shape[1:] == (m.dimension,),
    ),
    IndexFile(
        "scope_classifier",
        "scope_classifier.npy",
        "a linear classifier of questions (weights, then bias; empty without out-of-scope examples):"
        " the curated keys, and a question about each curated topic, against the out-of-scope ones",
        _npy(),
        lambda ix, m: ix.scope_classifier.shape in ((0,), (m.dimension + 1,)),
    ),
    IndexFile("section_refs", "sections.json", "section_ref of each section, in reading order", _json()),
    IndexFile(
        "lexical_sentences", "lexical-sentences", "bm25s over each sentence with its section heading", _bm25()
    ),
    IndexFile("lexical_sections", "lexical-sections", "bm25s over each section's curated text", _bm25()),
)

# Written by the model's export when it can be made (Embedder.export_onnx), read by
# bot.search.backend.
ONNX_FILES: tuple[tuple[str, str], ...] = (
    ("model.onnx", "the model's transformer for onnxruntime (parity-checked against sentence-transformers)"),
    ("model.onnx.data", "its weights, mapped by onnxruntime rather than copied"),
)


class SearchIndex:
    """A loaded index: its :class:`Manifest` and one attribute per row of :data:`FILES`
    (``passages``, ``sentence_index``, ``section_keys``...), named by the row's ``field``."""

    def __init__(self, manifest: Manifest, **values):
        expected = [entry.field for entry in FILES]
        if sorted(values) != sorted(expected):
            raise TypeError(f"an index holds {expected}, not {sorted(values)}")
        self.manifest = manifest
        self.__dict__.update(values)

    def __getattr__(self, name: str):  # only reached for a name that is not set
        raise AttributeError(f"the index has no file {name!r} (bot.search.schema.FILES)")

    @property
    def sentence_rows(self) -> list[tuple[int, int]]:
        """(passage row, sentence index in that passage) of each sentence row, in order."""
        return sentence_rows(self.passages)

    @functools.cached_property
    def sentence_count(self) -> int:  # read by several shape checks: counted once
        return sum(len(p.sentences) for p in self.passages)

    def shape_problems(self) -> list[str]:
        """The files whose shape does not fit the manifest or the other files (a file of the
        wrong kind altogether counts as not fitting)."""
        problems = []
        for entry in FILES:
            if entry.check is None:
                continue
            try:
                fits = entry.check(self, self.manifest)
            except (IndexError, ValueError, TypeError, AttributeError):
                fits = False
            if not fits:
                problems.append(entry.name)
        return problems


def files_markdown() -> str:
    """The table of index files for the documentation (docs/index-files.md)."""
    lines = [
        "# The index's files",
        "",
        "Made by `python -m bot.search.schema` from `bot/search/schema.py` (`FILES`); a test checks that",
        "this page is up to date. Every file is digested into `manifest.json`, written last.",
        "",
        "| file | holds |",
        "|---|---|",
    ]
    lines += [f"| `{entry.name}` | {entry.what} |" for entry in FILES]
    lines += [f"| `{name}` | {what} (when the model can be exported) |" for name, what in ONNX_FILES]
    lines.append(f"| `{MANIFEST}` | model id, knowledge hash, counts, each file's SHA-256; written last |")
    lines.append(
        f"| `{VERIFIED}` | each file's stat stamp when its digest last matched (not digested): a start"
        " hashes only the files whose stamp changed |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(files_markdown(), end="")
