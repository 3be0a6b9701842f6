"""Fix typos in a question against the knowledge's own vocabulary ("qouta" -> "quota").

Only words that are unknown both to the knowledge and to the model's word-piece vocabulary
are touched, and only when one knowledge word is within a Damerau-Levenshtein distance of 1
(2 for words of eight letters or more) and shares the first letter. Real words, names the
model knows and short words stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

_WORD = re.compile(r"[A-Za-z]+")
MIN_LENGTH = 5


class SpellFixer:
    def __init__(self, knowledge_texts: Iterable[str], known_words: Iterable[str] = ()):
        targets: set[str] = set()
        for text in knowledge_texts:
            targets.update(w.lower() for w in _WORD.findall(text) if len(w) >= MIN_LENGTH - 1)
        self._by_initial: dict[str, list[str]] = {}
        for word in sorted(targets):
            self._by_initial.setdefault(word[0], []).append(word)
        self._known = targets | {w.lower() for w in known_words}

    def correct(self, word: str) -> str | None:
        """The knowledge word this unknown word is a typo of, or None."""
        lower = word.lower()
        if len(lower) < MIN_LENGTH or lower in self._known:
            return None
        limit = 2 if len(lower) >= 8 else 1
        candidates = self._by_initial.get(lower[0], [])
        found = process.extract(
            lower, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=2
        )
        if not found or (len(found) > 1 and found[1][1] == found[0][1]):
            return None  # nothing close, or two equally close words: leave it alone
        return found[0][0]

    def fix(self, text: str) -> str:
        return _WORD.sub(lambda m: self.correct(m.group(0)) or m.group(0), text)
