"""The candidate stage (bot/search/candidates.py): a small knowledge is scored whole; over
candidates, every candidate scores what full scoring gives it, and the answer is among them.

A knowledge large enough to take the candidate stage costs minutes of model work to build, so
these tests lower its threshold on the article (91 sentence rows, 8 sections) with narrow
routes, where the candidates are a strict part of the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.search import candidates
from bot.search.candidates import candidate_rows
from bot.search.corpus import Grouped, ranges, stored_vectors
from bot.search.evaluation import load_eval_set
from bot.search.signals import Question, compute

DATA = Path(__file__).parent / "data"
NARROW = {"min_rows": 0, "dense_k": 2, "lexical_k": 2, "key_k": 2}


def _questions(core_knowledge, name: str = "questions.yaml") -> list[str]:
    return [item.question for item in load_eval_set(DATA / name, core_knowledge).in_domain]


def _question(advisor, text: str) -> Question:
    return advisor.question(text)


def test_a_small_knowledge_is_scored_whole(core_advisor):
    text = core_advisor.prepare("Who should set next year's sales quota?")
    assert core_advisor.corpus.n < candidates.MIN_ROWS
    assert candidate_rows(_question(core_advisor, text)) is None
    found = core_advisor.signals(text)
    assert found.rows is None
    every = core_advisor.signals(text, every_row=True)
    assert np.array_equal(core_advisor.score(found), core_advisor.score(every))


def test_candidates_are_whole_sections_and_score_what_full_scoring_gives_them(core_advisor, core_knowledge):
    corpus = core_advisor.corpus
    fewer = 0
    for question in _questions(core_knowledge)[:40]:
        text = core_advisor.prepare(question)
        x = _question(core_advisor, text)
        x.rows = candidate_rows(x, **NARROW)
        sections = np.unique(corpus.sentence_section[x.rows])
        assert np.array_equal(x.rows, corpus.rows_of_sections(sections))
        assert np.array_equal(x.rows, np.flatnonzero(np.isin(corpus.sentence_section, sections)))
        fewer += len(x.rows) < corpus.n
        found = compute(x)
        every = core_advisor.signals(text, every_row=True)
        # Every signal of a candidate, the section ones included, is the full scoring's.
        for name in found.names():
            assert np.allclose(found.columns[name], every.columns[name][x.rows], atol=1e-6), name
        scores = core_advisor.score(found)
        assert np.all(np.isneginf(np.delete(scores, x.rows)))
        assert found.off_scope == pytest.approx(every.off_scope, abs=1e-6)
    assert fewer >= 20  # the narrow routes leave sections out: a real choice was made


def test_the_answer_of_every_question_is_among_narrow_candidates(core_advisor, core_knowledge):
    for question in _questions(core_knowledge, "holdout_questions.yaml"):
        text = core_advisor.prepare(question)
        best = core_advisor.rank(core_advisor.score(core_advisor.signals(text, every_row=True)))[0]
        x = _question(core_advisor, text)
        x.rows = candidate_rows(x, **NARROW)
        assert best in x.rows, question
        ranked = core_advisor.rank(core_advisor.score(compute(x)), x.rows)
        assert ranked[0] == best, question


def test_answers_over_candidates_are_the_answers_of_full_scoring(core_advisor, core_knowledge, monkeypatch):
    questions = _questions(core_knowledge, "check_questions.yaml")[:30] + ["how many calories in an avocado?"]
    whole = [core_advisor.ask(q, k=3) for q in questions]
    monkeypatch.setattr(candidates, "MIN_ROWS", 0)
    monkeypatch.setattr(candidates, "DENSE_K", 4)
    monkeypatch.setattr(candidates, "LEXICAL_K", 4)
    monkeypatch.setattr(candidates, "KEY_K", 4)
    text = core_advisor.prepare(questions[0])
    assert core_advisor.signals(text).rows is not None
    staged = [core_advisor.ask(q, k=3) for q in questions]
    for a, b in zip(whole, staged, strict=True):
        assert (a.status, a.owner) == (b.status, b.owner), a.question
        assert [h.quote for h in a.hits][:1] == [h.quote for h in b.hits][:1], a.question


def test_the_sentence_vectors_are_the_faiss_index_s_own_memory(core_advisor):
    index = core_advisor.index.sentence_index
    vectors = stored_vectors(index)
    assert not vectors.flags.owndata
    assert np.array_equal(vectors, index.reconstruct_n(0, index.ntotal))
    assert core_advisor.corpus.sentence_vectors.base is not None


def test_grouping_helpers():
    assert ranges(np.array([5, 0, 10]), np.array([2, 3, 1])).tolist() == [5, 6, 0, 1, 2, 10]
    assert ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []
    grouped = Grouped(np.array([2, 0, 2, 1, 2]), 4)
    assert grouped.table(np.array([2, 3, 0])).tolist() == [[0, 2, 4], [-1, -1, -1], [1, -1, -1]]
