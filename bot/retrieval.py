"""Answer a question: hybrid ranking, a verbatim quote, a verdict and a confidence.

The question is cleaned of Slack markup, its abbreviations spelled out (curated glossary)
and its typos fixed against the knowledge's words. Each passage is then scored from five
signals, all in [0, 1]:

- dense: cosine of the question with the passage, or with its closest sentence,
- keys: mean cosine of the question with the two closest of its section's curated keys
  (heading, takeaway, topics, questions),
- lexical, section_lexical: BM25 over passages and over sections' curated text, squashed
  by x / (x + c),
- assignment: cosine with the topics of a curated assignment inside the passage.

The top passage's score, less a penalty when the question sits closer to a curated
out-of-scope example than to any section key, decides the status; the passage's best
sentence is the quote; the curated owner of that sentence is the verdict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .backend import load_model_and_index
from .config import Settings
from .embedding import Embedder
from .index import SearchIndex, section_ref
from .knowledge import Document, Knowledge, load_knowledge
from .passages import Passage
from .spelling import SpellFixer
from .text import Glossary, clean_question, has_words, tokenize

logger = logging.getLogger(__name__)

Status = Literal["answered", "low_confidence", "not_covered"]


@dataclass(frozen=True)
class Weights:
    # Chosen with scripts/tune_ranking.py (see docs/retrieval.md for the figures).
    dense: float = 0.15
    keys: float = 0.50
    lexical: float = 0.07
    section_lexical: float = 0.28
    assignment: float = 0.10  # closeness to a curated assignment's topics (passage level)
    assignment_quote: float = 0.3  # the same, when choosing the quoted sentence
    lexical_scale: float = 4.0  # BM25 score at which the squashed lexical signal is 0.5
    scope_penalty: float = 0.5  # confidence = top score - scope_penalty * off-scope margin
    answered: float = 0.43  # confidence at or above: answered
    low_confidence: float = 0.42  # confidence at or above (and below answered): low_confidence
    quote_min_words: int = 8  # a shorter best sentence (or a question) takes its neighbour along


@dataclass(frozen=True)
class Hit:
    passage: Passage
    quote: str
    owner: str
    score: float
    signals: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "id": self.passage.id,
            "section": self.passage.section,
            "text": self.passage.text,
            "quote": self.quote,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    owner: str | None
    hits: tuple[Hit, ...]

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "owner": self.owner,
            "passages": [hit.to_dict() for hit in self.hits],
        }


def _knowledge_texts(knowledge: Knowledge):
    for section in knowledge.sections():
        yield from (section.heading, section.takeaway, *section.topics, *section.questions)
        yield from (p.text for p in section.paragraphs)


def _squash(scores: np.ndarray, scale: float) -> np.ndarray:
    scores = np.maximum(scores, 0.0)
    return scores / (scores + scale)


class Advisor:
    """The offline core: knowledge, model and index, ready to answer questions."""

    def __init__(
        self,
        knowledge: Knowledge,
        embedder: Embedder,
        index: SearchIndex,
        *,
        top_k: int = 3,
        weights: Weights | None = None,
    ):
        self.knowledge = knowledge
        self.embedder = embedder
        self.index = index
        self.top_k = top_k
        self.weights = weights or Weights()
        self._section_row = {ref: i for i, ref in enumerate(index.section_refs)}
        self._passage_section = np.array(
            [self._section_row[section_ref(p.document_id, p.section_id)] for p in index.passages],
            dtype=np.int64,
        )
        key_section = np.array([self._section_row[k.section] for k in index.keys], dtype=np.int64)
        self._keys_of_section = [np.flatnonzero(key_section == row) for row in range(len(index.section_refs))]
        self.glossary = Glossary(knowledge.glossary)
        self.speller = SpellFixer(_knowledge_texts(knowledge), embedder.known_words())
        self._unit_passage = np.array([p for p, _u in index.unit_spans], dtype=np.int64)
        self._unit_key_unit = np.array(index.unit_key_units, dtype=np.int64)
        self._units_of: list[list[int]] = [[] for _ in index.passages]
        for row, (p, _u) in enumerate(index.unit_spans):
            self._units_of[p].append(row)
        # Each sentence's stemmed words, once, for the word-overlap part of choosing a quote.
        self._unit_tokens = [
            frozenset(tokenize(index.passages[p].unit_text(index.passages[p].units[u])))
            for p, u in index.unit_spans
        ]

    @classmethod
    def load(cls, settings: Settings, *, progress: bool = False) -> Advisor:
        """Load knowledge, model (ONNX or torch, see bot.backend) and index (rebuilt if stale or corrupt)."""
        knowledge = load_knowledge(settings.knowledge_dir)
        embedder, index = load_model_and_index(settings, knowledge, progress=progress)
        return cls(knowledge, embedder, index, top_k=settings.top_k)

    # --- lookups for presentation ---------------------------------------------------
    def document(self, document_id: str) -> Document:
        return self.knowledge.document(document_id)

    def example_questions(self) -> list[str]:
        """One curated question per section, in article order."""
        return [s.questions[0] for s in self.knowledge.sections() if s.questions]

    # --- scoring ------------------------------------------------------------------
    def score_passages(self, question: str, vector: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every signal for every passage (arrays aligned with ``index.passages``)."""
        w = self.weights
        index = self.index
        q = self.embedder.encode_one(question) if vector is None else vector
        n = len(index.passages)
        sims, ids = index.passage_index.search(q.reshape(1, -1), n)
        dense = np.zeros(n, dtype=np.float32)
        dense[ids[0]] = sims[0]
        # A passage is as close as its closest sentence, if that beats the passage as a whole.
        unit_sims = index.unit_vectors @ q
        np.maximum.at(dense, self._unit_passage, unit_sims)
        # Closeness to the topics of a curated assignment, by sentence and by passage.
        unit_topic = np.zeros(len(unit_sims), dtype=np.float32)
        if len(self._unit_key_unit):
            np.maximum.at(unit_topic, self._unit_key_unit, index.unit_key_vectors @ q)
        assignment = np.zeros(n, dtype=np.float32)
        np.maximum.at(assignment, self._unit_passage, unit_topic)
        key_sims = index.key_vectors @ q
        # A section's key signal: the mean of its two closest keys (steadier than the single best).
        section_keys = np.array(
            [np.sort(key_sims[rows])[-2:].mean() for rows in self._keys_of_section], dtype=np.float32
        )
        tokens = tokenize(question)
        if tokens:
            lexical = _squash(index.lexical_passages.get_scores(tokens), w.lexical_scale)
            section_lexical = _squash(index.lexical_sections.get_scores(tokens), w.lexical_scale)
        else:
            lexical = np.zeros(n, dtype=np.float32)
            section_lexical = np.zeros(len(index.section_refs), dtype=np.float32)
        keys = section_keys[self._passage_section]
        sec_lex = section_lexical[self._passage_section]
        total = (
            w.dense * dense
            + w.keys * keys
            + w.lexical * lexical
            + w.section_lexical * sec_lex
            + w.assignment * assignment
        )
        # How much closer the question is to a curated out-of-scope example than to any key.
        scope = index.scope_vectors @ q
        off_scope = float(scope.max() - key_sims.max()) if len(scope) else -1.0
        return {
            "off_scope": off_scope,
            "total": total,
            "dense": dense,
            "keys": keys,
            "lexical": lexical,
            "section_lexical": sec_lex,
            "assignment": assignment,
            "unit": unit_sims + w.assignment_quote * unit_topic,
            "q": q,
        }

    def rank(self, scores: np.ndarray) -> list[int]:
        """Passages best first, the best of each section before any second of a section."""
        order = np.argsort(-scores, kind="stable")
        firsts, rest, seen = [], [], set()
        for i in order:
            section = self._passage_section[i]
            (rest if section in seen else firsts).append(int(i))
            seen.add(section)
        return firsts + rest

    def _quote(self, passage_row: int, unit_scores: np.ndarray, tokens: set[str]) -> tuple[str, str]:
        """The passage's sentence(s) closest to the question, and their curated owner."""
        passage = self.index.passages[passage_row]
        sims = unit_scores[self._units_of[passage_row]]
        if tokens:
            overlap = np.array([len(tokens & self._unit_tokens[row]) for row in self._units_of[passage_row]])
            sims = sims + 0.2 * overlap / len(tokens)
        best = int(np.argmax(sims))
        chosen = [best]
        best_text = passage.unit_text(passage.units[best])
        too_thin = len(best_text.split()) < self.weights.quote_min_words or best_text.endswith("?")
        if too_thin and len(passage.units) > 1:
            chosen.append(best + 1 if best + 1 < len(passage.units) else best - 1)
        units = [passage.units[i] for i in sorted(chosen)]
        owners = {u.owner for u in units}
        owner = owners.pop() if len(owners) == 1 else "both"
        return passage.text[units[0].start : units[-1].end], owner

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        """Answer ``question`` with the top ``k`` passages, a status and a verdict."""
        k = max(1, min(int(k or self.top_k), len(self.index.passages)))
        text = clean_question(question)
        if not has_words(text):
            return Answer(question=question, status="not_covered", owner=None, hits=())
        text = self.speller.fix(self.glossary.expand(text))
        signals = self.score_passages(text)
        total = signals["total"]
        tokens = set(tokenize(text))
        hits = []
        for row in self.rank(total)[:k]:
            quote, owner = self._quote(row, signals["unit"], tokens)
            hits.append(
                Hit(
                    passage=self.index.passages[row],
                    quote=quote,
                    owner=owner,
                    score=float(total[row]),
                    signals={
                        name: float(signals[name][row])
                        for name in ("dense", "keys", "lexical", "section_lexical", "assignment")
                    },
                )
            )
        confidence = hits[0].score - self.weights.scope_penalty * signals["off_scope"]
        if confidence >= self.weights.answered:
            status: Status = "answered"
        elif confidence >= self.weights.low_confidence:
            status = "low_confidence"
        else:
            status = "not_covered"
        owner = hits[0].owner if status != "not_covered" else None
        return Answer(question=question, status=status, owner=owner, hits=tuple(hits))
