"""The verdict: the owner of the curated assignment inside the quote that is closest to the
question; a quote that assigns nothing gives no verdict."""

from __future__ import annotations

import numpy as np

from .corpus import Corpus
from .ranker import Ranker


def verdict(corpus: Corpus, ranker: Ranker, rows: list[int], q: np.ndarray) -> str | None:
    """The owner of the assignment in the quote ``rows`` closest to the question vector ``q``
    ("both" when two owners are within the ranker's ``both_margin``), or None."""
    candidates: list[tuple[float, str]] = []
    for row in rows:
        p, s = corpus.rows[row]
        passage = corpus.index.passages[p]
        sentence = passage.sentences[s]
        for j, span in enumerate(passage.assignments):
            if span.start < sentence.end and span.end > sentence.start:
                keys = corpus.assignment_keys.get((p, j), [])
                sim = float((corpus.index.assignment_key_vectors[keys] @ q).max()) if keys else 0.0
                candidates.append((sim, span.owner))
    if not candidates:
        return None
    best_sim, best_owner = max(candidates)
    close = {owner for sim, owner in candidates if sim >= best_sim - ranker.both_margin}
    return best_owner if close == {best_owner} else "both"
