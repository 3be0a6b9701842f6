"""Saved-answer matching in the core (bot/search/saved.py) with the bundled model: the closest
saved item above the threshold, nothing for an unrelated question, a deleted item never
matched, each saved text embedded once."""

from __future__ import annotations

import numpy as np

from bot.search.saved import SavedMatch, SavedMatcher, SavedQuestion, best_match

SAVED = [
    SavedQuestion(
        7,
        "where's the latest pitch deck? the one in Google Drive still has the old logo",
        "Always pull it from Highspot: the 'Corporate Pitch Deck FY25' spot is the only approved version.",
    ),
    SavedQuestion(
        9,
        "Who pays for the booth at SaaStr - is that marketing's budget or does sales chip in?",
        "The booth, sponsorship fee and travel for booth staff come out of the Field Marketing budget.",
    ),
]
PARAPHRASE = "where do I find the current corporate sales deck? mine has outdated branding"


def matcher_over(core_advisor) -> tuple[SavedMatcher, list[str]]:
    embedded: list[str] = []

    def embed(text: str) -> np.ndarray:
        embedded.append(text)
        return core_advisor.embed(core_advisor.prepare(text))[0]

    return SavedMatcher(embed), embedded


def test_a_paraphrase_finds_its_saved_answer_and_an_unrelated_question_none(core_advisor):
    matcher, embedded = matcher_over(core_advisor)
    found = matcher.match(PARAPHRASE, SAVED)
    assert found is not None and found.id == 7 and found.score >= matcher.threshold
    assert matcher.match("who should set next year's sales quota?", SAVED) is None
    # Each saved text was embedded once; the asked questions each time.
    saved_texts = [t for t in embedded if "Highspot" in t or "Field Marketing" in t]
    assert len(saved_texts) == len(set(saved_texts)) == 2


def test_a_deleted_saved_answer_is_never_matched(core_advisor):
    matcher, _ = matcher_over(core_advisor)
    assert matcher.match(PARAPHRASE, SAVED).id == 7
    assert matcher.match(PARAPHRASE, [s for s in SAVED if s.id != 7]) is None
    assert matcher.match(PARAPHRASE, []) is None
    assert matcher.match("   ", SAVED) is None


def test_best_match_keeps_to_the_threshold():
    saved = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    question = np.array([0.8, 0.6], dtype=np.float32)
    assert best_match(question, saved, [3, 4], threshold=0.9) == SavedMatch(4, float(saved[1] @ question))
    assert best_match(question, saved, [3, 4], threshold=0.97) is None
    assert best_match(question, saved[:0], [], threshold=0.0) is None
