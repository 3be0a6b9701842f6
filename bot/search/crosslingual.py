"""Questions in other languages against the English knowledge, through the multilingual model.

A Chinese or Spanish question and the article's English sentence are far apart for
all-MiniLM-L6-v2 (cosine about 0.05 between a question and its translation), and close for
USE multilingual v3 (bot/search/multilingual.py). Closer still are the curated questions,
which are worded as questions: the English ones (``sentence_questions``, section questions
and topics) and their translations in ``knowledge/*.<language>.yaml`` (kind: translation) are
the bridge from a question to its sentence. Each sentence row gets a few multilingual
signals (:data:`FEATURES`); a linear score over them (``bot/crosslingual.json``, fitted by
``scripts/tune_crosslingual.py`` on the multilingual question sets) ranks the rows, and a
logistic boundary (:data:`BOUNDARY`) over the top score, the closest out-of-scope example (in
English, and in the asker's language where ``knowledge/scope.<language>.yaml`` has them), the
closest curated keys and a per-language offset decides the status. The quote, the
verdict and the card are the English path's: the article is quoted verbatim, in English.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..knowledge import Knowledge
from .answer import Status
from .corpus import Corpus
from .embedder import ModelError
from .multilingual import MultilingualModel
from .schema import section_ref
from .wordmatch import BM25, squash, terms

logger = logging.getLogger(__name__)

WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "crosslingual.json"

# The multilingual signals of a sentence row, in the order of the fitted weights.
FEATURES = (
    "sentence",  # cosine with the sentence itself
    "own_sentence",  # cosine with the sentence's gist in the asker's language (else sentence)
    "keys",  # best cosine with its English curated questions and topics (else the sentence's)
    "own_keys",  # best cosine with its curated questions in the asker's language (else keys)
    "section",  # mean of the two closest English keys of its section
    "own_section",  # best cosine with its section's questions in the asker's language (else section)
    "section_best",  # the best of keys and own_keys over its section's sentences
    "own_words",  # BM25 with its gist and curated questions in the asker's language, squashed
    "section_words",  # BM25 with its section's texts in the asker's language, squashed
    "takeaway",  # 1 for a section's bold takeaway line
)
WORDS_SCALE = 4.0  # BM25 score at which a squashed word signal is 0.5
# What the reply boundary reads, in the order of its fitted weights (and a bias).
BOUNDARY = (
    "score",  # the top row's ranking score
    "scope",  # cosine with the closest out-of-scope example, English or the asker's language
    "keys",  # the best `keys` over the rows: the closest English curated key
    "own_keys",  # the best `own_keys`: the closest curated key in the asker's language
)


@dataclass(frozen=True)
class Weights:
    """The fitted ranking weights (one per feature) and the reply boundary: a weight for each
    of :data:`BOUNDARY`, a bias, and an offset per language the boundary was fitted on (the
    word signals of Chinese character pairs and of Spanish stems run on different scales);
    a language fitted on none takes their mean."""

    ranking: np.ndarray
    refusal: dict[str, float]
    caveat: float  # below this margin (and above 0) an answer carries the caveat
    languages: dict[str, float] = field(default_factory=dict)  # the boundary's offset per language

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> Weights:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            ranking = np.array([float(data["ranking"][name]) for name in FEATURES], dtype=np.float32)
            refusal = {key: float(data["refusal"].get(key, 0.0)) for key in (*BOUNDARY, "bias")}
            languages = {str(k): float(v) for k, v in data.get("languages", {}).items()}
            return cls(ranking, refusal, float(data.get("caveat", 0.0)), languages)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: cross-language weights unreadable ({exc})") from None

    def margin(self, inputs: dict[str, float], language: str) -> float:
        """Above 0: answer; ``inputs``: a value for each of :data:`BOUNDARY`."""
        r = self.refusal
        offsets = self.languages
        offset = offsets.get(language, sum(offsets.values()) / len(offsets) if offsets else 0.0)
        return sum(r[name] * inputs[name] for name in BOUNDARY) + r["bias"] + offset


@dataclass(frozen=True)
class Across:
    """One question's multilingual signals: a matrix (rows x FEATURES), its ranking scores,
    and what the boundary reads."""

    vector: np.ndarray  # the question's multilingual vector
    features: np.ndarray
    scores: np.ndarray
    scope: float  # cosine with the closest out-of-scope example (-1 without any)
    language: str = ""


def _group_max(values: np.ndarray, groups: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full(n, fill, dtype=np.float32)
    if len(groups):
        np.maximum.at(out, groups, values)
    return out


class CrossLingual:
    """The knowledge's multilingual vectors, arranged by sentence row and section."""

    def __init__(
        self,
        knowledge: Knowledge,
        corpus: Corpus,
        model: MultilingualModel,
        *,
        weights: Weights | None = None,
        cache_dir: Path | None = None,
    ):
        self.model = model
        self.corpus = corpus
        self.weights = weights or Weights.load()
        index = corpus.index
        section_row = {ref: i for i, ref in enumerate(index.section_refs)}
        # English keys: the index's own (sentence keys by row, section keys by section).
        key_texts = [k.text for k in index.sentence_keys]
        key_rows = [k.sentence for k in index.sentence_keys]
        section_texts = [k.text for k in index.section_keys]
        section_rows = [section_row[k.section] for k in index.section_keys]
        # Translated keys: each translation's sentence questions by row, its questions by section.
        own: list[tuple[str, str, int, int]] = []  # (language, text, row or -1, section)
        glosses: list[tuple[str, str, int]] = []  # (language, a sentence's gist, its row)
        self.questions: dict[str, list[tuple[str, int]]] = {}  # language -> (question, section)
        for t in knowledge.translations:
            ref = section_ref(t.document_id, t.section_id)
            if ref not in section_row:
                continue
            section = section_row[ref]
            for question in t.questions:
                own.append((t.language, question, -1, section))
                self.questions.setdefault(t.language, []).append((question, section))
            for item in t.sentence_questions:
                for row in self._rows_of(section, item.quote):
                    own += [(t.language, q, row, section) for q in item.questions]
            for quote, gist in t.sentences:
                glosses += [(t.language, gist, row) for row in self._rows_of(section, quote)]
        self.languages = tuple(sorted(self.questions))
        scope = list(knowledge.out_of_scope)
        own_scope = [(language, text) for language, text in knowledge.translated_scope]
        sentences = [corpus.sentence_text(row) for row in range(corpus.n)]
        own_texts = [text for _l, text, _r, _s in own]
        gloss_texts = [text for _l, text, _r in glosses]
        texts = sentences + key_texts + section_texts + own_texts + gloss_texts + scope
        texts += [text for _l, text in own_scope]
        vectors = self._vectors(texts, cache_dir)
        parts = np.cumsum(
            [len(sentences), len(key_texts), len(section_texts), len(own), len(glosses), len(scope)]
        )
        (
            self.sentence_vectors,
            self.key_vectors,
            self.section_vectors,
            own_vectors,
            gloss_vectors,
            self.scope_vectors,
            own_scope_vectors,
        ) = np.split(vectors, parts)
        self.own_scope_vectors = {  # language -> its out-of-scope examples' vectors
            language: own_scope_vectors[[i for i, o in enumerate(own_scope) if o[0] == language]]
            for language in {o[0] for o in own_scope}
        }
        self.gloss = {}  # language -> (vectors, rows)
        for language in {g[0] for g in glosses}:
            chosen = [i for i, g in enumerate(glosses) if g[0] == language]
            self.gloss[language] = (
                gloss_vectors[chosen],
                np.array([glosses[i][2] for i in chosen], dtype=np.int64),
            )
        self.words = {}  # language -> (BM25 over rows, BM25 over sections)
        for language in {o[0] for o in own} | set(self.gloss):
            by_row: list[list[str]] = [[] for _ in range(corpus.n)]
            by_section: list[list[str]] = [[] for _ in range(corpus.n_sections)]
            for lang, text, row, section in own:
                if lang == language:
                    words = terms(text, language)
                    by_section[section] += words
                    if row >= 0:
                        by_row[row] += words
            for lang, text, row in glosses:
                if lang == language:
                    words = terms(text, language)
                    by_row[row] += words
                    by_section[int(corpus.sentence_section[row])] += words
            self.words[language] = (BM25(by_row), BM25(by_section))
        self.key_rows = np.array(key_rows, dtype=np.int64)
        self.section_key_rows = np.array(section_rows, dtype=np.int64)
        self.own_vectors = {
            language: own_vectors[[i for i, o in enumerate(own) if o[0] == language]]
            for language in self.languages
        }
        self.own_rows = {
            language: np.array([o[2] for o in own if o[0] == language], dtype=np.int64)
            for language in self.languages
        }
        self.own_sections = {
            language: np.array([o[3] for o in own if o[0] == language], dtype=np.int64)
            for language in self.languages
        }
        self.question_vectors = {
            language: own_vectors[[i for i, o in enumerate(own) if o[0] == language and o[2] < 0]]
            for language in self.languages
        }

    def _rows_of(self, section: int, quote: str) -> list[int]:
        """The sentence rows (of section row ``section``) holding ``quote``, or the sentence a
        quote running past its end starts with (a takeaway restating a paragraph's sentence
        is a row of its own: the words stand for both)."""
        c = self.corpus
        rows = []
        for row in np.flatnonzero(c.sentence_section == section):
            text = c.sentence_text(int(row))
            if quote in text or quote.startswith(text):
                rows.append(int(row))
        return rows

    def _vectors(self, texts: list[str], cache_dir: Path | None) -> np.ndarray:
        """The texts' vectors, from the cache when this model embedded these very texts before
        (embedding them all takes seconds; every process start would pay it)."""
        key = hashlib.sha256("\0".join([self.model.model_id, *texts]).encode()).hexdigest()
        path = Path(cache_dir) / f"crosslingual-{key[:32]}.npy" if cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                cached = np.load(path, allow_pickle=False)
                if cached.shape == (len(texts), self.model.dimension) and cached.dtype == np.float32:
                    return cached
            except (OSError, ValueError):
                pass  # unreadable: embedded again and rewritten
        vectors = self.model.encode(texts)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
                    np.save(handle, vectors, allow_pickle=False)
                os.replace(handle.name, path)
                for old in path.parent.glob("crosslingual-*.npy"):
                    if old != path:
                        old.unlink(missing_ok=True)
            except OSError as exc:  # a read-only data directory: serve, embed again next start
                logger.warning("cross-language vectors not cached at %s: %s", path, exc)
        return vectors

    # --- one question ---------------------------------------------------------------------------
    def features(self, q: np.ndarray, language: str, text: str = "") -> np.ndarray:
        """(rows x FEATURES) for the question ``text``, whose vector is ``q``, asked in ``language``."""
        c = self.corpus
        n, n_sections = c.n, c.n_sections
        sentence = self.sentence_vectors @ q
        keys = np.maximum(sentence, _group_max(self.key_vectors @ q, self.key_rows, n, -1.0))
        sims = self.section_vectors @ q
        by_section = np.where(
            c.keys_of_section >= 0, sims[np.maximum(c.keys_of_section, 0)], -np.inf
        )  # same key layout as the index's: keys_of_section indexes section_keys
        top2 = np.sort(by_section, axis=1)[:, -2:]
        section = np.where(np.isinf(top2[:, 0]), top2[:, 1], top2.mean(axis=1)).astype(np.float32)
        section = section[c.sentence_section]
        own_keys, own_section = keys, section
        if language in self.own_vectors and len(self.own_rows[language]):
            own = self.own_vectors[language] @ q
            rows = self.own_rows[language]
            on_row = rows >= 0
            per_row = _group_max(own[on_row], rows[on_row], n, -1.0)
            own_keys = np.where(per_row > -1.0, per_row, keys)
            per_section = _group_max(own, self.own_sections[language], n_sections, -1.0)[c.sentence_section]
            own_section = np.where(per_section > -1.0, per_section, section)
        own_sentence = sentence
        if language in self.gloss:
            vectors, rows = self.gloss[language]
            per_row = _group_max(vectors @ q, rows, n, -1.0)
            own_sentence = np.where(per_row > -1.0, per_row, sentence)
        best = np.maximum(keys, own_keys)
        section_best = _group_max(best, c.sentence_section, n_sections, -1.0)[c.sentence_section]
        own_words = section_words = np.zeros(n, dtype=np.float32)
        if language in self.words and text:
            query = terms(text, language)
            rows_bm25, sections_bm25 = self.words[language]
            own_words = squash(rows_bm25.scores(query), WORDS_SCALE)
            section_words = squash(sections_bm25.scores(query), WORDS_SCALE)[c.sentence_section]
        columns = (
            sentence,
            own_sentence,
            keys,
            own_keys,
            section,
            own_section,
            section_best,
            own_words,
            section_words,
            c.takeaway,
        )
        return np.column_stack(columns).astype(np.float32)

    def score(self, text: str, language: str) -> Across:
        q = self.model.encode_one(text)
        features = self.features(q, language, text)
        return Across(
            vector=q,
            features=features,
            scores=features @ self.weights.ranking,
            scope=self.scope(q, language),
            language=language,
        )

    def scope(self, q: np.ndarray, language: str) -> float:
        """Cosine of ``q`` with the closest out-of-scope example, English or in ``language``."""
        closest = [
            float((v @ q).max())
            for v in (self.scope_vectors, self.own_scope_vectors.get(language))
            if v is not None and len(v)
        ]
        return max(closest, default=-1.0)

    def boundary_inputs(self, found: Across, top_score: float) -> dict[str, float]:
        """What the reply boundary reads (:data:`BOUNDARY`) for an answer whose top score is ``top_score``."""
        features = found.features
        return {
            "score": top_score,
            "scope": found.scope,
            "keys": float(features[:, FEATURES.index("keys")].max()),
            "own_keys": float(features[:, FEATURES.index("own_keys")].max()),
        }

    def status(self, found: Across, top_score: float) -> Status:
        z = self.weights.margin(self.boundary_inputs(found, top_score), found.language)
        if z < 0:
            return "not_covered"
        return "low_confidence" if z < self.weights.caveat else "answered"

    def english_proxy(self, row: int, q: np.ndarray) -> np.ndarray:
        """An English-model vector standing in for the question at sentence ``row`` (the verdict
        compares it with the assignments' keys): the English-model vector of the row's curated
        key closest to the question, else of the sentence itself."""
        keys = np.flatnonzero(self.key_rows == row)
        if not len(keys):
            return self.corpus.sentence_vectors[row]
        best = keys[int(np.argmax(self.key_vectors[keys] @ q))]
        return self.corpus.index.sentence_key_vectors[best]

    def closest_questions(self, q: np.ndarray | None, language: str, n: int) -> list[str]:
        """The curated questions in ``language`` nearest ``q`` (in section order without
        ``q``), without repeats; [] when the knowledge has none in that language."""
        questions = self.questions.get(language, [])
        if not questions:
            return []
        order = range(len(questions)) if q is None else np.argsort(-(self.question_vectors[language] @ q))
        result: list[str] = []
        seen_sections: set[int] = set()
        for i in order:
            text, section = questions[int(i)]
            if q is None and section in seen_sections:
                continue  # examples: one a section
            seen_sections.add(section)
            if text not in result:
                result.append(text)
            if len(result) == n:
                break
        return result


def load_crosslingual(
    knowledge: Knowledge, corpus: Corpus, *, threads: int, cache_dir: Path | None
) -> CrossLingual:
    """The multilingual model (digest-checked) and the knowledge's vectors for it."""
    model = MultilingualModel(threads=threads, cache_dir=cache_dir)
    return CrossLingual(knowledge, corpus, model, cache_dir=cache_dir)
