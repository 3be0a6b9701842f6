"""The search index: FAISS over passage vectors, section keys, and BM25, on disk.

Layout of the index directory (all written to a temporary directory, then renamed):

- ``manifest.json``: model id, dimension, knowledge hash, counts, build time, file digests
- ``passages.jsonl``: one passage a line (never pickle)
- ``passages.faiss``: inner-product index over normalised passage vectors
- ``units.npy``: vectors of the sentences inside passages (quote choice)
- ``keys.jsonl`` / ``keys.npy``: curated section keys (heading, takeaway, topics, questions)
- ``scope.npy``: curated out-of-scope example questions (teach the advisor to decline)
- ``unit_keys.jsonl`` / ``unit_keys.npy``: topics of curated assignments, by the sentence
  they describe (helps pick the passage and sentence that gives a department its job)
- ``lexical-passages/``, ``lexical-sections/``: bm25s indexes

A manifest that does not match the knowledge or model marks the index stale; a file whose
digest does not match marks it corrupt. Either way :func:`ensure_index` rebuilds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .embedding import Embedder
from .errors import AdvisorError
from .knowledge import Knowledge, Section
from .passages import Passage, split_knowledge
from .text import tokenize

logger = logging.getLogger(__name__)

FORMAT_VERSION = 4
MANIFEST = "manifest.json"


class IndexUnavailable(AdvisorError):
    """No usable index on disk: missing, stale or corrupt (the message says which)."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_id: str
    dimension: int
    knowledge_hash: str
    passage_count: int
    unit_count: int
    key_count: int
    built_at: str
    build_seconds: float
    files: dict[str, str]


def section_ref(document_id: str, section_id: str) -> str:
    """A section's name across documents: two playbooks may both have an ``overview``."""
    return f"{document_id}/{section_id}"


@dataclass(frozen=True)
class SectionKey:
    section: str  # section_ref(document_id, section_id)
    kind: str  # heading | takeaway | topic | question
    text: str


@dataclass
class SearchIndex:
    manifest: Manifest
    passages: list[Passage]
    passage_index: object  # faiss.Index
    unit_vectors: np.ndarray
    unit_spans: list[tuple[int, int]]  # (passage index, unit index) per unit vector row
    keys: list[SectionKey]
    key_vectors: np.ndarray
    scope_vectors: np.ndarray  # out-of-scope examples; may have zero rows
    unit_key_units: list[int]  # for each unit key, the row of the unit (sentence) it describes
    unit_key_vectors: np.ndarray
    section_refs: list[str]  # section_ref of each lexical-sections document, in order
    lexical_passages: object  # bm25s.BM25
    lexical_sections: object  # bm25s.BM25


def section_keys(section: Section) -> list[SectionKey]:
    ref = section_ref(section.document_id, section.id)
    keys = [SectionKey(ref, "heading", section.heading), SectionKey(ref, "takeaway", section.takeaway)]
    keys += [SectionKey(ref, "topic", t) for t in section.topics]
    keys += [SectionKey(ref, "question", q) for q in section.questions]
    return keys


def unit_keys(passages: list[Passage], unit_spans: list[tuple[int, int]], sections: list[Section]):
    """(unit row, topic) for every sentence inside a curated assignment that has topics."""
    by_ref = {section_ref(s.document_id, s.id): s for s in sections}
    keys = []
    for row, (p, u) in enumerate(unit_spans):
        passage = passages[p]
        text = passage.unit_text(passage.units[u])
        section = by_ref[section_ref(passage.document_id, passage.section_id)]
        for assignment in section.assignments:
            if text in assignment.quote:
                keys += [(row, topic) for topic in assignment.topics]
    return keys


def section_lexical_text(section: Section) -> str:
    return " ".join([section.heading, section.takeaway, *section.topics, *section.questions])


def import_bm25s():
    """bm25s, imported lazily (it is slow to import) with its logger kept quiet.

    bm25s sets its own logger to DEBUG when imported, so every index build would log at
    DEBUG whatever the application's level; put it back under the root logger's control.
    """
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def _bm25(documents: list[str]):
    bm25s = import_bm25s()
    corpus = [tokenize(text) or ["_"] for text in documents]
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index(corpus, show_progress=False)
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_of(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST)


def build_index(
    knowledge: Knowledge, embedder: Embedder, directory: Path, *, progress: bool = False
) -> SearchIndex:
    """Build the index for ``knowledge`` and atomically replace ``directory`` with it."""
    import faiss

    started = time.perf_counter()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    passages = split_knowledge(knowledge)
    sections = list(knowledge.sections())
    keys = [key for section in sections for key in section_keys(section)]
    unit_spans = [(i, j) for i, p in enumerate(passages) for j in range(len(p.units))]
    unit_texts = [passages[i].unit_text(passages[i].units[j]) for i, j in unit_spans]

    topics = unit_keys(passages, unit_spans, sections)
    groups = [
        [p.text for p in passages],
        unit_texts,
        [k.text for k in keys],
        list(knowledge.out_of_scope),
        [topic for _row, topic in topics],
    ]
    vectors = embedder.encode([text for group in groups for text in group], progress=progress)
    passage_vectors, unit_vectors, key_vectors, scope_vectors, unit_key_vectors = _split_rows(
        vectors, [len(group) for group in groups], embedder.dimension
    )
    n_p, n_u = len(passages), len(unit_texts)

    passage_index = faiss.IndexFlatIP(embedder.dimension)
    passage_index.add(passage_vectors)
    lexical_passages = _bm25([f"{p.section} {p.text}" for p in passages])
    lexical_sections = _bm25([section_lexical_text(s) for s in sections])

    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with open(tmp / "passages.jsonl", "w", encoding="utf-8") as out:
        for passage in passages:
            out.write(json.dumps(passage.to_json(), ensure_ascii=False) + "\n")
    with open(tmp / "keys.jsonl", "w", encoding="utf-8") as out:
        for key in keys:
            out.write(json.dumps(asdict(key), ensure_ascii=False) + "\n")
    faiss.write_index(passage_index, str(tmp / "passages.faiss"))
    np.save(tmp / "units.npy", unit_vectors, allow_pickle=False)
    np.save(tmp / "unit_spans.npy", np.asarray(unit_spans, dtype=np.int32).reshape(-1, 2), allow_pickle=False)
    np.save(tmp / "keys.npy", key_vectors, allow_pickle=False)
    np.save(tmp / "scope.npy", scope_vectors, allow_pickle=False)
    np.save(tmp / "unit_keys.npy", unit_key_vectors, allow_pickle=False)
    with open(tmp / "unit_keys.jsonl", "w", encoding="utf-8") as out:
        for row, topic in topics:
            out.write(json.dumps({"unit": row, "text": topic}, ensure_ascii=False) + "\n")
    lexical_passages.save(str(tmp / "lexical-passages"))
    lexical_sections.save(str(tmp / "lexical-sections"))
    (tmp / "sections.json").write_text(
        json.dumps([section_ref(s.document_id, s.id) for s in sections]), encoding="utf-8"
    )

    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        knowledge_hash=knowledge.content_hash,
        passage_count=n_p,
        unit_count=n_u,
        key_count=len(keys),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        files={str(p.relative_to(tmp)): _sha256(p) for p in _files_of(tmp)},
    )
    # The manifest is written last: a directory without one never loads.
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    for path in _files_of(tmp) + [tmp / MANIFEST]:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _swap_in(tmp, directory)
    logger.info("built index: %d passages in %.1fs at %s", n_p, manifest.build_seconds, directory)
    return load_index(directory)


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


def read_manifest(directory: Path) -> Manifest:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise IndexUnavailable(f"no index at {directory} (missing {MANIFEST})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise IndexUnavailable(f"corrupt index manifest {path}: {exc}") from None


def load_index(directory: Path) -> SearchIndex:
    """Load and verify an index; raise IndexUnavailable naming the bad path."""
    import faiss

    bm25s = import_bm25s()

    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexUnavailable(f"index at {directory} has format {manifest.format_version}")
    for name, digest in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise IndexUnavailable(f"corrupt index: missing {path}")
        if _sha256(path) != digest:
            raise IndexUnavailable(f"corrupt index: {path} does not match its manifest digest")
    try:
        with open(directory / "passages.jsonl", encoding="utf-8") as lines:
            passages = [Passage.from_json(json.loads(line)) for line in lines]
        with open(directory / "keys.jsonl", encoding="utf-8") as lines:
            keys = [SectionKey(**json.loads(line)) for line in lines]
        passage_index = faiss.read_index(str(directory / "passages.faiss"))
        unit_vectors = np.load(directory / "units.npy", allow_pickle=False)
        unit_spans = [
            tuple(map(int, row)) for row in np.load(directory / "unit_spans.npy", allow_pickle=False)
        ]
        key_vectors = np.load(directory / "keys.npy", allow_pickle=False)
        scope_vectors = np.load(directory / "scope.npy", allow_pickle=False)
        unit_key_vectors = np.load(directory / "unit_keys.npy", allow_pickle=False)
        with open(directory / "unit_keys.jsonl", encoding="utf-8") as lines:
            unit_key_units = [int(json.loads(line)["unit"]) for line in lines]
        lexical_passages = bm25s.BM25.load(str(directory / "lexical-passages"))
        lexical_sections = bm25s.BM25.load(str(directory / "lexical-sections"))
        section_refs = json.loads((directory / "sections.json").read_text(encoding="utf-8"))
    except Exception as exc:  # any unreadable file means the index cannot be trusted
        raise IndexUnavailable(f"corrupt index at {directory}: {type(exc).__name__}: {exc}") from None
    counts = (len(passages), len(unit_spans), len(keys))
    if counts != (manifest.passage_count, manifest.unit_count, manifest.key_count) or (
        passage_index.ntotal != len(passages)
        or unit_vectors.shape != (len(unit_spans), manifest.dimension)
        or key_vectors.shape != (len(keys), manifest.dimension)
        or scope_vectors.shape[1:] != (manifest.dimension,)
        or unit_key_vectors.shape != (len(unit_key_units), manifest.dimension)
        or any(not 0 <= row < len(unit_spans) for row in unit_key_units)
    ):
        raise IndexUnavailable(f"corrupt index at {directory}: counts do not match the manifest")
    return SearchIndex(
        manifest=manifest,
        passages=passages,
        passage_index=passage_index,
        unit_vectors=unit_vectors,
        unit_spans=unit_spans,
        keys=keys,
        key_vectors=key_vectors,
        scope_vectors=scope_vectors,
        unit_key_units=unit_key_units,
        unit_key_vectors=unit_key_vectors,
        section_refs=section_refs,
        lexical_passages=lexical_passages,
        lexical_sections=lexical_sections,
    )


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
