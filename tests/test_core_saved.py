"""Saved-answer matching in the core (bot/search/saved.py) with the bundled model and the shipped
match model: the saved item a paraphrase asks again, nothing for an unrelated question or a near
miss, a deleted item never matched, each saved text embedded once and the asked question not at
all when the article's search already did."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.search.saved import FEATURES, MatchModel, SavedMatcher, SavedQuestion, margin, with_margins

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
    SavedQuestion(
        11,
        "Do we offer a nonprofit discount?",
        "Yes: 15% off list for registered nonprofits, approved by Deal Desk with proof of status.",
    ),
]
PARAPHRASE = "where do I find the current corporate sales deck? mine has outdated branding"
UNRELATED = "who should set next year's sales quota?"
NEAR_MISS = "do we give startups any special pricing in their first year?"  # shares "discount"'s topic


def matcher_over(core_advisor) -> tuple[SavedMatcher, list[str]]:
    embedded: list[str] = []
    matcher = SavedMatcher.from_advisor(core_advisor)
    embed = matcher.embed

    def counting(text: str):
        embedded.append(text)
        return embed(text)

    matcher.embed = counting
    return matcher, embedded


def test_a_paraphrase_finds_its_saved_answer_and_unrelated_questions_none(core_advisor):
    matcher, embedded = matcher_over(core_advisor)
    found = matcher.match(PARAPHRASE, SAVED)
    assert found is not None and found.id == 7 and found.score >= matcher.threshold
    assert matcher.match(UNRELATED, SAVED) is None
    assert matcher.match(NEAR_MISS, SAVED) is None
    # Each saved text (question, answer, both) was embedded once; the asked questions each time.
    saved_texts = [t for t in embedded if "Highspot" in t or "Field Marketing" in t or "nonprofits" in t]
    assert len(saved_texts) == len(set(saved_texts)) == 6


def test_the_article_searchs_embedding_is_reused(core_advisor):
    matcher, embedded = matcher_over(core_advisor)
    matcher.match(UNRELATED, SAVED)  # the saved texts are embedded and cached
    embedded.clear()
    answer = core_advisor.ask(PARAPHRASE)
    assert answer.query is not None and answer.query.text == core_advisor.prepare(PARAPHRASE)
    with_query = matcher.match(PARAPHRASE, SAVED, query=answer.query)
    assert embedded == []  # nothing embedded again
    assert with_query == matcher.match(PARAPHRASE, SAVED)  # the same as embedding it here
    assert len(embedded) == 1


def test_a_deleted_saved_answer_is_never_matched(core_advisor):
    matcher, _ = matcher_over(core_advisor)
    assert matcher.match(PARAPHRASE, SAVED).id == 7
    assert matcher.match(PARAPHRASE, [s for s in SAVED if s.id != 7]) is None
    assert matcher.match(PARAPHRASE, []) is None
    assert matcher.match("   ", SAVED) is None


def test_a_margin_is_over_the_best_other_item_or_the_floor():
    assert margin(np.array([0.8, 0.5, 0.6]), 0.0).tolist() == pytest.approx([0.2, -0.3, -0.2])
    # One saved item, or a weak runner-up: held against the floor, not against nothing.
    assert margin(np.array([0.8]), 0.4).tolist() == pytest.approx([0.4])
    assert margin(np.array([0.8, 0.1]), 0.4).tolist() == pytest.approx([0.4, -0.7])
    columns = with_margins(np.array([[0.5, 0.4, 0.6, 0.7, 0.8], [0.2, 0.2, 0.3, 0.4, 0.5]]), {})
    assert columns.shape == (2, len(FEATURES))
    assert columns[:, FEATURES.index("m_cqa")].tolist() == pytest.approx([0.3, -0.3])


def test_a_model_fitted_on_other_features_is_refused(tmp_path):
    model = MatchModel.load()
    assert 0.0 < model.threshold < 1.0 and len(model.weights) == len(FEATURES)
    data = json.loads(model.to_json())
    data["features"] = list(FEATURES[:-1])
    (tmp_path / "saved.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="fitted on features"):
        MatchModel.load(tmp_path / "saved.json")
