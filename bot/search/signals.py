"""The ranking signals: one function per signal, each giving one value per sentence row.

A signal function takes the :class:`Question` (the prepared text, its vector and word pieces,
the corpus, the ranker's settings, and the signals computed before it) and returns a float32
array aligned with the question's rows: every sentence row, or on a large knowledge the
candidates bot.search.candidates chose (``Question.rows``: whole sections, so the section and
neighbour signals of a candidate are what full scoring gives it). :data:`SIGNALS` lists them
in the order of the ranker's weight vector. A new signal is one function and one row of
:data:`SIGNALS`, then a refit (scripts/tune_ranking.py writes its weight into bot/ranker.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..text import tokenize
from .corpus import ASKS_AMOUNT, ASKS_OWNER, Corpus, ranges
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
    # The sentence rows scored (sorted; None: every row). Set once, by the candidate stage,
    # before any signal is computed.
    rows: np.ndarray | None = None

    def at(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per sentence row) at the question's rows."""
        return values if self.rows is None else values[self.rows]

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the sentence rows ``rows`` sit among the question's rows, and which are there."""
        if self.rows is None:
            return rows, np.ones(len(rows), dtype=bool)
        where = np.minimum(np.searchsorted(self.rows, rows), max(len(self.rows) - 1, 0))
        return where, self.rows[where] == rows if len(self.rows) else np.zeros(len(rows), dtype=bool)

    @cached_property
    def groups(self) -> tuple[np.ndarray, np.ndarray]:
        """Each of the question's rows' group (its section among the question's sections), and
        the section row of each group."""
        c = self.corpus
        if self.rows is None:
            return c.sentence_section, np.arange(c.n_sections)
        sections, groups = np.unique(c.sentence_section[self.rows], return_inverse=True)
        return groups, sections

    @cached_property
    def token_match(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return token_match(self.pieces, self.corpus, self.rows)

    @cached_property
    def sentence_bm25(self) -> np.ndarray:
        """BM25 of every sentence row (unsquashed); zeros for a question without words."""
        if not self.words:
            return np.zeros(self.corpus.n, dtype=np.float32)
        return self.corpus.index.lexical_sentences.get_scores(self.words)

    @cached_property
    def named_key_sims(self) -> np.ndarray:
        """Cosines with the section keys that are not a section's own sentences (headings,
        takeaways, curated topics and questions: :attr:`Corpus.named_keys`)."""
        return self.corpus.named_key_vectors @ self.vector

    @cached_property
    def section_key_table(self) -> np.ndarray:
        """(the question's sections x their most keys): each key's cosine, -inf past the last."""
        c = self.corpus
        keys, valid = c.keys_of_sections(self.groups[1])
        table = np.full(keys.shape, -np.inf, dtype=np.float32)
        if self.rows is None:
            table[valid] = self.section_key_sims[keys[valid]]
        else:  # only the candidate sections' keys are read (an uncurated one is keyed by its sentences)
            table[valid] = c.index.section_key_vectors[keys[valid]] @ self.vector
        return table

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


def token_match(
    pieces: Tokens, c: Corpus, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Late interaction between the question's word pieces and each sentence's (of ``rows``,
    sorted; None: every sentence row).

    Returns, per sentence, the IDF-weighted mean over the question's pieces of each one's
    best cosine with a piece of the sentence, and the mean over the sentence's pieces of
    each one's best cosine with a piece of the question; then the plain (unweighted) mean of
    the first, for the section signal. Cosines are taken in the index's projection, and the
    common pieces (:func:`bot.search.schema.common_pieces`) are left out on both sides: a
    question of no other piece scores 0 everywhere."""
    ids = pieces.ids.tolist()
    keep = [j for j, i in enumerate(ids) if i not in c.common_pieces]
    if not keep:
        return tuple(np.zeros(c.n if rows is None else len(rows), dtype=np.float32) for _ in range(3))
    projected = normalised(pieces.vectors[keep] @ c.token_projection)
    if rows is None:
        vectors, starts, counts = c.token_vectors_float(), c.token_starts, c.token_counts
    else:  # the candidates' pieces only (every sentence row has one piece or more)
        counts = c.token_counts[rows]
        starts = np.concatenate([[0], np.cumsum(counts[:-1])]).astype(np.int64)
        vectors = c.token_vectors_float(ranges(c.token_starts[rows], counts.astype(np.int64)))
    similarity = projected @ vectors.T  # question pieces x sentence pieces
    best = np.maximum.reduceat(similarity, starts, axis=1)  # question pieces x sentences
    weights = np.array([c.idf.get(ids[j], c.unseen_idf) for j in keep], dtype=np.float32)
    back = np.add.reduceat(similarity.max(axis=0), starts) / counts
    weighted = (weights / weights.sum()) @ best
    return weighted.astype(np.float32), back.astype(np.float32), best.mean(axis=0).astype(np.float32)


# --- the signals ------------------------------------------------------------------------------


def dense(x: Question) -> np.ndarray:
    """Cosine of the question with the sentence."""
    return x.at(x.corpus.sentence_vectors) @ x.vector


def adapted(x: Question) -> np.ndarray:
    """Cosine of the question mapped by the query adapter (else dense)."""
    if x.adapter is None:
        return x.done["dense"]
    # The adapter was fitted towards the curated article's sentences; another document's
    # sentence (a playbook) keeps its plain cosine (docs/retrieval.md: shifting it up
    # drew article questions to the playbook and gained it one question of 75).
    mapped = x.at(x.corpus.sentence_vectors) @ normalised(x.vector + x.vector @ x.adapter)
    return np.where(x.at(x.corpus.sentence_curated), mapped, x.done["dense"])


def context(x: Question) -> np.ndarray:
    """Cosine with the passage around it."""
    c = x.corpus
    if x.rows is None:
        return (c.passage_vectors @ x.vector)[c.sentence_passage]
    passages, at = np.unique(c.sentence_passage[x.rows], return_inverse=True)
    return (c.passage_vectors[passages] @ x.vector)[at]


def sentence_keys(x: Question) -> np.ndarray:
    """Best cosine with its curated questions and topics (else dense, shifted)."""
    # A sentence nobody wrote questions for is matched by its own words, which sit further
    # from a question than a question does: shift it by the typical gap (fitted).
    c = x.corpus
    shift = np.where(x.at(c.has_keys), 0.0, x.uncurated_key_shift).astype(np.float32)
    keys = x.done["dense"] + shift
    if len(c.sentence_key_rows):
        where, inside = x.locate(c.sentence_key_rows)
        np.maximum.at(keys, where[inside], x.key_sims[inside])
    return keys


def sentence_keys2(x: Question) -> np.ndarray:
    """Mean of its two closest curated questions (else sentence_keys)."""
    c = x.corpus
    if not len(c.sentence_key_rows):
        return x.done["sentence_keys"]
    # Only the sentences with keys (c.keyed_rows) have two to average; the rest keep sentence_keys.
    where, inside = x.locate(c.keyed_rows)
    keys = c.keys_of_keyed[inside]
    by_sentence = np.where(keys >= 0, x.key_sims[keys], -np.inf)
    top2 = np.sort(by_sentence, axis=1)[:, -2:]
    out = x.done["sentence_keys"].copy()
    out[where[inside]] = np.where(np.isinf(top2[:, 0]), out[where[inside]], top2.mean(axis=1))
    return out.astype(np.float32)


def neighbours(x: Question) -> np.ndarray:
    """The best sentence_keys of the sentences either side, same paragraph."""
    padded = np.append(x.done["sentence_keys"], np.float32(0.0))  # row -1: no neighbour there
    c = x.corpus
    if x.rows is None:
        return np.maximum(padded[c.before], padded[c.after])
    # A neighbour is in the same paragraph, so among the rows (whole sections): located there.
    sides = (c.before[x.rows], c.after[x.rows])
    before, after = (np.where(side >= 0, x.locate(side)[0], -1) for side in sides)
    return np.maximum(padded[before], padded[after])


def lexical(x: Question) -> np.ndarray:
    """BM25 over the sentence and its heading, squashed."""
    return squash(x.at(x.sentence_bm25), x.lexical_scale)


def tokens(x: Question) -> np.ndarray:
    """Each question word piece's best cosine with the sentence's, IDF-weighted mean."""
    return x.token_match[0]


def tokens_back(x: Question) -> np.ndarray:
    """Each sentence word piece's best cosine with the question's, mean."""
    return x.token_match[1]


def section_tokens(x: Question) -> np.ndarray:
    """The best plain mean of tokens, over its section's sentences."""
    groups, sections = x.groups
    return group_max(x.token_match[2], groups, len(sections), fill=-1.0)[groups]


def section_keys(x: Question) -> np.ndarray:
    """Mean of the two closest curated keys of its section."""
    # Every section has its heading, so one key or more.
    top2 = np.sort(x.section_key_table, axis=1)[:, -2:]
    keys = np.where(np.isinf(top2[:, 0]), top2[:, 1], top2.mean(axis=1)).astype(np.float32)
    return keys[x.groups[0]]


def section_lexical(x: Question) -> np.ndarray:
    """BM25 over its section's curated text, squashed."""
    c = x.corpus
    if not x.words:
        return np.zeros(len(x.groups[0]), dtype=np.float32)
    scores = squash(c.index.lexical_sections.get_scores(x.words), x.lexical_scale)
    return scores[x.groups[1]][x.groups[0]]


def section_best(x: Question) -> np.ndarray:
    """The best sentence_keys of any sentence in its section."""
    groups, sections = x.groups
    return group_max(x.done["sentence_keys"], groups, len(sections))[groups]


def takeaway(x: Question) -> np.ndarray:
    """1 for a section's bold takeaway line, which restates a paragraph's sentence."""
    return x.at(x.corpus.takeaway)


def amount(x: Question) -> np.ndarray:
    """1 for a sentence stating a number, when the question asks for an amount or a time."""
    states = x.at(x.corpus.states_amount)
    return states if ASKS_AMOUNT.search(x.text) else np.zeros_like(states)


def plans(x: Question) -> np.ndarray:
    """For a plan (bot.search.stance.is_plan): how far the closest of the sentence's claim plans
    is above the ranker's ``plan_floor`` in cosine (0 below it, without plans, or for a message
    that is not a plan)."""
    c = x.corpus
    out = np.zeros(len(x.groups[0]), dtype=np.float32)
    if len(c.plan_keys) and x.plan:
        where, inside = x.locate(c.plan_key_rows)
        np.maximum.at(out, where[inside], (x.sentence_key_sims[c.plan_keys] - x.plan_floor)[inside])
    return out


def assigns(x: Question) -> np.ndarray:
    """1 for a sentence giving a job to a department, when the question asks who."""
    jobs = x.at(x.corpus.assigns)
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
    rows: np.ndarray | None = None  # the sentence rows the arrays are aligned with (None: all)

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(SIGNALS)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    def value(self, name: str, row: int) -> float:
        """Signal ``name`` of the sentence row ``row`` (one of :attr:`rows`)."""
        at = row if self.rows is None else int(np.searchsorted(self.rows, row))
        return float(self.columns[name][at])

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
    if x.rows is None:
        section_best_key = float(x.section_key_sims.max())
    else:  # every section's named keys, and the candidate sections' own sentences
        section_best_key = max(float(x.named_key_sims.max(initial=-1.0)), float(x.section_key_table.max()))
    best_key = max(section_best_key, float(x.done["sentence_keys"].max()))
    return Signals(
        columns=dict(x.done),
        off_scope=float(scope.max() - best_key) if len(scope) else None,
        scope_best=float(scope.max()) if len(scope) else None,
        in_scope=None if c.scope_weights is None else float(x.vector @ c.scope_weights + c.scope_bias),
        scope_open=float(open_scope.max()) if len(open_scope) else None,
        scope_sims=scope if len(scope) else None,
        rows=x.rows,
    )
