"""The candidate stage: which sentence rows a question's signals and the ranker are computed on.

A small knowledge (the article alone, or with a few playbooks: under :data:`MIN_ROWS` sentence
rows) is scored whole, as it always was: every row is a candidate, and the answers are those of
full scoring exactly. Above it, full scoring grows with every sentence (the word-piece match
most), so a question first picks sections, cheaply, by four routes:

- the :data:`DENSE_K` sentences closest in meaning (a FAISS search of the sentence index);
- the :data:`LEXICAL_K` best sentences by BM25;
- the sentences of the :data:`KEY_K` closest curated sentence keys (questions, topics, plans);
- the sections of the :data:`KEY_K` closest named section keys (headings, takeaways, topics,
  questions);

and every sentence row of those sections is a candidate. Sections are taken whole because the
section signals (``section_tokens``, ``section_best``, ``section_keys``) and ``neighbours`` read
a sentence's section-mates: over whole sections they are what full scoring gives them.
"""

from __future__ import annotations

import numpy as np

from .corpus import Corpus
from .signals import Question

# Full scoring costs about 7 µs of CPU a sentence row (issue 29's profile), the candidate
# stage a FAISS search and a BM25 pass plus full scoring of some hundreds of sections' rows:
# below this size scoring every row is as quick and is exact (docs/retrieval.md).
MIN_ROWS = 4096
# The routes' widths: with 2,000 generated passages beside the article (5,010 rows), routes of
# 24, 24 and 6 gave every article set the answers of full scoring (docs/retrieval.md); a
# candidate scores what full scoring gives it, so the full top row among them stays on top.
DENSE_K = 32
LEXICAL_K = 32
KEY_K = 8


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` largest ``values`` (any order)."""
    if len(values) <= k:
        return np.arange(len(values))
    return np.argpartition(-values, k)[:k]


def dense_top(corpus: Corpus, vector: np.ndarray, k: int) -> np.ndarray:
    """The sentence rows of the ``k`` sentence vectors closest to ``vector`` (FAISS)."""
    index = corpus.index.sentence_index
    query = np.ascontiguousarray(vector[None, :], dtype=np.float32)
    _scores, rows = index.search(query, min(k, index.ntotal))
    return rows[0][rows[0] >= 0].astype(np.int64)


def candidate_sections(x: Question, *, dense_k=DENSE_K, lexical_k=LEXICAL_K, key_k=KEY_K) -> np.ndarray:
    """The section rows a question's candidates come from (sorted, unique)."""
    c = x.corpus
    found = [
        c.sentence_section[dense_top(c, x.vector, dense_k)],
        c.sentence_section[_top(x.sentence_bm25, lexical_k)],
    ]
    if len(c.sentence_key_rows):
        found.append(c.sentence_section[c.sentence_key_rows[_top(x.key_sims, key_k)]])
    if len(c.named_keys):
        found.append(c.named_key_sections[_top(x.named_key_sims, key_k)])
    return np.unique(np.concatenate(found))


def candidate_rows(x: Question, *, min_rows: int | None = None, **k) -> np.ndarray | None:
    """The sentence rows to score for ``x`` (sorted), or None for every row (a small knowledge).

    ``min_rows`` (else :data:`MIN_ROWS`) and the routes' sizes (``dense_k``, ``lexical_k``,
    ``key_k``) are there for the tests and measurements; serving uses the module's values."""
    if x.corpus.n < (MIN_ROWS if min_rows is None else min_rows):
        return None
    return x.corpus.rows_of_sections(candidate_sections(x, **k))
