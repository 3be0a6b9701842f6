"""The quote: the best sentence (or, where the best is the article's own question, the sentence
that answers it), run on to the next one where it only asks or is too thin to stand alone, or to
a neighbour that scores nearly as well while the quote stays short, or that holds the clause
that gives the job (at most three sentences, one paragraph)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ..passages import Passage, Sentence, paragraph_text
from ..text import tokenize
from .corpus import Corpus
from .ranker import Ranker
from .schema import section_ref


def quote_rows(
    corpus: Corpus, ranker: Ranker, row: int, scores: np.ndarray, taken: frozenset[int] = frozenset()
) -> list[int]:
    """The sentence rows of the quote that starts from the best sentence ``row``.

    A question or a fragment runs on to what follows (at a paragraph's end, to what comes
    before); a neighbour that scores nearly as well joins; a quote that assigns nothing
    takes in a neighbour that does, when it scores well enough. At most three sentences,
    all in one paragraph, none from the passages in ``taken`` (quoted by a better hit).
    """
    r = ranker
    paragraph = [
        other
        for other in corpus.paragraph_rows[corpus.paragraph_of[row]]
        if corpus.rows[other][0] not in taken
    ]

    def words(i: int) -> int:
        return len(corpus.sentence_text(paragraph[i]).split())

    at = paragraph.index(row)
    if corpus.sentence_text(row).rstrip().endswith("?") and at + 1 < len(paragraph):
        # The article's own question: the quote opens at the sentence that answers it.
        at += 1
    chosen = [at]
    while len(chosen) < 3:
        last = corpus.sentence_text(paragraph[chosen[-1]])
        if len(last.split()) >= r.quote_min_words and "?" not in last:
            break
        following = chosen[-1] + 1 if chosen[-1] + 1 < len(paragraph) else min(chosen) - 1
        if following < 0 or following in chosen:
            break
        chosen.append(following)
    for margin, needs_assignment in ((r.neighbour_margin, False), (r.assignment_margin, True)):
        if len(chosen) == 3 or (
            needs_assignment and any(corpus.has_assignment(paragraph[i]) for i in chosen)
        ):
            continue
        # A neighbour joins only while the quote stays short; one giving the job that the
        # quote lacks is the verdict's evidence and joins whatever its length.
        room = r.quote_max_words - sum(words(i) for i in chosen)
        near = [
            i
            for i in (max(chosen) + 1, min(chosen) - 1)
            if 0 <= i < len(paragraph)
            and scores[paragraph[i]] >= scores[row] - margin
            and (corpus.has_assignment(paragraph[i]) if needs_assignment else words(i) <= room)
        ]
        if near:
            chosen.append(max(near, key=lambda i: scores[paragraph[i]]))
    return [paragraph[i] for i in sorted(chosen)]


def quoted(corpus: Corpus, rows: list[int]) -> tuple[Passage, str]:
    """The passage of the quote ``rows`` (widened if the quote runs past it) and the quote."""
    first, last = corpus.rows[rows[0]][0], corpus.rows[rows[-1]][0]
    passage = corpus.index.passages[first] if first == last else widen(corpus, first, last)
    start = corpus.offsets[rows[0]][0] - passage.start
    end = corpus.offsets[rows[-1]][1] - passage.start
    return passage, passage.text[start:end]


def widen(corpus: Corpus, first: int, last: int) -> Passage:
    """Passages ``first`` to ``last`` (one paragraph) as one, so a quote stays inside its text."""
    parts = corpus.index.passages[first : last + 1]
    head = parts[0]
    section = corpus.sections[section_ref(head.document_id, head.section_id)]
    end = parts[-1].start + len(parts[-1].text)
    shift = [p.start - head.start for p in parts]
    return replace(
        head,
        text=paragraph_text(section, head.paragraph)[head.start : end],
        sentences=tuple(
            Sentence(d + s.start, d + s.end) for d, p in zip(shift, parts, strict=True) for s in p.sentences
        ),
        assignments=tuple(
            replace(a, start=d + a.start, end=d + a.end)
            for d, p in zip(shift, parts, strict=True)
            for a in p.assignments
        ),
    )


_CLAUSE = re.compile(r"[,;]\s+")


def trimmed(quote: str, question: str, max_words: int) -> str:
    """``quote`` if it is at most ``max_words`` long; else the run of its clauses (split at
    commas and semicolons) within that length that shares the most words with ``question``,
    the earliest of equals: verbatim, and opening at a clause."""
    if len(quote.split()) <= max_words:
        return quote
    wanted = set(tokenize(question))
    starts = [0, *(m.end() for m in _CLAUSE.finditer(quote))]
    ends = [m.start() for m in _CLAUSE.finditer(quote)] + [len(quote)]
    best, best_span = -1, (0, len(quote))
    for i, start in enumerate(starts):
        j = i
        while j + 1 < len(ends) and len(quote[start : ends[j + 1]].split()) <= max_words:
            j += 1
        if len(quote[start : ends[j]].split()) > max_words:
            continue
        shared = len(wanted & set(tokenize(quote[start : ends[j]])))
        if shared > best:
            best, best_span = shared, (start, ends[j])
    return quote[best_span[0] : best_span[1]] if best >= 0 else quote
