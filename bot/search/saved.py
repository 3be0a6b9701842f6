"""Saved answers: is a new question one an expert already answered in this workspace?

Slack-free and storage-free: the caller hands over the workspace's saved questions (read
from the store on every question, so a deleted answer is gone at once) and the model's
functions. ``SavedMatcher`` keeps each saved text's vector and word pieces (keyed by the text:
an edited question is embedded again) and returns the saved item most likely asked again, if
that likelihood reaches the model's threshold, else None.

The likelihood is a small logistic model (``saved.json``, fitted by ``scripts/eval_saved.py
--fit`` on one half of tests/data/saved) over a handful of evidence per saved item
(:data:`FEATURES`): the question's cosine with the saved question, with the expert's answer and
with both together; the word-piece late interaction of the article's ranking (in the index's
projection: each asked piece's best match among the saved item's pieces, IDF-weighted, and how
much of the saved question's pieces the asked question covers); and how far the item stands
above the best other saved item
on the two strongest of those, which tells a question asked again from one that only shares a
topic with several. Figures in docs/retrieval.md.

The asked question's vector and word pieces are the ones the article's search computed
(:class:`bot.search.answer.Query`): the model runs once per question.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..text import clean_question
from .answer import Query
from .embedder import Tokens, normalised

MODEL_FILE = Path(__file__).with_name("saved.json")
CACHE_SIZE = 4096  # saved texts' vectors kept per process (a few KB each)
# The evidence, in the order of the model's weights. m_* are margins (see :func:`features`).
FEATURES = ("cq", "ca", "cqa", "tqa", "tqb", "m_cqa", "m_tqa")
BASE = ("cq", "ca", "cqa", "tqa", "tqb")

Embed = Callable[[str], tuple[np.ndarray, Tokens]]  # a text -> its unit vector and word pieces


@dataclass(frozen=True)
class SavedQuestion:
    id: int
    question: str
    answer: str = ""


@dataclass(frozen=True)
class SavedMatch:
    id: int
    score: float  # the model's likelihood that the question asks this saved item again


@dataclass(frozen=True)
class MatchModel:
    """Logistic weights over :data:`FEATURES`, the floors a margin is taken against (so a
    workspace with one saved answer is judged like one with many), and the threshold."""

    weights: tuple[float, ...]
    bias: float
    floors: dict[str, float]
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> MatchModel:
        data = json.loads(Path(path).read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: fitted on features {data['features']}, expected {list(FEATURES)}")
        return cls(
            tuple(data["weights"]), float(data["bias"]), dict(data["floors"]), float(data["threshold"])
        )

    def to_json(self, **extra) -> str:
        return json.dumps(
            {
                "features": list(FEATURES),
                "weights": [round(w, 5) for w in self.weights],
                "bias": round(self.bias, 5),
                "floors": {k: round(v, 5) for k, v in self.floors.items()},
                "threshold": round(self.threshold, 5),
                **extra,
            },
            indent=2,
        )

    def likelihood(self, columns: np.ndarray) -> np.ndarray:
        """(items x features) -> each item's likelihood."""
        return 1.0 / (1.0 + np.exp(-(columns @ np.asarray(self.weights) + self.bias)))


def saved_text(question: str) -> str:
    """The text embedded for a question (asked or saved): Slack markup and mentions removed."""
    return clean_question(question)


@dataclass(frozen=True)
class Pieces:
    """The word pieces kept for late interaction, with their weights (IDF)."""

    vectors: np.ndarray  # (pieces x dimension), unit rows
    weights: np.ndarray  # (pieces,)


def margin(values: np.ndarray, floor: float) -> np.ndarray:
    """Each item's value less the best of the other items (or ``floor``, if higher)."""
    if len(values) < 2:
        return values - floor
    order = np.argsort(-values, kind="stable")
    other = np.full(len(values), values[order[0]])
    other[order[0]] = values[order[1]]
    return values - np.maximum(other, floor)


def base_columns(
    asked: np.ndarray,
    pieces: Pieces,
    saved: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, Pieces, Pieces]],
) -> np.ndarray:
    """(items x :data:`BASE`) for the asked question's unit vector and pieces against each
    saved item's (question vector, answer vector, question+answer vector, question pieces,
    question+answer pieces)."""
    rows = [
        (
            float(asked @ vq),
            float(asked @ va),
            float(asked @ vqa),
            _covered(pieces, pqa),
            _covered(pq, pieces, weighted=False),
        )
        for vq, va, vqa, pq, pqa in saved
    ]
    return np.array(rows, dtype=np.float64).reshape(-1, len(BASE))


def with_margins(base: np.ndarray, floors: dict[str, float]) -> np.ndarray:
    """(items x :data:`FEATURES`): ``base`` and the margins over it."""
    margins = [margin(base[:, BASE.index(name[2:])], floors.get(name, 0.0)) for name in FEATURES[len(BASE) :]]
    return np.column_stack([base, *margins]) if len(base) else np.zeros((0, len(FEATURES)))


def _covered(left: Pieces, right: Pieces, *, weighted: bool = True) -> float:
    """How well ``right``'s pieces cover ``left``'s: each left piece's best cosine with a right
    piece, averaged (IDF-weighted unless ``weighted`` is False); 0 if either has none."""
    if not len(left.vectors) or not len(right.vectors):
        return 0.0
    best = (left.vectors @ right.vectors.T).max(axis=1)
    weights = left.weights if weighted else np.ones(len(best))
    return float(weights @ best / weights.sum())


class SavedMatcher:
    """Matches questions against a workspace's saved questions, caching their vectors.

    ``embed(text)``: the text's unit vector and word pieces (the Advisor's model: it takes
    turns on the model itself); ``prepare(text)``: the text as the article's search reads it
    (glossary, spelling); ``weight(piece_id)``: a piece's IDF, None for a piece too common to
    say anything (the article index's, as its ranking uses). Thread-safe."""

    def __init__(
        self,
        embed: Embed,
        *,
        prepare: Callable[[str], str] = saved_text,
        weight: Callable[[int], float | None] = lambda _piece: 1.0,
        projection: np.ndarray | None = None,
        model: MatchModel | None = None,
        cache_size: int = CACHE_SIZE,
    ):
        self.embed = embed
        self.prepare = prepare
        self.weight = weight
        self.projection = projection
        self.model = model or MatchModel.load()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[np.ndarray, Pieces]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_advisor(cls, advisor, **options) -> SavedMatcher:
        """Over an :class:`~bot.search.advisor.Advisor`'s model, preparation and piece IDF."""
        corpus = advisor.corpus

        def weight(piece: int) -> float | None:
            return None if piece in corpus.common_pieces else corpus.idf.get(piece, corpus.unseen_idf)

        defaults = {"prepare": advisor.prepare, "weight": weight, "projection": corpus.token_projection}
        return cls(advisor.embedding, **{**defaults, **options})

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def pieces(self, tokens: Tokens) -> Pieces:
        """The pieces that say something (not common), in the index's projection if any (as
        the article's token_match compares them; a third of the memory)."""
        ids = tokens.ids.tolist()
        kept = [(j, w) for j, i in enumerate(ids) if (w := self.weight(int(i))) is not None]
        vectors = tokens.vectors[[j for j, _ in kept]]
        if self.projection is not None:
            vectors = vectors @ self.projection
        return Pieces(normalised(vectors), np.array([w for _, w in kept]))

    def encoded(self, text: str) -> tuple[np.ndarray, Pieces]:
        """A saved text's vector and pieces (prepared like a question), cached by its text."""
        key = saved_text(text)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        vectors, tokens = self.embed(self.prepare(key))
        value = (np.asarray(vectors, dtype=np.float32).reshape(-1), self.pieces(tokens))
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return value

    def query(self, question: str) -> Query:
        """The asked question prepared and embedded (when the article's search did not)."""
        text = self.prepare(saved_text(question))
        vectors, tokens = self.embed(text)
        return Query(text, np.asarray(vectors, dtype=np.float32).reshape(-1), tokens)

    def base(self, query: Query, saved: Sequence[SavedQuestion]) -> np.ndarray:
        """(items x :data:`BASE`) of ``query`` against ``saved``."""
        items = []
        for s in saved:
            vq, pq = self.encoded(s.question)
            va, _ = self.encoded(s.answer or s.question)
            vqa, pqa = self.encoded(f"{s.question} {s.answer}" if s.answer else s.question)
            items.append((vq, va, vqa, pq, pqa))
        return base_columns(query.vector, self.pieces(query.pieces), items)

    def columns(self, query: Query, saved: Sequence[SavedQuestion]) -> np.ndarray:
        """(items x :data:`FEATURES`) of ``query`` against ``saved``."""
        return with_margins(self.base(query, saved), self.model.floors)

    def scores(
        self, question: str, saved: Sequence[SavedQuestion], *, query: Query | None = None
    ) -> np.ndarray:
        """Each saved item's likelihood of being asked again by ``question``."""
        if not saved:
            return np.zeros(0)
        return self.model.likelihood(self.columns(query or self.query(question), saved))

    def match(
        self, question: str, saved: Sequence[SavedQuestion], *, query: Query | None = None
    ) -> SavedMatch | None:
        """The saved question ``question`` most likely asks again, if likely enough; None if
        none is. ``query``: the question as the article's search prepared and embedded it
        (:attr:`bot.search.answer.Answer.query`), so the model is not run on it again."""
        if not saved or not saved_text(question):
            return None
        likelihood = self.scores(question, saved, query=query)
        best = int(np.argmax(likelihood))
        score = float(likelihood[best])
        return SavedMatch(saved[best].id, score) if score >= self.threshold else None
