"""Saved answers: is a new question one an expert already answered in this workspace?

Slack-free and storage-free: the caller hands over the workspace's saved questions (read
from the store on every question, so a deleted answer is gone at once) and a function that
embeds a text. ``SavedMatcher`` keeps each saved question's vector (keyed by its text: an
edited question is embedded again) and returns the closest one whose cosine similarity to
the question reaches ``THRESHOLD``, else None. The similarity is the mean of the question's
cosine with the saved question and with the saved answer: the answer's words ("Deal Desk",
"Highspot") are often the ones a rewording keeps (measured: hit@1 0.93 against 0.87 for the
question alone, before any threshold).

The threshold was picked on half of tests/data/saved (the paraphrases of every other saved
question and half of the unrelated questions) and checked on the other half:
``scripts/eval_saved.py``, figures in docs/retrieval.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..text import clean_question

# Cosine similarity (bundled model, normalised vectors) a question must reach to be shown a
# saved answer: scripts/eval_saved.py picks it on one half of the data (docs/retrieval.md).
THRESHOLD = 0.51
CACHE_SIZE = 4096  # saved questions' vectors kept per process (a few KB each)


@dataclass(frozen=True)
class SavedQuestion:
    id: int
    question: str
    answer: str = ""


@dataclass(frozen=True)
class SavedMatch:
    id: int
    score: float


def saved_text(question: str) -> str:
    """The text embedded for a question (asked or saved): Slack markup and mentions removed."""
    return clean_question(question)


def best_match(
    question: np.ndarray, saved: np.ndarray, ids: Sequence[int], *, threshold: float = THRESHOLD
) -> SavedMatch | None:
    """The saved item (rows of ``saved``, ids ``ids``) closest to ``question`` (a unit vector)
    if their similarity (inner product) reaches ``threshold``."""
    if not len(ids):
        return None
    scores = saved @ question
    best = int(np.argmax(scores))
    score = float(scores[best])
    return SavedMatch(int(ids[best]), score) if score >= threshold else None


class SavedMatcher:
    """Matches questions against a workspace's saved questions, caching their vectors.

    ``embed(text)`` returns the text's unit vector (the Advisor's model: it takes turns on
    the model itself). Thread-safe."""

    def __init__(
        self,
        embed: Callable[[str], np.ndarray],
        *,
        threshold: float = THRESHOLD,
        cache_size: int = CACHE_SIZE,
    ):
        self.embed = embed
        self.threshold = threshold
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, question: str) -> np.ndarray:
        text = saved_text(question)
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = np.asarray(self.embed(text), dtype=np.float32).reshape(-1)
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def match(self, question: str, saved: Sequence[SavedQuestion]) -> SavedMatch | None:
        """The saved question closest to ``question``, if close enough; None if none is."""
        if not saved or not saved_text(question):
            return None
        matrix = np.stack(
            [(self.vector(s.question) + self.vector(s.answer or s.question)) / 2 for s in saved]
        )
        # The asked question is not cached: only saved questions are kept in memory.
        asked = np.asarray(self.embed(saved_text(question)), dtype=np.float32).reshape(-1)
        return best_match(asked, matrix, [s.id for s in saved], threshold=self.threshold)
