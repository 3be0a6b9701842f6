"""Answers from the real model and index: statuses, quotes, verdicts, ranking, and bad input."""

from __future__ import annotations

import json
import time

import pytest

from bot.config import Settings
from bot.search.advisor import Advisor
from bot.search.answer import Answer

QUOTA = "Who should set next year's sales quota?"
EFFICIENCY = "Which is more important between efficiency and stability?"
TODAY = "Which is more important today or tomorrow?"
STATUSES = ("answered", "low_confidence", "not_covered")
OWNERS = ("sales", "marketing", "both")


def check_contract(answer: Answer, question: str, advisor: Advisor, *, k: int | None = None) -> None:
    """What every answer promises, whatever the question."""
    assert isinstance(answer, Answer)
    assert answer.question == question
    assert answer.status in STATUSES
    if answer.status == "not_covered":
        assert answer.owner is None
    else:
        assert answer.owner in (*OWNERS, None)
        assert answer.hits, "an answer quotes at least one passage"
        assert answer.owner == answer.hits[0].owner
    assert len(answer.hits) <= (k or advisor.top_k)
    headings = {s.heading for s in advisor.knowledge.retrievable_sections()}
    for hit in answer.hits:
        assert hit.passage.section in headings
        assert hit.quote and hit.quote in hit.passage.text
        check_quote(hit)
        assert hit.owner == quote_owner(hit)
        assert isinstance(hit.score, float)
    # Best first, one passage of each section before any section's second passage.
    seen: set[str] = set()
    repeats = []
    for hit in answer.hits:
        repeats.append(hit.passage.section in seen)
        seen.add(hit.passage.section)
    assert repeats == sorted(repeats), "a section's first passage came after a repeated section"
    firsts = [h.score for h, repeat in zip(answer.hits, repeats, strict=True) if not repeat]
    assert firsts == sorted(firsts, reverse=True)
    data = json.loads(json.dumps(answer.to_dict()))
    assert set(data) == {"question", "status", "owner", "passages"}
    for item in data["passages"]:
        assert set(item) == {"id", "section", "text", "quote", "score"}


def check_quote(hit) -> None:
    """A quote is one to three whole sentences of its passage (one paragraph, verbatim)."""
    start = hit.passage.text.index(hit.quote)
    end = start + len(hit.quote)
    starts = [s.start for s in hit.passage.sentences]
    ends = [s.end for s in hit.passage.sentences]
    assert start in starts and end in ends, "the quote is made of whole sentences"
    assert 1 <= ends.index(end) - starts.index(start) + 1 <= 3


def quote_owner(hit) -> str | None:
    """What the verdict may be: one of the owners of the assignments inside the quote, "both"
    when they differ, and nothing at all when the quote assigns nothing."""
    start = hit.passage.text.index(hit.quote)
    end = start + len(hit.quote)
    owners = {a.owner for a in hit.passage.assignments if a.start < end and a.end > start}
    if not owners:
        return None
    assert hit.owner in owners | {"both"}, "the verdict comes from an assignment inside the quote"
    return hit.owner


# --- the product's headline questions -------------------------------------------------------


def test_who_sets_next_years_sales_quota(core_advisor):
    answer = core_advisor.ask(QUOTA)
    check_contract(answer, QUOTA, core_advisor)
    assert answer.status == "answered"
    top = answer.hits[0]
    assert top.passage.section == EFFICIENCY
    assert "final say on the sales quota" in top.quote
    assert answer.owner == "marketing"


def test_the_weather_in_paris_is_not_covered(core_advisor):
    question = "What's the weather in Paris?"
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "not_covered"
    assert answer.owner is None


@pytest.mark.parametrize(
    "question",
    [
        "What's the weather in Paris?",
        "What's the capital of Australia?",
        "Can you recommend a good pizza place near the office?",
        "How do I reset my password?",
    ],
)
def test_off_topic_questions_are_not_answered_confidently(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "not_covered"


@pytest.mark.parametrize(
    "question",
    [
        "Who makes sure the company has healthy cash flow?",
        "whose job is it to keep cash coming in today?",
    ],
)
def test_cash_flow_belongs_to_sales(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "answered"
    top = answer.hits[0]
    assert top.passage.section == TODAY
    assert "cash flow" in top.quote
    assert answer.owner == "sales"
    today = next(s for s in core_advisor.knowledge.sections() if s.heading == TODAY)
    assert any(top.quote in a.quote or a.quote in top.quote for a in today.assignments if a.owner == "sales")


@pytest.mark.parametrize(
    "question",
    [
        "Who should generate future demand and deliver prospective customers?",
        "Who generates future demand and prospects for the reps?",
    ],
)
def test_future_demand_and_prospects_belong_to_marketing(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "answered"
    top = answer.hits[0]
    assert top.passage.section == TODAY
    assert "tomorrow" in top.quote
    assert answer.owner == "marketing"
    today = next(s for s in core_advisor.knowledge.sections() if s.heading == TODAY)
    assert any(
        top.quote in a.quote or a.quote in top.quote for a in today.assignments if a.owner == "marketing"
    )


@pytest.mark.parametrize(
    "question",
    [
        QUOTA,
        "Who makes sure the company has healthy cash flow?",
        "Who should do market research and competitor analysis?",
        "Who should run advertising and trade shows?",
        "Is sales or marketing more important?",
        "Should we build a sales team or a marketing team first?",
    ],
)
def test_the_verdict_comes_from_an_assignment_inside_the_quote(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status != "not_covered"
    assert answer.owner is not None, "each of these questions has a department's job in its quote"
    top = answer.hits[0]
    start = top.passage.text.index(top.quote)
    inside = [
        top.passage.text[a.start : a.end]
        for a in top.passage.assignments
        if start <= a.start and a.end <= start + len(top.quote)
    ]
    assert inside, "the clause that assigns the job is inside the quote"


# --- k and ranking --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_k_sets_how_many_passages(core_advisor, k):
    answer = core_advisor.ask(QUOTA, k=k)
    check_contract(answer, QUOTA, core_advisor, k=k)
    assert len(answer.hits) == k
    assert answer.hits[0].passage.section == EFFICIENCY


def test_default_k_is_the_advisors_top_k(core_advisor):
    assert len(core_advisor.ask(QUOTA).hits) == core_advisor.top_k == Settings().top_k == 3


def test_k_beyond_the_passage_count_returns_each_passage_once_at_most(core_advisor):
    answer = core_advisor.ask(QUOTA, k=10_000)
    ids = [h.passage.id for h in answer.hits]
    assert len(ids) == len(set(ids))
    # A quote may run into the next passage of its paragraph; every passage is still quoted.
    quoted = {p.id for h in answer.hits for p in core_advisor.index.passages if p.text in h.passage.text}
    assert quoted == {p.id for p in core_advisor.index.passages}


def test_distinct_sections_come_first(core_advisor):
    sections = [s.heading for s in core_advisor.knowledge.retrievable_sections()]
    answer = core_advisor.ask(QUOTA, k=len(core_advisor.index.passages))
    firsts = [h.passage.section for h in answer.hits[: len(sections)]]
    assert sorted(firsts) == sorted(sections), "one passage of every section before any second one"
    scores = [h.score for h in answer.hits]
    head, tail = scores[: len(sections)], scores[len(sections) :]
    assert head == sorted(head, reverse=True)
    assert tail == sorted(tail, reverse=True)
    top3 = core_advisor.ask(QUOTA, k=3)
    assert len({h.passage.section for h in top3.hits}) == 3


def test_the_same_question_gets_the_same_answer(core_advisor):
    first = core_advisor.ask(QUOTA).to_dict()
    assert core_advisor.ask(QUOTA).to_dict() == first


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t ", "\u200b"])
def test_empty_or_blank_question_is_not_covered_with_no_hits(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "not_covered"
    assert answer.hits == ()
    assert answer.to_dict()["passages"] == []


@pytest.mark.parametrize(
    "question",
    [
        (QUOTA + " ") * 250,
        "x" * 10_000,
        ("sales " * 2000)[:10_000],
    ],
    ids=["repeated-question", "one-long-word", "one-word-repeated"],
)
def test_ten_thousand_characters_give_a_valid_answer_quickly(core_advisor, question):
    question = question[:10_000]
    assert len(question) == 10_000
    started = time.perf_counter()
    answer = core_advisor.ask(question)
    elapsed = time.perf_counter() - started
    check_contract(answer, question, core_advisor)
    assert elapsed < 5.0, f"took {elapsed:.1f}s"


def test_a_long_repeated_question_is_still_answered(core_advisor):
    question = ((QUOTA + " ") * 250)[:10_000]
    answer = core_advisor.ask(question)
    assert answer.status == "answered"
    assert answer.hits[0].passage.section == EFFICIENCY


@pytest.mark.parametrize(
    "question",
    ["🚀🔥👍", ":tada: :rocket:", "👍🏽", "👨\u200d💻 🇫🇷", ":+1::skin-tone-2:", "<@U123> <!channel>"],
)
def test_only_emoji_or_markup_is_not_covered(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "not_covered"
    assert answer.owner is None
    assert answer.hits == ()


@pytest.mark.parametrize(
    "question",
    [
        "<@U123> <!channel> who should set next year's sales quota?",
        "<!here> <@U123> who should set next year's sales quota? :thinking_face:",
        "who should set next year's sales quota? 🚀",
        "<!subteam^S0614TZR7> who should set next year's sales quota?",
    ],
)
def test_slack_markup_gives_the_same_answer_as_plain_text(core_advisor, question):
    plain = core_advisor.ask("who should set next year's sales quota?")
    marked = core_advisor.ask(question)
    check_contract(marked, question, core_advisor)
    assert marked.status == plain.status == "answered"
    assert marked.owner == plain.owner == "marketing"
    assert [h.passage.id for h in marked.hits] == [h.passage.id for h in plain.hits]
    assert [h.quote for h in marked.hits] == [h.quote for h in plain.hits]
    assert [h.score for h in marked.hits] == pytest.approx([h.score for h in plain.hits], abs=1e-4)


@pytest.mark.parametrize(
    "question",
    [
        "¿Quién debe fijar la cuota de ventas del próximo año?",
        "谁来制定明年的销售配额？",
        "Wer soll die Verkaufsquote für nächstes Jahr festlegen?",
        "Кто должен устанавливать план продаж на следующий год?",
    ],
)
def test_non_english_questions_get_a_valid_answer(core_advisor, question):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)


def test_advisor_load_from_settings_uses_the_prebuilt_index(core_knowledge_dir, core_data_dir):
    settings = Settings(knowledge_dir=core_knowledge_dir, data_dir=core_data_dir, top_k=2)
    stamp = (core_data_dir / "index" / "manifest.json").stat().st_mtime_ns
    advisor = Advisor.load(settings)
    assert (core_data_dir / "index" / "manifest.json").stat().st_mtime_ns == stamp
    answer = advisor.ask(QUOTA)
    assert len(answer.hits) == 2
    assert answer.hits[0].passage.section == EFFICIENCY
    assert answer.hits[0].source.publisher == "Global Sources"


@pytest.mark.parametrize(
    ("question", "section", "owner"),
    [
        ("who shuold set next yeras sales qouta?", EFFICIENCY, "marketing"),
        ("who owns lead genration?", TODAY, "marketing"),
        (
            "whos in charge of markting strategy for the next 3-5 years?",
            "Which is important between strategy and execution?",
            "marketing",
        ),
    ],
)
def test_typos_still_find_the_section(core_advisor, question, section, owner):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status == "answered"
    assert answer.owner == owner
    assert answer.hits[0].passage.section == section


# --- glossary and curated assignments -------------------------------------------------------


def test_glossary_spells_out_abbreviations_before_searching():
    from bot.text import Glossary

    glossary = Glossary((("PLM", "product life cycle management"), ("R&D", "research and development")))
    assert glossary.expand("who owns plm, mktg or R&D?") == (
        "who owns product life cycle management, mktg or research and development?"
    )
    assert glossary.expand("PLMX and XR&D stay") == "PLMX and XR&D stay"


@pytest.mark.parametrize(
    "question, section, owner",
    [
        ("who owns PLM?", 'Which is more important "front stage" or "behind the scenes"?', "marketing"),
        (
            "mktg or sales: who runs the trade show booth?",
            'Which is more important, "Army" or "Air Force"?',
            "marketing",
        ),
        ("who owns lead gen?", "Which is more important today or tomorrow?", "marketing"),
    ],
)
def test_abbreviations_and_assignment_topics_find_the_job_and_its_owner(
    core_advisor, question, section, owner
):
    answer = core_advisor.ask(question)
    check_contract(answer, question, core_advisor)
    assert answer.status in ("answered", "low_confidence")  # the trade show booth is caveated
    assert answer.hits[0].passage.section == section
    assert answer.owner == owner
