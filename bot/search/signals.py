"""The ranking signals: one function per signal, each giving one value per sentence row.

A signal function takes the :class:`Question` (the prepared text, its vector and word pieces,
the corpus, the ranker's settings, and the signals computed before it) and returns a float32
array aligned with the sentence rows. :data:`SIGNALS` lists them in the order of the ranker's
weight vector. A new signal is one function and one row of :data:`SIGNALS`, then a refit
(scripts/tune_ranking.py writes its weight into bot/ranker.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..text import tokenize
from .corpus import ASKS_AMOUNT, ASKS_OWNER, Corpus
from .embedder import Tokens, normalised
from .stance import is_plan


@dataclass
class Question:
    """One prepared question against one corpus: what every signal reads."""

    text: str  # prepared: cleaned, abbreviations spelled out, typos fixed
    vector: np.ndarray  # (dimension,)
    pieces: Tokens
    corpus: Corpus
    adapter: np.ndarray | None  # the query adapter (d x d), or None
    lexical_scale: float  # BM25 score at which a squashed lexical signal is 0.5
    uncurated_key_shift: float
    plan_floor: float = 0.45  # the ranker's: a claim plan closer than this says nothing
    done: dict[str, np.ndarray] = field(default_factory=dict)  # signals computed so far

    @cached_property
    def token_match(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return token_match(self.pieces, self.corpus)

    @cached_property
    def sentence_key_sims(self) -> np.ndarray:
        return self.corpus.index.sentence_key_vectors @ self.vector

    @cached_property
    def plan(self) -> bool:
        return is_plan(self.text)

    @cached_property
    def key_sims(self) -> np.ndarray:
        """The curated keys' cosines, claims' plans left out (-inf) for a message that is not
        a plan: a question about the article is keyed as it was before plans were."""
        if self.plan or not len(self.corpus.plan_keys):
            return self.sentence_key_sims
        sims = self.sentence_key_sims.copy()
        sims[self.corpus.plan_keys] = -np.inf
        return sims

    @cached_property
    def section_key_sims(self) -> np.ndarray:
        return self.corpus.index.section_key_vectors @ self.vector

    @cached_property
    def words(self) -> list[str]:
        return tokenize(self.text)


def squash(scores: np.ndarray, scale: float) -> np.ndarray:
    scores = np.maximum(scores, 0.0)
    return (scores / (scores + scale)).astype(np.float32)


def group_max(values: np.ndarray, groups: np.ndarray, n_groups: int, fill: float = 0.0) -> np.ndarray:
    out = np.full(n_groups, fill, dtype=np.float32)
    np.maximum.at(out, groups, values)
    return out


def token_match(pieces: Tokens, c: Corpus) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Late interaction between the question's word pieces and each sentence's.

    Returns, per sentence, the IDF-weighted mean over the question's pieces of each one's
    best cosine with a piece of the sentence, and the mean over the sentence's pieces of
    each one's best cosine with a piece of the question; then the plain (unweighted) mean of
    the first, for the section signal. Cosines are taken in the index's projection, and the
    common pieces (:func:`bot.search.schema.common_pieces`) are left out on both sides: a
    question of no other piece scores 0 everywhere."""
    ids = pieces.ids.tolist()
    keep = [j for j, i in enumerate(ids) if i not in c.common_pieces]
    if not keep:
        return tuple(np.zeros(c.n, dtype=np.float32) for _ in range(3))
    projected = normalised(pieces.vectors[keep] @ c.token_projection)
    similarity = projected @ c.token_vectors.T  # question pieces x sentence pieces
    best = np.maximum.reduceat(similarity, c.token_starts, axis=1)  # question pieces x sentences
    weights = np.array([c.idf.get(ids[j], c.unseen_idf) for j in keep], dtype=np.float32)
    back = np.add.reduceat(similarity.max(axis=0), c.token_starts) / c.token_counts
    weighted = (weights / weights.sum()) @ best
    return weighted.astype(np.float32), back.astype(np.float32), best.mean(axis=0).astype(np.float32)


# --- the signals ------------------------------------------------------------------------------


def dense(x: Question) -> np.ndarray:
    """Cosine of the question with the sentence."""
    return x.corpus.sentence_vectors @ x.vector


def adapted(x: Question) -> np.ndarray:
    """Cosine of the question mapped by the query adapter (else dense)."""
    if x.adapter is None:
        return x.done["dense"]
    # The adapter was fitted towards the curated article's sentences; another document's
    # sentence (a playbook) keeps its plain cosine (docs/retrieval.md: shifting it up
    # drew article questions to the playbook and gained it one question of 75).
    mapped = x.corpus.sentence_vectors @ normalised(x.vector + x.vector @ x.adapter)
    return np.where(x.corpus.sentence_curated, mapped, x.done["dense"])


def context(x: Question) -> np.ndarray:
    """Cosine with the passage around it."""
    return (x.corpus.passage_vectors @ x.vector)[x.corpus.sentence_passage]


def sentence_keys(x: Question) -> np.ndarray:
    """Best cosine with its curated questions and topics (else dense, shifted)."""
    # A sentence nobody wrote questions for is matched by its own words, which sit further
    # from a question than a question does: shift it by the typical gap (fitted).
    c = x.corpus
    shift = np.where(c.has_keys, 0.0, x.uncurated_key_shift).astype(np.float32)
    keys = x.done["dense"] + shift
    if len(c.sentence_key_rows):
        np.maximum.at(keys, c.sentence_key_rows, x.key_sims)
    return keys


def sentence_keys2(x: Question) -> np.ndarray:
    """Mean of its two closest curated questions (else sentence_keys)."""
    c = x.corpus
    if not len(c.sentence_key_rows):
        return x.done["sentence_keys"]
    sims = x.key_sims
    by_sentence = np.where(c.keys_of_sentence >= 0, sims[c.keys_of_sentence], -np.inf)
    top2 = np.sort(by_sentence, axis=1)[:, -2:]
    return np.where(np.isinf(top2[:, 0]), x.done["sentence_keys"], top2.mean(axis=1)).astype(np.float32)


def neighbours(x: Question) -> np.ndarray:
    """The best sentence_keys of the sentences either side, same paragraph."""
    padded = np.append(x.done["sentence_keys"], np.float32(0.0))  # row -1: no neighbour there
    return np.maximum(padded[x.corpus.before], padded[x.corpus.after])


def lexical(x: Question) -> np.ndarray:
    """BM25 over the sentence and its heading, squashed."""
    if not x.words:
        return np.zeros(x.corpus.n, dtype=np.float32)
    return squash(x.corpus.index.lexical_sentences.get_scores(x.words), x.lexical_scale)


def tokens(x: Question) -> np.ndarray:
    """Each question word piece's best cosine with the sentence's, IDF-weighted mean."""
    return x.token_match[0]


def tokens_back(x: Question) -> np.ndarray:
    """Each sentence word piece's best cosine with the question's, mean."""
    return x.token_match[1]


def section_tokens(x: Question) -> np.ndarray:
    """The best plain mean of tokens, over its section's sentences."""
    c = x.corpus
    return group_max(x.token_match[2], c.sentence_section, c.n_sections, fill=-1.0)[c.sentence_section]


def section_keys(x: Question) -> np.ndarray:
    """Mean of the two closest curated keys of its section."""
    # Every section has its heading, so one key or more.
    c = x.corpus
    by_section = np.where(c.keys_of_section >= 0, x.section_key_sims[c.keys_of_section], -np.inf)
    top2 = np.sort(by_section, axis=1)[:, -2:]
    keys = np.where(np.isinf(top2[:, 0]), top2[:, 1], top2.mean(axis=1)).astype(np.float32)
    return keys[c.sentence_section]


def section_lexical(x: Question) -> np.ndarray:
    """BM25 over its section's curated text, squashed."""
    c = x.corpus
    if not x.words:
        return np.zeros(c.n_sections, dtype=np.float32)[c.sentence_section]
    return squash(c.index.lexical_sections.get_scores(x.words), x.lexical_scale)[c.sentence_section]


def section_best(x: Question) -> np.ndarray:
    """The best sentence_keys of any sentence in its section."""
    c = x.corpus
    return group_max(x.done["sentence_keys"], c.sentence_section, c.n_sections)[c.sentence_section]


def takeaway(x: Question) -> np.ndarray:
    """1 for a section's bold takeaway line, which restates a paragraph's sentence."""
    return x.corpus.takeaway


def amount(x: Question) -> np.ndarray:
    """1 for a sentence stating a number, when the question asks for an amount or a time."""
    states = x.corpus.states_amount
    return states if ASKS_AMOUNT.search(x.text) else np.zeros_like(states)


def plans(x: Question) -> np.ndarray:
    """For a plan (bot.search.stance.is_plan): how far the closest of the sentence's claim plans
    is above the ranker's ``plan_floor`` in cosine (0 below it, without plans, or for a message
    that is not a plan)."""
    c = x.corpus
    out = np.zeros(c.n, dtype=np.float32)
    if len(c.plan_keys) and x.plan:
        np.maximum.at(out, c.plan_key_rows, x.sentence_key_sims[c.plan_keys] - x.plan_floor)
    return out


def assigns(x: Question) -> np.ndarray:
    """1 for a sentence giving a job to a department, when the question asks who."""
    jobs = x.corpus.assigns
    return jobs if ASKS_OWNER.search(x.text) else np.zeros_like(jobs)


SIGNALS: dict[str, Callable[[Question], np.ndarray]] = {
    f.__name__: f
    for f in (
        dense,
        adapted,
        context,
        sentence_keys,
        sentence_keys2,
        neighbours,
        lexical,
        tokens,
        tokens_back,
        section_tokens,
        section_keys,
        section_lexical,
        section_best,
        takeaway,
        amount,
        assigns,
        plans,
    )
}


@dataclass(frozen=True)
class Signals:
    """Every signal of every sentence for one question; arrays aligned with sentence rows
    (``signals.dense``...), and the question's scope, which ranks nothing but sets the status."""

    columns: dict[str, np.ndarray]
    off_scope: float | None  # how much closer the question is to an out-of-scope example than to any key
    scope_best: float | None  # cosine with the closest out-of-scope example (None without any)
    in_scope: float | None  # the index's scope classifier's logit (None without one)
    # cosine with the closest out-of-scope example that no loaded playbook covers (None without
    # any): what an answer from a playbook is held against (bot.search.corpus.scope_covered)
    scope_open: float | None = None
    # cosine with each out-of-scope example (None without any): bot.search.boundary holds a
    # playbook's answer against the examples its sentence does not itself speak to
    scope_sims: np.ndarray | None = None

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(SIGNALS)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    def matrix(self) -> np.ndarray:
        """(sentences x signals), columns in :meth:`names` order."""
        return np.column_stack([self.columns[name] for name in self.names()])


def compute(x: Question) -> Signals:
    """Every signal of :data:`SIGNALS` for ``x``, and its scope."""
    for name, signal in SIGNALS.items():
        x.done[name] = signal(x)
    c = x.corpus
    scope = c.index.scope_vectors @ x.vector
    open_scope = scope[~c.scope_covered] if len(scope) else scope
    best_key = max(float(x.section_key_sims.max()), float(x.done["sentence_keys"].max()))
    return Signals(
        columns=dict(x.done),
        off_scope=float(scope.max() - best_key) if len(scope) else None,
        scope_best=float(scope.max()) if len(scope) else None,
        in_scope=None if c.scope_weights is None else float(x.vector @ c.scope_weights + c.scope_bias),
        scope_open=float(open_scope.max()) if len(open_scope) else None,
        scope_sims=scope if len(scope) else None,
    )
