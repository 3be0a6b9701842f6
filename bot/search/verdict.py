"""The verdict, one rule for the card and every passage under "More passages": only a question
that asks who should do something gets one (:func:`asks_owner`); each passage's label is the
owner of the curated assignment inside its quote closest to the question (:func:`verdict`;
a quote that assigns nothing gives none); the answer's verdict is its first passage's label,
and a later passage keeps its label only where it agrees with that verdict (:func:`labels`):
a card never says one department while a passage under it points to the other."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .corpus import ASKS_OWNER, Corpus
from .ranker import Ranker

_DEPARTMENT = r"(sales|marketing|mktg|selling)"
# "sales or marketing?", "should marketing own...", "whose job", "in charge of", "owns X?".
ASKS_CHOICE = re.compile(
    rf"\b{_DEPARTMENT}\b[^.?!]{{0,30}}\bor\b[^.?!]{{0,30}}\b{_DEPARTMENT}\b"
    rf"|\b(should|does|do|must|can) (the )?{_DEPARTMENT}( team| department| dept)? "
    r"(own|run|set|do|handle|lead|manage|decide|be responsible)\b"
    r"|\b(in charge of|responsible for|job is it|owns?\b[^.?!]{0,40}\?)"
    # "is enablement part of marketing?", "does pricing belong to sales?", "a sales job?"
    rf"|\b(part of|belongs? (to|in|with|under)|sits? (in|with|under)|falls? (to|under)|report(s|ing)? to)"
    rf"( the)? {_DEPARTMENT}\b"
    rf"|\ba {_DEPARTMENT} (job|task|responsibility|role|function)\b",
    re.IGNORECASE,
)


def asks_owner(text: str) -> bool:
    """Whether the question ``text`` asks who (which department) should do something."""
    return bool(ASKS_OWNER.search(text) or ASKS_CHOICE.search(text))


def agrees(verdict: str | None, label: str | None) -> bool:
    """Whether a passage labelled ``label`` may stand under an answer whose verdict is
    ``verdict``: the same owner, or one part of "both"."""
    return label is not None and (label == verdict or verdict == "both")


def labels(owners: Sequence[str | None], asks: bool) -> list[str | None]:
    """The labels of an answer's passages, best first, from each quote's own verdict
    (``owners``): none unless the question ``asks`` who; the first is the answer's verdict;
    a later one that does not agree with it (:func:`agrees`) is dropped."""
    if not asks or not owners:
        return [None] * len(owners)
    first = owners[0]
    return [first, *(owner if agrees(first, owner) else None for owner in owners[1:])]


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
