"""The search index on disk: FAISS over sentence and passage vectors, curated keys, BM25.

Every file of the index is one row of :data:`FILES` (name, format, what it holds); the same
table writes, reads, verifies and documents them. All are written to a temporary directory,
fsynced, digested into ``manifest.json`` (written last) and swapped in by rename. The model's
ONNX export (:data:`ONNX_FILES`) is written beside them when the model can be exported; it is
digested like the rest and read by bot.backend, not here.

A manifest that does not match the knowledge or model marks the index stale; a file whose
digest does not match marks it corrupt. Either way :func:`ensure_index` rebuilds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .embedding import Embedder, ModelError, file_sha256, normalised
from .errors import AdvisorError
from .knowledge import Knowledge, Section
from .passages import PARAGRAPH_OWNER, Passage, split_knowledge, split_sentences
from .text import tokenize

logger = logging.getLogger(__name__)

FORMAT_VERSION = 7
MANIFEST = "manifest.json"
STALE_TMP_SECONDS = 3600  # a temporary build directory older than this was left by a dead build


class IndexUnavailable(AdvisorError):
    """No usable index on disk: missing, stale or corrupt (the message says which)."""


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


@dataclass(frozen=True)
class SectionKey:
    section: str  # section_ref(document_id, section_id)
    kind: str  # heading | takeaway | topic | question | sentence (uncurated sections)
    text: str


@dataclass(frozen=True)
class SentenceKey:
    sentence: int  # row of the sentence it finds
    kind: str  # question (curated sentence_questions) | topic (a curated assignment's topics)
    text: str


@dataclass(frozen=True)
class AssignmentKey:
    passage: int  # row of the passage
    span: int  # index into that passage's ``assignments``
    text: str  # the assignment's own words, or one of its topics


# --- the files ----------------------------------------------------------------------------


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


def _npy() -> tuple[Callable, Callable]:
    return (
        lambda path, array: np.save(path, array, allow_pickle=False),
        lambda path: np.load(path, allow_pickle=False),
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


@dataclass(frozen=True)
class IndexFile:
    field: str  # the SearchIndex attribute it loads into
    name: str  # file (or bm25s directory) name inside the index directory
    what: str
    io: tuple[Callable, Callable]  # (write(path, value), read(path) -> value)


FILES: tuple[IndexFile, ...] = (
    IndexFile(
        "passages",
        "passages.jsonl",
        "one passage a line: text, section, sentences, assignments",
        _jsonl(Passage),
    ),
    IndexFile(
        "passage_index", "passages.faiss", "inner-product index over normalised passage vectors", _faiss()
    ),
    IndexFile(
        "sentence_index", "sentences.faiss", "the same over every sentence, in passage order", _faiss()
    ),
    IndexFile(
        "sentence_tokens",
        "sentence_tokens.npy",
        "the model's word-piece vectors of every sentence, projected (below) and normalised, in"
        " sentence order; special tokens and the pieces of half the sentences or more left out",
        _npy(),
    ),
    IndexFile(
        "sentence_token_pieces",
        "sentence_pieces.npy",
        "for each of those vectors: its sentence row and its word piece's vocabulary id",
        _npy(),
    ),
    IndexFile(
        "piece_frequency",
        "piece_frequency.npy",
        "every word piece of the sentences (vocabulary id) and how many sentences have it",
        _npy(),
    ),
    IndexFile(
        "token_projection",
        "token_projection.npy",
        "the word-piece vectors' principal directions (dimension x at most 128), fitted at build",
        _npy(),
    ),
    IndexFile(
        "sentence_keys",
        "sentence_keys.jsonl",
        "curated keys of sentences: sentence_questions, assignment topics",
        _jsonl(SentenceKey),
    ),
    IndexFile("sentence_key_vectors", "sentence_keys.npy", "their vectors", _npy()),
    IndexFile(
        "section_keys",
        "section_keys.jsonl",
        "curated section keys: heading, takeaway, topics, questions",
        _jsonl(SectionKey),
    ),
    IndexFile("section_key_vectors", "section_keys.npy", "their vectors", _npy()),
    IndexFile(
        "assignment_keys",
        "assignment_keys.jsonl",
        "each assignment's words and topics, by passage span",
        _jsonl(AssignmentKey),
    ),
    IndexFile(
        "assignment_key_vectors",
        "assignment_keys.npy",
        "their vectors (which clause of a quote answers)",
        _npy(),
    ),
    IndexFile(
        "scope_vectors", "scope.npy", "curated out-of-scope questions (teach the advisor to decline)", _npy()
    ),
    IndexFile(
        "scope_classifier",
        "scope_classifier.npy",
        "a linear classifier of questions (weights, then bias; empty without out-of-scope examples):"
        " the curated keys, and a question about each curated topic, against the out-of-scope ones",
        _npy(),
    ),
    IndexFile("section_refs", "sections.json", "section_ref of each section, in reading order", _json()),
    IndexFile(
        "lexical_sentences", "lexical-sentences", "bm25s over each sentence with its section heading", _bm25()
    ),
    IndexFile("lexical_sections", "lexical-sections", "bm25s over each section's curated text", _bm25()),
)


# Written by the model's export when it can be made (Embedder.export_onnx), read by bot.backend.
ONNX_FILES: tuple[tuple[str, str], ...] = (
    ("model.onnx", "the model's transformer for onnxruntime (parity-checked against sentence-transformers)"),
    ("model.onnx.data", "its weights, mapped by onnxruntime rather than copied"),
)


@dataclass
class SearchIndex:
    manifest: Manifest
    passages: list[Passage]
    passage_index: object  # faiss.Index
    sentence_index: object  # faiss.Index, one row per sentence (see ``sentence_rows``)
    sentence_tokens: np.ndarray  # word-piece vectors of the sentences, projected, row after row
    sentence_token_pieces: np.ndarray  # (sentence row, vocabulary id) of each
    piece_frequency: np.ndarray  # (vocabulary id, sentences that have it) of every piece
    token_projection: np.ndarray  # dimension x projected dimension
    sentence_keys: list[SentenceKey]
    sentence_key_vectors: np.ndarray
    section_keys: list[SectionKey]
    section_key_vectors: np.ndarray
    assignment_keys: list[AssignmentKey]
    assignment_key_vectors: np.ndarray
    scope_vectors: np.ndarray  # may have zero rows
    scope_classifier: np.ndarray  # dimension + 1 (weights, bias), or empty: see scope_classifier()
    section_refs: list[str]
    lexical_sentences: object  # bm25s.BM25
    lexical_sections: object  # bm25s.BM25

    @property
    def sentence_rows(self) -> list[tuple[int, int]]:
        """(passage row, sentence index in that passage) of each sentence row, in order."""
        return sentence_rows(self.passages)


def sentence_rows(passages: list[Passage]) -> list[tuple[int, int]]:
    return [(i, j) for i, p in enumerate(passages) for j in range(len(p.sentences))]


# --- what goes in ---------------------------------------------------------------------------


def is_curated(section: Section) -> bool:
    """Whether someone wrote keys for the section (topics, questions), as for the article."""
    return bool(section.topics or section.questions or section.sentence_questions)


def _own_sentences(section: Section) -> list[str]:
    return [p.text[s:e] for p in section.paragraphs for s, e in split_sentences(p.text)]


def section_keys(section: Section) -> list[SectionKey]:
    """Heading, takeaway and curated topics and questions; a section nobody curated (a
    company playbook) is keyed by its own sentences instead, so it competes on its text."""
    ref = section_ref(section.document_id, section.id)
    keys = [SectionKey(ref, "heading", section.heading)]
    if section.takeaway:
        keys.append(SectionKey(ref, "takeaway", section.takeaway))
    keys += [SectionKey(ref, "topic", t) for t in section.topics]
    keys += [SectionKey(ref, "question", q) for q in section.questions]
    if not is_curated(section):
        keys += [SectionKey(ref, "sentence", t) for t in _own_sentences(section)]
    return keys


def _sentence_keys(passages: list[Passage], sections: dict[str, Section]) -> list[SentenceKey]:
    """Curated keys of each sentence: the questions it answers, its assignments' topics."""
    rows = {}
    for row, (p, s) in enumerate(sentence_rows(passages)):
        passage = passages[p]
        sentence = passage.sentences[s]
        start = passage.start + sentence.start
        rows[(passage.document_id, passage.section_id, passage.paragraph, start)] = row
    keys = []
    for section in sections.values():
        texts = [(i, section.paragraphs[i].text) for i in range(len(section.paragraphs))]
        texts.insert(0, (-1, section.takeaway))
        for item in section.sentence_questions:
            paragraph, text = next((i, t) for i, t in texts if item.quote in t)
            row = _row_at(rows, section, paragraph, text, text.index(item.quote))
            if row is not None:
                keys += [SentenceKey(row, "question", q) for q in item.questions]
        for assignment in section.assignments:
            for paragraph, text in texts:
                at = text.find(assignment.quote)
                if at < 0:
                    continue
                for start, end in split_sentences(text):
                    if start < at + len(assignment.quote) and end > at:
                        row = rows.get((section.document_id, section.id, paragraph, start))
                        if row is not None:
                            keys += [SentenceKey(row, "topic", t) for t in assignment.topics]
    return keys


def _row_at(rows: dict, section: Section, paragraph: int, text: str, at: int) -> int | None:
    for start, end in split_sentences(text):
        if start <= at < end:
            return rows.get((section.document_id, section.id, paragraph, start))
    return None


def _assignment_keys(passages: list[Passage], sections: dict[str, Section]) -> list[AssignmentKey]:
    keys = []
    for p, passage in enumerate(passages):
        section = sections[section_ref(passage.document_id, passage.section_id)]
        for j, span in enumerate(passage.assignments):
            if span.assignment == PARAGRAPH_OWNER:
                keys.append(AssignmentKey(p, j, passage.text))
                continue
            assignment = section.assignments[span.assignment]
            keys += [AssignmentKey(p, j, t) for t in (assignment.quote, *assignment.topics)]
    return keys


def section_lexical_text(section: Section) -> str:
    """What BM25 matches a section by: its curated text, or its whole text if uncurated."""
    own = [p.text for p in section.paragraphs] if not is_curated(section) else []
    return " ".join([section.heading, section.takeaway, *section.topics, *section.questions, *own])


def import_bm25s():
    """bm25s, imported lazily (it is slow to import) with its logger kept quiet.

    bm25s sets its own logger to DEBUG when imported, so every index build would log at
    DEBUG whatever the application's level; put it back under the root logger's control.
    """
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def _bm25_model(documents: list[str]):
    bm25s = import_bm25s()
    corpus = [tokenize(text) or ["_"] for text in documents]
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index(corpus, show_progress=False)
    return model


# Questions a user asks about a curated topic ("direct mail", "today's cash flow"): they stand
# beside the keys as what is in scope, since the keys are mostly questions about the article
# and the out-of-scope examples mostly a company's own "who does X" (docs/retrieval.md).
TOPIC_QUESTIONS = (
    "Who should own {}?",
    "Which department is responsible for {}, sales or marketing?",
    "Is {} a job for sales or for marketing?",
)


def topic_questions(sections) -> list[str]:
    """:data:`TOPIC_QUESTIONS` about every distinct curated topic, of sections and assignments."""
    topics = dict.fromkeys(
        topic
        for section in sections
        for topic in [*section.topics, *(t for a in section.assignments for t in a.topics)]
    )
    return [template.format(topic) for topic in topics for template in TOPIC_QUESTIONS]


SCOPE_C = 1.0  # inverse L2 strength of the scope classifier (0.3 to 3 measured alike)


def scope_classifier(inside: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """A logistic regression of in-scope vectors against out-of-scope ones, each class weighing
    the same: ``dimension`` weights and a bias (its logit of a question is ``q @ w + b``), or an
    empty array when either class is empty (then a question's status ignores it)."""
    if not len(inside) or not len(outside):
        return np.zeros(0, dtype=np.float32)
    # scikit-learn is imported here, at build time only: serving reads the weights it fitted.
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([inside, outside]).astype(np.float64)
    y = np.r_[np.ones(len(inside)), np.zeros(len(outside))]
    weight = np.where(y == 1, len(x) / (2 * len(inside)), len(x) / (2 * len(outside)))
    model = LogisticRegression(C=SCOPE_C, max_iter=5000).fit(x, y, sample_weight=weight)
    return np.append(model.coef_[0], model.intercept_[0]).astype(np.float32)


def _sha256(path: Path) -> str:
    return file_sha256(path)  # streamed: the ONNX weights are 90 MB, not worth holding at once


def _files_of(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST)


# --- build ----------------------------------------------------------------------------------


def build_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    """Build the index for ``knowledge`` and atomically replace ``directory`` with it."""
    started = time.perf_counter()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_builds(directory)
    passages = split_knowledge(knowledge)
    sections = {section_ref(s.document_id, s.id): s for s in knowledge.retrievable_sections()}
    rows = sentence_rows(passages)
    sentence_texts = [passages[p].sentence_text(passages[p].sentences[s]) for p, s in rows]
    sec_keys = [key for section in sections.values() for key in section_keys(section)]
    sent_keys = _sentence_keys(passages, sections)
    assign_keys = _assignment_keys(passages, sections)
    # The sentences' vectors come out of the same model pass as their word pieces.
    sentence_v, tokens = _sentence_tokens(embedder, sentence_texts)
    groups = [
        [p.text for p in passages],
        [k.text for k in sent_keys],
        [k.text for k in sec_keys],
        [k.text for k in assign_keys],
        list(knowledge.out_of_scope),
        topic_questions(sections.values()),
    ]
    vectors = _encode_once(
        embedder, [text for group in groups for text in group], sentence_texts, sentence_v, progress
    )
    passage_v, sent_key_v, sec_key_v, assign_key_v, scope_v, topic_v = _split_rows(
        vectors, [len(group) for group in groups], embedder.dimension
    )
    values = {
        "passages": passages,
        "passage_index": passage_v,
        "sentence_index": sentence_v,
        **tokens,
        "sentence_keys": sent_keys,
        "sentence_key_vectors": sent_key_v,
        "section_keys": sec_keys,
        "section_key_vectors": sec_key_v,
        "assignment_keys": assign_keys,
        "assignment_key_vectors": assign_key_v,
        "scope_vectors": scope_v,
        "scope_classifier": scope_classifier(np.vstack([sec_key_v, sent_key_v, topic_v]), scope_v),
        "section_refs": list(sections),
        "lexical_sentences": _bm25_model(
            [f"{passages[p].section} {text}" for (p, _s), text in zip(rows, sentence_texts, strict=True)]
        ),
        "lexical_sections": _bm25_model([section_lexical_text(s) for s in sections.values()]),
    }
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for entry in FILES:
        entry.io[0](tmp / entry.name, values[entry.field])
    onnx = _export_onnx(embedder, tmp / ONNX_FILES[0][0])
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        knowledge_hash=knowledge.content_hash,
        passage_count=len(passages),
        sentence_count=len(rows),
        key_count=len(sec_keys) + len(sent_keys),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        files={str(p.relative_to(tmp)): _sha256(p) for p in _files_of(tmp)},
        onnx=onnx,
    )
    # The manifest is written last: a directory without one never loads.
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    for path in _files_of(tmp) + [tmp / MANIFEST]:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _swap_in(tmp, directory)
    logger.info("built index: %d passages in %.1fs at %s", len(passages), manifest.build_seconds, directory)
    return load_index(directory)


def _export_onnx(embedder: Embedder, target: Path) -> dict:
    """The model's ONNX export written to ``target``, or why there is none (the index is still
    complete without it: serving then uses sentence-transformers)."""
    export = getattr(embedder, "export_onnx", None)
    if export is None:
        return {"unavailable": f"built with the {getattr(embedder, 'backend', 'unknown')} backend"}
    try:
        return export(target)
    except ModelError as exc:
        reason = str(exc)
    except Exception as exc:  # torch.onnx raises many kinds; the index does not need the export
        reason = f"the ONNX export of {embedder.model_id} failed: {type(exc).__name__}: {exc}"
    for path in target.parent.glob(target.name + "*"):
        path.unlink()
    logger.warning("%s; this index will be served with sentence-transformers (torch)", reason)
    return {"unavailable": reason}


PROJECTED_DIMENSION = 128  # the word-piece match keeps its quality at 128 of 384 (docs/retrieval.md)
# Below this many sentences no piece is common: in a two-sentence handbook every piece of one
# sentence is in half of them. (Changing the rule changes what an index holds: bump
# FORMAT_VERSION with it, since the question side applies it again at load.)
COMMON_MIN_SENTENCES = 10


def common_pieces(piece_frequency: np.ndarray, n_sentences: int) -> set[int]:
    """Word pieces in half the sentences or more (".", ",", "the", "and", "is" in the article):
    left out of the word-piece match on both sides, question and sentence."""
    if n_sentences < COMMON_MIN_SENTENCES:
        return set()
    return {int(i) for i, n in piece_frequency if 2 * n >= n_sentences}


def _sentence_tokens(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sentences' vectors, and the index's word-piece files (see FILES): every sentence's
    pieces but the common ones, stacked in sentence order and projected onto their principal
    directions; (row, id) of each; every piece's sentence frequency; the projection.

    A sentence left with no piece keeps its rarest one, so that every row has one."""
    sentence_vectors, tokens = embedder.encode_tokens(texts)
    ids, counts = np.unique(
        np.concatenate([np.unique(t.ids) for t in tokens] + [np.zeros(0, dtype=np.int64)]),
        return_counts=True,
    )
    frequency = np.column_stack([ids, counts]).astype(np.int64)
    common = common_pieces(frequency, len(texts))
    of = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    kept, pieces = [np.zeros((0, embedder.dimension), dtype=np.float32)], []
    for row, token in enumerate(tokens):
        keep = np.array([i not in common for i in token.ids.tolist()], dtype=bool)
        if not keep.any() and len(token.ids):
            keep[int(np.argmin([of[i] for i in token.ids.tolist()]))] = True
        vectors, piece_ids = token.vectors[keep], token.ids[keep]
        if not len(piece_ids):  # the model read nothing but [CLS] and [SEP]: a zero piece 0
            vectors, piece_ids = np.zeros((1, embedder.dimension), dtype=np.float32), np.array([0])
            if 0 not in of:
                of[0] = 0
                frequency = np.vstack([frequency, [[0, 0]]])
        kept.append(vectors)
        pieces.append(np.column_stack([np.full(len(piece_ids), row), piece_ids]))
    stacked = np.concatenate(kept)
    projection = _principal_directions(stacked)
    return sentence_vectors.reshape(len(texts), embedder.dimension), {
        "sentence_tokens": normalised(stacked @ projection),
        "sentence_token_pieces": (np.concatenate(pieces) if pieces else np.zeros((0, 2))).astype(np.int64),
        "piece_frequency": frequency.astype(np.int64),
        "token_projection": projection,
    }


def _principal_directions(vectors: np.ndarray) -> np.ndarray:
    """(dimension x k) projection onto the top k = PROJECTED_DIMENSION principal directions of
    the pieces (eigenvectors of their covariance, d x d: cheap however many pieces). With fewer
    pieces than that, there are not that many directions to trust: the identity, unprojected.
    Pieces are projected as they are (not centred), so a cosine stays one between them."""
    n, dimension = vectors.shape
    if n <= PROJECTED_DIMENSION:
        return np.eye(dimension, dtype=np.float32)
    centred = vectors - vectors.mean(axis=0)
    _values, directions = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    return np.ascontiguousarray(directions[:, ::-1][:, :PROJECTED_DIMENSION], dtype=np.float32)


def _encode_once(
    embedder: Embedder, texts: list[str], known: list[str], known_vectors: np.ndarray, progress: bool
) -> np.ndarray:
    """Vectors of ``texts``: each distinct one embedded once, and none already among ``known``
    (the sentences, embedded with their word pieces) embedded again. An uncurated section is
    keyed by its own sentences, and a one-sentence paragraph is its own passage: for a
    playbook, most of them."""
    have = dict(zip(known, known_vectors, strict=True))
    missing = list(dict.fromkeys(t for t in texts if t not in have))
    if missing:
        have.update(zip(missing, embedder.encode(missing, progress=progress), strict=True))
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.ascontiguousarray(np.stack([have[t] for t in texts]), dtype=np.float32)


def _split_rows(vectors: np.ndarray, sizes: list[int], dimension: int) -> list[np.ndarray]:
    parts, start = [], 0
    for size in sizes:
        parts.append(np.ascontiguousarray(vectors[start : start + size]).reshape(-1, dimension))
        start += size
    return parts


def _swap_in(tmp: Path, directory: Path) -> None:
    old = directory.parent / f".{directory.name}.old-{os.getpid()}"
    if directory.exists():
        os.rename(directory, old)
    os.rename(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def clean_stale_builds(directory: Path) -> None:
    """Remove temporary directories that a build killed midway left beside ``directory``."""
    parent = Path(directory).parent
    if not parent.is_dir():
        return
    now = time.time()
    for pattern in (f".{directory.name}.tmp-*", f".{directory.name}.old-*"):
        for path in parent.glob(pattern):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_TMP_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
                    logger.info("removed %s, left by an interrupted index build", path)


# --- load -----------------------------------------------------------------------------------


def read_manifest(directory: Path) -> Manifest:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise IndexUnavailable(f"no index at {directory} (missing {MANIFEST})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexUnavailable(
                f"index at {directory} has format {data.get('format_version')}, expected {FORMAT_VERSION}"
            )
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise IndexUnavailable(f"corrupt index manifest {path}: {exc}") from None


def verify_index(directory: Path) -> Manifest:
    """The manifest, once every file is present and matches its digest (no FAISS, no bm25s:
    cheap enough for ``advisor index info``)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_files(directory, manifest)
    return manifest


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest names is there with its digest, and every FILES entry is named."""
    export = [name for name in (manifest.onnx_file, (manifest.onnx or {}).get("data")) if name]
    for name in export:
        if name not in manifest.files:
            raise IndexUnavailable(f"corrupt index: missing {directory / name}")
    for entry in FILES:
        if not any(name == entry.name or name.startswith(entry.name + "/") for name in manifest.files):
            raise IndexUnavailable(f"corrupt index: missing {directory / entry.name}")
    for name, digest in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise IndexUnavailable(f"corrupt index: missing {path}")
        if _sha256(path) != digest:
            raise IndexUnavailable(f"corrupt index: {path} does not match its manifest digest")


def load_index(directory: Path) -> SearchIndex:
    """Load and verify an index; raise IndexUnavailable naming the bad path."""
    directory = Path(directory)
    manifest = verify_index(directory)
    values = {}
    for entry in FILES:
        try:
            values[entry.field] = entry.io[1](directory / entry.name)
        except Exception as exc:  # any unreadable file means the index cannot be trusted
            raise IndexUnavailable(
                f"corrupt index: {directory / entry.name}: {type(exc).__name__}: {exc}"
            ) from None
    index = SearchIndex(manifest=manifest, **values)
    _check_shapes(index, directory)
    return index


def _check_shapes(index: SearchIndex, directory: Path) -> None:
    try:
        problems = _shape_problems(index)
    except (IndexError, ValueError, TypeError, AttributeError):  # a file of the wrong shape
        problems = [True]
    if any(problems):
        raise IndexUnavailable(f"corrupt index at {directory}: counts do not match the manifest")


def _shape_problems(index: SearchIndex) -> list[bool]:
    m = index.manifest
    n_sentences = len(index.sentence_rows)
    pieces, frequency = index.sentence_token_pieces, index.piece_frequency
    return [
        len(index.passages) != m.passage_count or index.passage_index.ntotal != m.passage_count,
        n_sentences != m.sentence_count or index.sentence_index.ntotal != n_sentences,
        len(index.section_keys) + len(index.sentence_keys) != m.key_count,
        index.sentence_key_vectors.shape != (len(index.sentence_keys), m.dimension),
        index.section_key_vectors.shape != (len(index.section_keys), m.dimension),
        index.assignment_key_vectors.shape != (len(index.assignment_keys), m.dimension),
        index.scope_vectors.shape[1:] != (m.dimension,),
        index.scope_classifier.shape not in ((0,), (m.dimension + 1,)),
        index.sentence_tokens.ndim != 2 or index.sentence_tokens.dtype != np.float32,
        index.token_projection.shape != (m.dimension, index.sentence_tokens.shape[1]),
        index.sentence_tokens.shape[1] not in (PROJECTED_DIMENSION, m.dimension),
        frequency.ndim != 2 or frequency.shape[1:] != (2,),
        pieces.shape != (len(index.sentence_tokens), 2),
        not np.array_equal(np.unique(pieces[:, 0]), np.arange(n_sentences)),
        bool(np.any(np.diff(pieces[:, 0]) < 0)),
        not np.isin(pieces[:, 1], frequency[:, 0]).all(),
        any(not 0 <= k.sentence < n_sentences for k in index.sentence_keys),
        any(not 0 <= k.passage < len(index.passages) for k in index.assignment_keys),
    ]


def staleness(manifest: Manifest, knowledge: Knowledge, model_id: str) -> str | None:
    """Why an index no longer matches the knowledge or model, or None when it is fresh."""
    if manifest.knowledge_hash != knowledge.content_hash:
        return "the knowledge changed"
    if manifest.model_id != model_id:
        return f"the model changed ({manifest.model_id} -> {model_id})"
    return None


@contextlib.contextmanager
def _build_lock(directory: Path):
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    """Load the index, rebuilding it when missing, stale or corrupt (logged)."""
    directory = Path(directory)
    try:
        index = load_index(directory)
        reason = staleness(index.manifest, knowledge, embedder.model_id)
        if reason is None:
            return index
        logger.info("index at %s is stale (%s); rebuilding", directory, reason)
    except IndexUnavailable as exc:
        level = logging.INFO if "missing" in str(exc) and "corrupt" not in str(exc) else logging.WARNING
        logger.log(level, "%s; rebuilding", exc)
    with _build_lock(directory):
        # Another process may have rebuilt it while this one waited for the lock.
        try:
            index = load_index(directory)
            if staleness(index.manifest, knowledge, embedder.model_id) is None:
                return index
        except IndexUnavailable:
            pass
        return build_index(knowledge, embedder, directory, progress=progress)


def rebuild_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    with _build_lock(Path(directory)):
        return build_index(knowledge, embedder, directory, progress=progress)
