"""Build-time fitting: everything the index holds, computed from the knowledge and the model
(keys, vectors, the word-piece projection, the scope classifier, BM25), as one value per row
of :data:`bot.search.schema.FILES`. Writing it to disk is bot.search.store's job."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..knowledge import Knowledge, Section
from ..passages import PARAGRAPH_OWNER, Passage, split_knowledge, split_sentences
from ..text import tokenize
from .embedder import Embedder, normalised
from .schema import (
    FILES,
    PROJECTED_DIMENSION,
    AssignmentKey,
    SectionKey,
    SentenceKey,
    common_pieces,
    import_bm25s,
    is_curated,
    plan_kind,
    section_ref,
    sentence_rows,
)


@dataclass(frozen=True)
class Fitted:
    """What a build computed: one value per row of FILES, and the counts the manifest records."""

    values: dict
    passage_count: int
    sentence_count: int
    key_count: int


def fit(knowledge: Knowledge, embedder: Embedder, *, progress: bool = False) -> Fitted:
    """Every file's value for ``knowledge`` embedded by ``embedder``."""
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
        # The classifier speaks for curated answers only (bot.search.boundary): it is fitted on the
        # curated keys, so a playbook added or removed leaves it as it was (and its fit is kept
        # in the vector cache: no scikit-learn import when a playbook is added).
        "scope_classifier": scope_classifier(
            np.vstack([sec_key_v[_curated_rows(sec_keys, sections)], sent_key_v, topic_v]),
            scope_v,
            memo=getattr(embedder, "derived", None),
        ),
        "section_refs": list(sections),
        "lexical_sentences": _bm25_model(
            [f"{passages[p].section} {text}" for (p, _s), text in zip(rows, sentence_texts, strict=True)]
        ),
        "lexical_sections": _bm25_model([section_lexical_text(s) for s in sections.values()]),
    }
    assert set(values) == {entry.field for entry in FILES}, "a row of FILES has no fitted value"
    return Fitted(values, len(passages), len(rows), len(sec_keys) + len(sent_keys))


def _curated_rows(keys: list[SectionKey], sections: dict[str, Section]) -> np.ndarray:
    return np.array([is_curated(sections[key.section]) for key in keys], dtype=bool).reshape(-1)


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
        # A claim's plans find the sentence that states the principle, as its questions do;
        # their kind carries the stance (bot.search.stance reads it back).
        for claim in section.claims:
            paragraph, text = next((i, t) for i, t in texts if i >= 0 and claim.quote in t)
            row = _row_at(rows, section, paragraph, text, text.index(claim.quote))
            if row is not None:
                keys += [SentenceKey(row, plan_kind(claim.stance), plan) for plan in claim.plans]
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


def scope_classifier(inside: np.ndarray, outside: np.ndarray, *, memo=None) -> np.ndarray:
    """A logistic regression of in-scope vectors against out-of-scope ones, each class weighing
    the same: ``dimension`` weights and a bias (its logit of a question is ``q @ w + b``), or an
    empty array when either class is empty (then a question's status ignores it).

    ``memo(key, compute)``: where a fit of the same vectors is kept (bot.search.vectors)."""
    if not len(inside) or not len(outside):
        return np.zeros(0, dtype=np.float32)
    if memo is not None:
        digest = hashlib.sha256(
            np.ascontiguousarray(inside, np.float32).tobytes()
            + b"|"
            + np.ascontiguousarray(outside, np.float32).tobytes()
            + repr(SCOPE_C).encode()
        ).hexdigest()[:32]
        return memo(f"scope_classifier_{digest}", lambda: scope_classifier(inside, outside))
    # scikit-learn is imported here, at build time only: serving reads the weights it fitted.
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([inside, outside]).astype(np.float64)
    y = np.r_[np.ones(len(inside)), np.zeros(len(outside))]
    weight = np.where(y == 1, len(x) / (2 * len(inside)), len(x) / (2 * len(outside)))
    model = LogisticRegression(C=SCOPE_C, max_iter=5000).fit(x, y, sample_weight=weight)
    return np.append(model.coef_[0], model.intercept_[0]).astype(np.float32)


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
