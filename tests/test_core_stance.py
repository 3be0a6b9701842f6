"""Plans: the claims read with FILE:LINE errors, a plan's stance from the claims' evidence (null
for a question that is not a plan), the eval's stance column and the card's stance line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from bot.search.evaluation import EvalQuestion, EvalSet, evaluate, format_confusion, load_eval_set
from bot.search.stance import asks_judgement, is_plan
from bot.slack import blocks
from tests.conftest import CORE_MINI_ARTICLE

PLANS = Path(__file__).parent / "data" / "plans" / "plans_tune.yaml"
CLAIM = """\
  claims:
  - quote: Sales calls each qualified lead within a day.
    stance: backs
    plans:
    - sales follows up every qualified lead the same day
"""


def mini(tmp_path: Path, claims: str) -> Path:
    directory = tmp_path / "knowledge"
    directory.mkdir()
    text = CORE_MINI_ARTICLE.replace("- id: pricing", claims + "- id: pricing")
    (directory / "mini.yaml").write_text(text, encoding="utf-8")
    return directory


def test_claims_are_read_from_the_article(tmp_path):
    knowledge = load_knowledge(mini(tmp_path, CLAIM))
    (claim,) = knowledge.documents[0].sections[0].claims
    assert (claim.stance, claim.plans, claim.condition) == (
        "backs",
        ("sales follows up every qualified lead the same day",),
        None,
    )


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("stance: backs", "stance: likes", "claims[0].stance: must be one of backs, warns, depends"),
        ("Sales calls each", "Sales phones each", "claims[0].quote: not found verbatim"),
        ("stance: backs", "stance: depends", "claims[0].condition: a 'depends' claim needs its condition"),
        ("    plans:\n    - sales follows up every qualified lead the same day\n", "", "plans: required"),
    ],
)
def test_a_bad_claim_names_its_file_line_and_field(tmp_path, old, new, problem):
    directory = mini(tmp_path, CLAIM.replace(old, new))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    message = str(caught.value)
    assert message.startswith(f"{directory / 'mini.yaml'}:") and problem in message, message


def test_what_is_a_plan():
    plans = [
        "we're moving trade shows under the sales VP next year, sensible?",
        "should our two-person startup hire a head of marketing before a second salesperson?",
        "Our CEO wants to put marketing under sales. Thoughts?",
        "Plan: marketing owns strategy and sales executes it. Sound?",
    ]
    questions = [
        "Who should set next year's sales quota?",
        "How should we price our new product against competitors?",
        "Why does the author compare the marketing department to a scout?",
        "Should we do what the article says about the air force?",
    ]
    assert all(is_plan(p) for p in plans)
    assert not any(is_plan(q) or asks_judgement(q) for q in questions)


def test_a_plan_worded_without_the_routing_cues_still_asks_for_a_judgement():
    # Grammatical evidence, not a phrase list: someone on the asker's side doing or proposing
    # something, and a judgement asked for ("the article" may be named, as the judge).
    plans = [
        "I'm pitching that our field team takes over all trade events. Would the article agree?",
        "My cofounder insists we drop the brand budget this year. risky?",
        "Leadership decided reps will write their own targets from now on, does the article back that?",
        "Launch plan for the spring range: ads first, then the reps.",
    ]
    questions = [
        "What does the article say about trade events?",
        "Which department should handle trade events?",
        "How do we build a lead scoring model?",
    ]
    assert all(asks_judgement(p) for p in plans)
    assert not any(is_plan(p) for p in plans[:3])  # routed as before: only the stance is added
    assert not any(asks_judgement(q) for q in questions)


def test_a_plan_gets_the_stance_of_its_closest_claim_and_a_question_none(core_advisor):
    warned = core_advisor.ask(
        "we're about to drop the marketing team and have our reps just work harder. ok?"
    )
    assert warned.status == "answered" and warned.stance == "warns"
    assert warned.stance_quote in [t for _h, t in core_advisor.sentences]
    depends = core_advisor.ask("we plan to hire salespeople first and add marketing later, sensible?")
    assert depends.stance == "depends" and depends.stance_condition
    question = core_advisor.ask("Who should set next year's sales quota?")
    assert question.stance is None and question.stance_quote is None
    data = json.loads(json.dumps(warned.to_dict()))
    assert data["stance"] == "warns" and data["stance_quote"] == warned.stance_quote
    refused = core_advisor.ask("we're raising the AE commission rate from 8% to 10%, sensible?")
    assert refused.status == "not_covered" and refused.stance is None


def test_the_eval_reports_stance_per_gold_stance(core_knowledge):
    eval_set = load_eval_set(PLANS, core_knowledge)
    assert {item.stance for item in eval_set.in_domain} == {"backs", "warns", "depends"}
    heading = eval_set.in_domain[0].sections[0]
    items = tuple(
        EvalQuestion(f"q{i}", (heading,), stance=s) for i, s in enumerate(["backs", "warns", "warns"])
    )
    answers = {"q0": "backs", "q1": "depends", "q2": None}
    report = evaluate("x", lambda q: ([heading], "answered", None, answers[q]), EvalSet(items, ()))
    assert report.stance_accuracy == pytest.approx(1 / 3)
    assert report.stance_confusion == {"backs": {"backs": 1}, "warns": {"depends": 1, "none": 1}}
    table = format_confusion(report)
    assert "warns" in table and "0.000 (n=2)" in table and "1.000 (n=1)" in table


def test_the_card_says_the_stance_once():
    quote = blocks.Quote("Sell first.", "Sell first or market first?", None, "p_1", "The article")
    card = blocks.answer_card(
        "hire sales first?",
        "answered",
        None,
        [quote],
        stance="depends",
        stance_quote="It depends.",
        stance_condition="how competitive it is",
    )
    (line,) = [b for b in card["blocks"] if b.get("block_id") == "stance"]
    assert (
        "*It depends* on how competitive it is" in line["text"]["text"]
        and "“It depends.”" in line["text"]["text"]
    )
    plain = blocks.answer_card("who sets the quota?", "answered", None, [quote])
    assert not [b for b in plain["blocks"] if b.get("block_id") == "stance"]
