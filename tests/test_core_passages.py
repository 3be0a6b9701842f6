"""Splitting sections into passages: verbatim text, whole sentences, assignment spans, stable ids."""

from __future__ import annotations

import re
import shutil

import pytest

from bot.knowledge import Assignment, Paragraph, Section, load_knowledge
from bot.passages import (
    MAX_PASSAGE_WORDS,
    PARAGRAPH_OWNER,
    TAKEAWAY,
    Passage,
    passage_id,
    split_knowledge,
    split_section,
    split_sentences,
)

TODAY_TAKEAWAY_SALES = (
    "The task of the sales department is to focus on today and let the company have healthy cash flow"
)
TODAY_TAKEAWAY_MARKETING = (
    "while the task of the marketing department is to focus on tomorrow and stimulate future market demand."
)


def source_text(section: Section, passage: Passage) -> str:
    return section.takeaway if passage.paragraph == TAKEAWAY else section.paragraphs[passage.paragraph].text


@pytest.fixture(scope="module")
def passages(core_knowledge):
    return split_knowledge(core_knowledge)


@pytest.fixture(scope="module")
def sections(core_knowledge):
    return {s.id: s for s in core_knowledge.retrievable_sections()}


def words(text: str) -> int:
    return len(text.split())


def test_every_section_takeaway_and_paragraph_gives_passages(passages, sections):
    places = {(p.section_id, p.paragraph) for p in passages}
    for section in sections.values():
        assert (section.id, TAKEAWAY) in places or not section.takeaway
        for i in range(len(section.paragraphs)):
            assert (section.id, i) in places


def test_passage_text_is_a_verbatim_slice_of_its_source(passages, sections):
    for passage in passages:
        section = sections[passage.section_id]
        assert passage.section == section.heading
        assert passage.section_index == section.index
        assert passage.document_id == section.document_id
        assert passage.text in source_text(section, passage)
        assert passage.text == passage.text.strip()


def test_passages_of_a_paragraph_cover_it_in_order_without_dropping_words(passages, sections):
    by_place: dict[tuple[str, int], list[Passage]] = {}
    for passage in passages:
        by_place.setdefault((passage.section_id, passage.paragraph), []).append(passage)
    for (section_id, _paragraph), group in by_place.items():
        assert [p.position for p in group] == list(range(len(group)))
        source = source_text(sections[section_id], group[0])
        at = 0
        for passage in group:
            found = source.index(passage.text, at)
            assert not re.search(r"\w", source[at:found]), f"words dropped before {passage.text[:40]!r}"
            at = found + len(passage.text)
        assert not re.search(r"\w", source[at:]), f"words dropped at the end of {source[-40:]!r}"


def test_sentences_are_ordered_non_overlapping_spans_inside_the_passage(passages):
    for passage in passages:
        assert passage.sentences
        assert passage.sentences[0].start == 0
        assert passage.sentences[-1].end == len(passage.text)
        previous_end = 0
        for sentence in passage.sentences:
            assert previous_end <= sentence.start < sentence.end <= len(passage.text)
            text = passage.sentence_text(sentence)
            assert text == text.strip()
            assert any(ch.isalnum() for ch in text)
            previous_end = sentence.end
        # Between sentences there is only whitespace or punctuation.
        for a, b in zip(passage.sentences, passage.sentences[1:], strict=False):
            assert not re.search(r"\w", passage.text[a.end : b.start])


def test_assignment_spans_are_the_curated_clauses_with_their_owners(passages, sections):
    for passage in passages:
        section = sections[passage.section_id]
        for span in passage.assignments:
            if span.assignment == PARAGRAPH_OWNER:
                paragraph = section.paragraphs[passage.paragraph]
                assert paragraph.owner_given and span.owner == paragraph.owner
                assert (span.start, span.end) == (0, len(passage.text))
                continue
            assignment = section.assignments[span.assignment]
            assert span.owner == assignment.owner
            assert passage.text[span.start : span.end] in assignment.quote


def test_every_curated_assignment_is_kept_whole_as_spans(passages, sections):
    for section in sections.values():
        spans = [(p, a) for p in passages if p.section_id == section.id for a in p.assignments]
        for i, assignment in enumerate(section.assignments):
            pieces = "".join(p.text[a.start : a.end] for p, a in spans if a.assignment == i)
            # A clause that runs across two passages of its paragraph is kept in two pieces.
            alnum = "".join(ch for ch in assignment.quote if ch.isalnum())
            assert alnum == "".join(ch for ch in pieces if ch.isalnum())[: len(alnum)], assignment.quote


def test_today_or_tomorrow_takeaway_is_one_sentence_with_a_sales_and_a_marketing_clause(passages):
    (takeaway,) = [p for p in passages if p.section_id == "today-or-tomorrow" and p.paragraph == TAKEAWAY]
    assert len(takeaway.sentences) == 1
    clauses = [(takeaway.text[a.start : a.end], a.owner) for a in takeaway.assignments]
    assert (TODAY_TAKEAWAY_SALES, "sales") in clauses
    assert (TODAY_TAKEAWAY_MARKETING, "marketing") in clauses


def test_today_or_tomorrow_paragraph_gives_sales_today_and_marketing_tomorrow(passages):
    clauses = [
        (p.text[a.start : a.end], a.owner)
        for p in passages
        if p.section_id == "today-or-tomorrow" and p.paragraph == 2
        for a in p.assignments
    ]
    sales = [text for text, owner in clauses if owner == "sales"]
    marketing = [text for text, owner in clauses if owner == "marketing"]
    assert sales == [
        "Therefore, in an enterprise, the task of the sales department is to focus on today, "
        "so that the company can have healthy cash flow in;"
    ]
    assert len(marketing) == 1
    assert marketing[0].startswith("while the task of the marketing department is to focus on tomorrow")
    assert "cash flow" not in marketing[0]
    assert "prospective customers" in marketing[0]


def test_word_limit_holds_unless_one_sentence_is_longer(passages):
    for passage in passages:
        if words(passage.text) > MAX_PASSAGE_WORDS:
            assert len(split_sentences(passage.text)) == 1, passage.text


def test_long_paragraph_is_cut_into_windows_and_a_long_sentence_stays_whole():
    sentence = "Marketing studies the customers of every segment before the launch of product {n}."
    long_sentence = "Then " + " ".join(["word"] * (MAX_PASSAGE_WORDS + 30)) + "."
    paragraph = " ".join(sentence.format(n=n) for n in range(20)) + " " + long_sentence
    section = Section(
        id="s",
        heading="Heading",
        takeaway="Short takeaway.",
        owner="both",
        topics=(),
        questions=(),
        paragraphs=(Paragraph(paragraph, "marketing"),),
        assignments=(),
        document_id="d",
        index=0,
    )
    body = [p for p in split_section(section) if p.paragraph == 0]
    assert len(body) > 3
    assert all(words(p.text) <= MAX_PASSAGE_WORDS for p in body[:-1])
    assert body[-1].text == long_sentence
    assert sum(len(p.sentences) for p in body) == 21
    assert " ".join(p.text for p in body) == paragraph
    assert all(p.assignments == () for p in body)


def test_split_sentences_keeps_a_parenthesis_with_its_sentence():
    text = "Who has the final say? (It may be the boss.) Nobody knows. Then Sales acts!"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Who has the final say? (It may be the boss.)",
        "Nobody knows.",
        "Then Sales acts!",
    ]


def test_a_sentence_stays_whole_and_its_clauses_keep_their_owners():
    text = "Sales brings cash today, while marketing builds demand for tomorrow. Both matter."
    section = Section(
        id="s",
        heading="H",
        takeaway=text,
        owner="both",
        topics=(),
        questions=(),
        paragraphs=(Paragraph("Filler.", "both"),),
        assignments=(
            Assignment("Sales brings cash today,", "sales"),
            Assignment("while marketing builds demand for tomorrow.", "marketing"),
        ),
        document_id="d",
        index=0,
    )
    (takeaway, _paragraph) = split_section(section)
    assert [takeaway.sentence_text(s) for s in takeaway.sentences] == [
        "Sales brings cash today, while marketing builds demand for tomorrow.",
        "Both matter.",
    ]
    assert [(takeaway.text[a.start : a.end], a.owner, a.assignment) for a in takeaway.assignments] == [
        ("Sales brings cash today,", "sales", 0),
        ("while marketing builds demand for tomorrow.", "marketing", 1),
    ]


def test_the_introduction_is_a_passage_headed_by_the_articles_title(passages, core_knowledge):
    document = core_knowledge.documents[0]
    intro = [p for p in passages if p.section_id == "introduction"]
    assert intro and all(p.section == document.title for p in intro)
    assert " ".join(p.text for p in intro) == document.introduction.paragraphs[0].text
    assert passages[0] == intro[0], "the introduction comes first, in reading order"


# --- ids ---------------------------------------------------------------------------------


def test_ids_are_unique_and_derived_from_document_heading_and_text(passages):
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    for passage in passages:
        assert re.fullmatch(r"p_[0-9a-f]{12}", passage.id)
        assert passage.id == passage_id(passage.document_id, passage.section, passage.text)


def test_ids_are_stable_across_two_loads_and_splits(core_knowledge_dir, passages):
    again = split_knowledge(load_knowledge(core_knowledge_dir))
    assert again == passages
    assert [p.id for p in again] == [p.id for p in passages]


def test_passage_json_round_trip(passages):
    for passage in passages:
        assert Passage.from_json(passage.to_json()) == passage


def test_ids_change_only_where_the_text_changes(tmp_path, core_knowledge_dir, passages):
    for path in core_knowledge_dir.iterdir():
        shutil.copy(path, tmp_path / path.name)
    article = tmp_path / "article.yaml"
    old = "Enterprises are no exception."
    text = article.read_text(encoding="utf-8")
    assert text.count(old) == 2, "the paragraph, and the curated questions of that sentence"
    article.write_text(text.replace(old, "Companies are no exception."), encoding="utf-8")
    changed = split_knowledge(load_knowledge(tmp_path))
    assert len(changed) == len(passages)
    differing = [(a, b) for a, b in zip(passages, changed, strict=True) if a.id != b.id]
    assert len(differing) == 1
    before, after = differing[0]
    assert old in before.text and "Companies are no exception." in after.text
    assert (before.section_id, before.paragraph, before.position) == (
        after.section_id,
        after.paragraph,
        after.position,
    )


def test_ids_change_when_the_heading_changes(tmp_path, core_knowledge_dir, passages):
    for path in core_knowledge_dir.iterdir():
        shutil.copy(path, tmp_path / path.name)
    article = tmp_path / "article.yaml"
    old = "heading: Sell first or market first?"
    text = article.read_text(encoding="utf-8")
    assert text.count(old) == 1
    article.write_text(text.replace(old, "heading: Sell first, or market first?"), encoding="utf-8")
    changed = split_knowledge(load_knowledge(tmp_path))
    for before, after in zip(passages, changed, strict=True):
        assert before.text == after.text
        if before.section_id == "sell-or-market-first":
            assert before.id != after.id
        else:
            assert before.id == after.id
