"""Word overlap in the asker's language: BM25 between a question and the curated texts written
in that language (knowledge/*.<language>.yaml), per sentence row and per section.

The multilingual model places a question near its meaning, loosely; the words a question shares
with a sentence's gist or its curated questions ("侦察兵", "flujo de caja") pin it down. Chinese
and Japanese are matched by overlapping character pairs (they are written without spaces);
other languages by words, accents and case folded, cut to their first five letters (a crude
stem that joins "competencia" and "competitivo"), the language's function words left out.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import numpy as np

from .language import function_words

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
_WORD = re.compile(r"[^\W_]+")
STEM = 5  # letters kept of a word


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def terms(text: str, language: str) -> list[str]:
    """The terms BM25 matches: character pairs of CJK runs, folded and cut words elsewhere."""
    found: list[str] = []
    for run in _CJK.findall(text):
        found += [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
    rest = _CJK.sub(" ", text)
    skip = function_words(language)
    for word in _WORD.findall(rest):
        word = word.casefold()
        if len(word) > 1 and word not in skip:
            found.append(_fold(word)[:STEM])
    return found


class BM25:
    """Okapi BM25 over a few hundred short documents, in numpy (k1 1.2, b 0.75)."""

    def __init__(self, documents: list[list[str]], *, k1: float = 1.2, b: float = 0.75):
        self.n = len(documents)
        lengths = np.array([len(d) for d in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.n and lengths.sum() else 1.0
        norm = k1 * (1 - b + b * lengths / average)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, document in enumerate(documents):
            for term, count in Counter(document).items():
                docs, weights = postings.setdefault(term, ([], []))
                docs.append(i)
                weights.append(count * (k1 + 1) / (count + norm[i]))
        self.postings = {
            term: (np.array(docs), np.log(1 + (self.n - len(docs) + 0.5) / (len(docs) + 0.5)) * np.array(w))
            for term, (docs, w) in postings.items()
        }

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for term in set(query):
            if term in self.postings:
                docs, weights = self.postings[term]
                np.add.at(out, docs, weights)
        return out


def squash(scores: np.ndarray, scale: float) -> np.ndarray:
    scores = np.maximum(scores, 0.0)
    return (scores / (scores + scale)).astype(np.float32)
