"""One verdict rule: the card's verdict and every "More passages" label agree, on every question
of every question set (built through the real card builder), and a verdict is given only to a
question asking who, over a quote that assigns something."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.knowledge import VERDICTS
from bot.search.evaluation import load_eval_set
from bot.search.verdict import agrees, asks_owner, labels
from bot.slack import blocks
from bot.slack.cards import Cards

DATA = Path(__file__).parent / "data"
# Every question set of the article (tests/data/unscored/ is never read; the playbook's set
# needs its playbook loaded, and its questions are the article's kind).
SETS = sorted(p for p in DATA.glob("*.yaml") if not p.name.startswith("playbook")) + sorted(
    (DATA / "plans").glob("*.yaml")
)
NAMES = {f"*{name}*": owner for owner, name in VERDICTS.items()}


def card_verdict(card: dict) -> str | None:
    """The owner the card's verdict line names (None: no verdict)."""
    found = [b for b in card["blocks"] if b.get("block_id") == "verdict"]
    if not found:  # a plan's card: its stance line stands where "From the article:" would
        assert any(b.get("block_id") == "stance" for b in card["blocks"])
        return None
    line = found[0]["text"]["text"]
    named = [
        owner for name, owner in NAMES.items() if name in line or name.replace("*", "*Probably ", 1) in line
    ]
    assert len(named) <= 1, line
    return named[0] if named else None


def passage_labels(message: dict) -> list[str | None]:
    """The owner each passage of a More passages message points to (None: no label)."""
    found = []
    for block in message["blocks"]:
        if block.get("block_id", "").startswith("source_"):
            text = block["elements"][0]["text"]
            match = re.match(r"Points to \*([^*]+)\*", text)
            found.append({v: k for k, v in VERDICTS.items()}[match.group(1)] if match else None)
    return found


def test_the_rule_itself():
    assert labels(["sales", "marketing", "sales"], True) == ["sales", None, "sales"]
    assert labels(["both", "marketing", None], True) == ["both", "marketing", None]
    assert labels([None, "sales"], True) == [None, None], "no verdict: no passage points anywhere"
    assert labels(["sales", "sales"], False) == [None, None], "not a who-question: no verdict at all"
    assert agrees("both", "sales") and not agrees("marketing", "sales") and not agrees(None, "sales")
    assert asks_owner("who should set next year's sales quota?")
    assert asks_owner("Is sales or marketing more important?")
    assert asks_owner("should marketing own lead generation?")
    assert not asks_owner("why does the author compare marketing to a scout?")
    assert not asks_owner("we're moving trade shows under the sales VP next year, sensible?")


@pytest.mark.parametrize("path", SETS, ids=[p.name for p in SETS])
def test_card_and_more_passages_never_disagree(core_advisor, path):
    cards = Cards(core_advisor)
    eval_set = load_eval_set(path, core_advisor.knowledge)
    questions = [item.question for item in eval_set.in_domain] + [q.question for q in eval_set.off_topic]
    verdicts = 0
    for question in questions:
        card, answer = cards.answered(question)
        if answer.status == "not_covered":
            continue
        verdict = card_verdict(card)
        assert verdict == answer.owner, question
        if verdict is not None:
            verdicts += 1
            assert asks_owner(core_advisor.prepare(question)), f"a verdict for no who-question: {question}"
            top = answer.hits[0]
            start = top.passage.text.index(top.quote)
            end = start + len(top.quote)
            owners = {a.owner for a in top.passage.assignments if a.start < end and a.end > start}
            assert owners, f"a verdict over a quote that assigns nothing: {question}"
        more = cards.more(question, 1)
        for label in passage_labels(more):
            assert label is None or agrees(verdict, label), (question, verdict, label)
    assert verdicts or not any(asks_owner(q) for q in questions)


def test_a_who_question_gets_one_verdict_on_card_and_passages(core_advisor):
    cards = Cards(core_advisor)
    card, answer = cards.answered("Who should set next year's sales quota?")
    assert card_verdict(card) == "marketing" == answer.owner
    more = cards.more("Who should set next year's sales quota?", 1)
    assert set(passage_labels(more)) <= {"marketing", None}
    card, answer = cards.answered("why does the author compare marketing to a scout?")
    assert card_verdict(card) is None and answer.owner is None
    assert blocks.answer_card("q?", "answered", None, [])["blocks"][0]["block_id"] == "not_covered"
