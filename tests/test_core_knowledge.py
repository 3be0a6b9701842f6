"""The knowledge loader: the bundled article, extra playbooks, and one-line errors for bad files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import OWNERS, KnowledgeError, load_knowledge
from bot.passages import split_knowledge
from bot.search.advisor import Advisor
from bot.search.store import build_index
from tests.conftest import CORE_MINI_ARTICLE

ARTICLE = (DEFAULT_KNOWLEDGE_DIR / "article.yaml").read_text(encoding="utf-8")
RAW = yaml.safe_load(ARTICLE)

PLAYBOOK = """\
kind: article
id: acme-playbook
title: Acme lead hand-off playbook
sections:
- id: {section_id}
  heading: How Acme hands leads from marketing to sales
  takeaway: At Acme, marketing qualifies every inbound lead within two business days and then books a \
discovery call for the account executive.
  owner: marketing
  topics:
  - lead qualification
  - inbound lead hand-off
  questions:
  - How fast must inbound leads be qualified at Acme?
  paragraphs:
  - Acme's marketing operations team scores each inbound lead against the ideal customer profile. Leads \
scoring above seventy are handed to the account executive with a booked discovery call.
  - text: Account executives must update the CRM within one day of the discovery call.
    owner: sales
"""


def edited_article(directory: Path, old: str, new: str, *, name: str = "article.yaml") -> tuple[Path, int]:
    """Write the bundled article with ``old`` (which occurs once) replaced; return the file and the
    1-based line where the replacement starts."""
    assert ARTICLE.count(old) == 1, f"{old!r} must occur exactly once in the article"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(ARTICLE.replace(old, new), encoding="utf-8")
    return path, ARTICLE[: ARTICLE.index(old)].count("\n") + 1


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1
    return text[: text.index(needle)].count("\n") + 1


def load_error(directory: Path) -> str:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    message = str(caught.value)
    assert "\n" not in message, "errors are one line"
    return message


# --- the bundled knowledge -----------------------------------------------------------------


def test_bundled_article_loads_with_its_headings_takeaways_and_paragraphs_verbatim(core_knowledge):
    (document,) = core_knowledge.documents
    assert document.id == RAW["id"]
    assert document.title == RAW["title"]
    assert document.source.publisher == "Global Sources"
    assert document.source.attribution == "CEConline"
    assert document.source.date == "2023-12-01"
    sections = list(core_knowledge.sections())
    assert [s.heading for s in sections] == [s["heading"] for s in RAW["sections"]]
    assert "Which is more important between efficiency and stability?" in [s.heading for s in sections]
    for section, raw in zip(sections, RAW["sections"], strict=True):
        assert section.takeaway == raw["takeaway"]
        texts = [p if isinstance(p, str) else p["text"] for p in raw["paragraphs"]]
        assert [p.text for p in section.paragraphs] == texts
        assert section.owner in OWNERS
        assert all(p.owner in OWNERS for p in section.paragraphs)
        assert section.questions, "every section has curated questions"


def _nodes(node):
    """Every node of a composed YAML document with what the knowledge reader uses of it."""
    yield type(node).__name__, node.tag, node.start_mark.line, node.start_mark.column, node.value
    if isinstance(node.value, list):
        for item in node.value:
            for child in item if isinstance(item, tuple) else (item,):
                yield from _nodes(child)


@pytest.mark.parametrize("name", ["article.yaml", "scope.yaml", "glossary.yaml", "tips.yaml"])
def test_the_fast_parser_reads_the_knowledge_as_the_pure_python_one_does(name):
    from bot.knowledge.readers.yaml import _FAST_LOADER, compose_file

    assert _FAST_LOADER is yaml.CSafeLoader  # libyaml is in PyYAML's wheels
    text = (DEFAULT_KNOWLEDGE_DIR / name).read_text(encoding="utf-8")
    expected = [
        n if isinstance(n[4], str) else n[:4] for n in _nodes(yaml.compose(text, Loader=yaml.SafeLoader))
    ]
    got = [n if isinstance(n[4], str) else n[:4] for n in _nodes(compose_file(DEFAULT_KNOWLEDGE_DIR / name))]
    assert got == expected


def test_paragraph_owner_overrides_the_section_owner_and_assignments_are_curated(core_knowledge):
    efficiency = next(s for s in core_knowledge.sections() if s.id == "efficiency-or-stability")
    assert efficiency.owner == "both"
    quota = next(p for p in efficiency.paragraphs if "final say on the sales quota" in p.text)
    assert quota.owner == "marketing"
    today = next(s for s in core_knowledge.sections() if s.id == "today-or-tomorrow")
    owners = {a.owner for a in today.assignments}
    assert owners == {"sales", "marketing", "both"}
    for assignment in today.assignments:
        assert assignment.quote in today.takeaway or any(assignment.quote in p.text for p in today.paragraphs)


def test_the_repo_knowledge_dir_skips_tips_and_reads_scope(core_knowledge):
    """knowledge/ also holds tips (another loader's kind); the article loader skips them."""
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    assert [d.id for d in knowledge.documents] == ["sales-and-marketing"]
    assert knowledge.content_hash == core_knowledge.content_hash
    assert "What's the weather in Paris?" not in knowledge.out_of_scope
    assert len(knowledge.out_of_scope) >= 15


def test_tips_and_scope_files_are_not_articles(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    # Not a valid article at all: the article loader must not look inside it.
    (tmp_path / "tips.yaml").write_text("kind: tips\ntips:\n- bogus: 1\n", encoding="utf-8")
    (tmp_path / "scope.yml").write_text(
        "kind: scope\nout_of_scope:\n- What's for lunch?\n- Book me a meeting room.\n", encoding="utf-8"
    )
    knowledge = load_knowledge(tmp_path)
    assert [d.id for d in knowledge.documents] == ["sales-and-marketing"]
    assert knowledge.out_of_scope == ("What's for lunch?", "Book me a meeting room.")
    headings = {s.heading for s in knowledge.sections()}
    assert "What's for lunch?" not in headings


def test_content_hash_follows_articles_and_scope_but_not_tips(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    (tmp_path / "tips.yaml").write_text("kind: tips\ntips: []\n", encoding="utf-8")
    (tmp_path / "scope.yaml").write_text("kind: scope\nout_of_scope:\n- What's for lunch?\n")
    first = load_knowledge(tmp_path).content_hash
    assert load_knowledge(tmp_path).content_hash == first
    (tmp_path / "tips.yaml").write_text("kind: tips\ntips: [{id: x}]\n", encoding="utf-8")
    assert load_knowledge(tmp_path).content_hash == first
    (tmp_path / "scope.yaml").write_text("kind: scope\nout_of_scope:\n- What's for dinner?\n")
    after_scope = load_knowledge(tmp_path).content_hash
    assert after_scope != first
    edited_article(tmp_path, "Which is more important, arms or thighs?\n", "Arms or thighs?\n")
    assert load_knowledge(tmp_path).content_hash not in (first, after_scope)


# --- errors name the file, the line and the field ------------------------------------------


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path, line = edited_article(
        tmp_path,
        "  heading: Which is more important today or tomorrow?",
        "  heading: [Which is more important today or tomorrow?",
    )
    message = load_error(tmp_path)
    assert message.startswith(f"{path}:{line}: invalid YAML")


def test_colon_in_an_unquoted_value_names_its_line(tmp_path):
    path, line = edited_article(
        tmp_path,
        "  heading: Sell first or market first?",
        "  heading: Sell first: or market first?",
    )
    assert load_error(tmp_path).startswith(f"{path}:{line}: invalid YAML: mapping values are not allowed")


def test_tab_indentation_names_its_line(tmp_path):
    path, line = edited_article(tmp_path, "  owner: marketing\n  topics:", "\towner: marketing\n  topics:")
    message = load_error(tmp_path)
    assert message.startswith(f"{path}:{line}: invalid YAML")
    assert "\\t" in message or "tab" in message.lower()


def test_misspelled_field_names_file_line_field_and_suggests_the_right_one(tmp_path):
    path, line = edited_article(
        tmp_path,
        "  heading: Which is more important today or tomorrow?",
        "  headng: Which is more important today or tomorrow?",
    )
    assert (
        load_error(tmp_path) == f"{path}:{line}: sections[1].headng: unknown field (did you mean 'heading'?)"
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "suggestion"),
    [
        ('title: \'"Sales"', 'titel: \'"Sales"', "titel", "title"),
        ("  publisher: Global Sources", "  publsher: Global Sources", "source.publsher", "publisher"),
        (
            "  - quote: The task of the sales department is to focus on today and",
            "  - qoute: The task of the sales department is to focus on today and",
            "sections[1].assignments[0].qoute",
            "quote",
        ),
        (
            "  - text: In short, the sales department",
            "  - txt: In short, the sales department",
            "sections[6].paragraphs[3].txt",
            "text",
        ),
    ],
)
def test_misspellings_at_every_level_are_caught(tmp_path, old, new, field, suggestion):
    path, line = edited_article(tmp_path, old, new)
    assert load_error(tmp_path) == f"{path}:{line}: {field}: unknown field (did you mean {suggestion!r}?)"


def test_missing_required_field_names_the_section_and_field(tmp_path):
    section_start = line_of(ARTICLE, "- id: today-or-tomorrow")
    path, _ = edited_article(
        tmp_path,
        "  takeaway: The task of the sales department is to focus on today and let the company have healthy "
        "cash flow, while the task of the marketing department is to focus on tomorrow and stimulate future "
        "market demand.\n",
        "",
    )
    message = load_error(tmp_path)
    assert message == f"{path}:{section_start}: sections[1].takeaway: required field is missing"


def test_wrong_owner_value_lists_the_allowed_owners(tmp_path):
    path, line = edited_article(
        tmp_path,
        "  owner: marketing\n  topics:\n  - field marketing",
        "  owner: finance\n  topics:\n  - field marketing",
    )
    assert load_error(tmp_path) == (
        f"{path}:{line}: sections[5].owner: must be one of sales, marketing, both, not 'finance'"
    )


def test_wrong_owner_on_an_assignment_is_caught(tmp_path):
    old = "    owner: both\n    topics:\n    - scouting the market"
    path, line = edited_article(tmp_path, old, "    owner: everyone\n    topics:\n    - scouting the market")
    message = load_error(tmp_path)
    assert message.startswith(f"{path}:{line}: sections[0].assignments[0].owner: must be one of")
    assert "'everyone'" in message


def test_assignment_quote_not_in_the_section_text_is_rejected(tmp_path):
    old = "  - quote: The task of the sales department is to focus on today and let the company have healthy"
    path, line = edited_article(tmp_path, old, old.replace("healthy", "wealthy"))
    assert load_error(tmp_path) == (
        f"{path}:{line}: sections[1].assignments[0].quote: not found verbatim in this section's text"
    )


def test_assignment_quote_from_another_section_is_rejected(tmp_path):
    """A quote must come from its own section, not just from somewhere in the article."""
    old = "  - quote: We can compare the marketing department to a scout, while the sales department is a"
    new = "  - quote: The task of the sales department is to focus on today and let the company have healthy"
    path, line = edited_article(tmp_path, old + " combat force.\n", new + " cash flow\n")
    assert load_error(tmp_path) == (
        f"{path}:{line}: sections[0].assignments[0].quote: not found verbatim in this section's text"
    )


def test_duplicate_section_id_is_rejected(tmp_path):
    path, line = edited_article(tmp_path, "- id: today-or-tomorrow", "- id: arms-or-thighs")
    assert load_error(tmp_path) == f"{path}:{line}: sections[1].id: duplicate section id (also sections[0])"


def test_field_given_twice_is_rejected(tmp_path):
    path, line = edited_article(
        tmp_path,
        "  owner: both\n  topics:\n  - short term",
        "  owner: both\n  owner: sales\n  topics:\n  - short term",
    )
    assert load_error(tmp_path) == f"{path}:{line + 1}: sections[1].owner: field given twice"


def test_empty_paragraph_list_and_empty_text_are_rejected(tmp_path):
    old = "  - text: Similarly, in an enterprise,"
    path, line = edited_article(tmp_path, old, "  - text: ''\n  - text: Similarly, in an enterprise,")
    assert load_error(tmp_path) == f"{path}:{line}: sections[0].paragraphs[1].text: must not be empty"


def test_unknown_kind_and_missing_kind(tmp_path):
    path, line = edited_article(tmp_path / "a", "kind: article", "kind: articel")
    message = load_error(tmp_path / "a")
    assert (
        message
        == f"{path}:{line}: kind: must be one of article, glossary, scope, tips, translation, not 'articel'"
    )
    path, _ = edited_article(tmp_path / "b", "kind: article\n", "")
    assert load_error(tmp_path / "b").startswith(f"{path}:")
    assert "kind: required field is missing" in load_error(tmp_path / "b")


def test_empty_file_and_non_mapping_file(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    (tmp_path / "notes.yaml").write_text("", encoding="utf-8")
    assert load_error(tmp_path) == f"{tmp_path / 'notes.yaml'}:1: file is empty"
    (tmp_path / "notes.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert load_error(tmp_path).startswith(f"{tmp_path / 'notes.yaml'}:1: (top level): expected a mapping")


def test_non_utf8_file_is_named(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    (tmp_path / "latin1.yaml").write_bytes("kind: article\ntitle: caf\xe9\n".encode("latin-1"))
    assert load_error(tmp_path) == f"{tmp_path / 'latin1.yaml'}:1: file is not UTF-8 text"


def test_empty_knowledge_dir_is_an_error(tmp_path):
    message = load_error(tmp_path)
    assert str(tmp_path) in message
    assert "no knowledge files" in message


def test_dir_with_only_tips_has_no_knowledge(tmp_path):
    (tmp_path / "tips.yaml").write_text("kind: tips\ntips: []\n", encoding="utf-8")
    assert "no knowledge files (kind: article)" in load_error(tmp_path)


def test_missing_knowledge_dir_is_an_error(tmp_path):
    message = load_error(tmp_path / "nowhere")
    assert message == f"{tmp_path / 'nowhere'}: knowledge directory not found"


def test_two_files_with_the_same_document_id_are_rejected(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    edited_article(tmp_path, "kind: article", "kind: article", name="copy.yaml")
    message = load_error(tmp_path)
    assert re.match(
        rf"^{re.escape(str(tmp_path / 'copy.yaml'))}:1: id: document id 'sales-and-marketing'", message
    )
    assert str(tmp_path / "article.yaml") in message


# --- a company playbook dropped into knowledge/ -------------------------------------------------


@pytest.fixture(scope="module")
def playbook_advisor(tmp_path_factory, core_knowledge_dir, core_embedder):
    directory = tmp_path_factory.mktemp("playbook-knowledge")
    for path in core_knowledge_dir.iterdir():
        shutil.copy(path, directory / path.name)
    (directory / "acme.yaml").write_text(PLAYBOOK.format(section_id="acme-handoff"), encoding="utf-8")
    knowledge = load_knowledge(directory)
    index = build_index(knowledge, core_embedder, tmp_path_factory.mktemp("playbook-data") / "index")
    return Advisor(knowledge, core_embedder, index)


def test_a_second_article_file_is_loaded_and_split(playbook_advisor):
    knowledge = playbook_advisor.knowledge
    assert sorted(d.id for d in knowledge.documents) == ["acme-playbook", "sales-and-marketing"]
    acme = knowledge.document("acme-playbook")
    assert acme.source is None
    assert acme.path.name == "acme.yaml"
    passages = [p for p in split_knowledge(knowledge) if p.document_id == "acme-playbook"]
    assert {p.section for p in passages} == {"How Acme hands leads from marketing to sales"}
    assert {p.id for p in passages} <= {p.id for p in playbook_advisor.index.passages}


def test_the_playbook_answers_a_question_about_itself(playbook_advisor):
    answer = playbook_advisor.ask("How quickly does marketing qualify inbound leads at Acme?")
    assert answer.status == "answered"
    top = answer.hits[0]
    assert top.passage.document_id == "acme-playbook"
    assert "within two business days" in top.quote
    assert answer.owner is None, (
        "a section's owner sums it up; only an assignment or a paragraph's own owner is a verdict"
    )
    crm = playbook_advisor.ask("When must account executives update the CRM after a discovery call?")
    assert crm.status == "answered"
    assert crm.hits[0].passage.document_id == "acme-playbook"
    assert crm.hits[0].quote == "Account executives must update the CRM within one day of the discovery call."
    assert crm.owner is None, "a when-question gets no verdict"
    who = playbook_advisor.ask("Who must update the CRM within one day of the discovery call?")
    assert who.hits[0].quote == crm.hits[0].quote
    assert who.owner == "sales", "the paragraph's own owner, not the section's"


def test_the_article_still_answers_with_a_playbook_beside_it(playbook_advisor):
    answer = playbook_advisor.ask("Who should set next year's sales quota?")
    assert answer.status == "answered"
    assert answer.hits[0].passage.section == "Which is more important between efficiency and stability?"
    assert answer.owner == "marketing"


def _mini_with_playbook(directory: Path, section_id: str, embedder) -> Advisor:
    directory.mkdir()
    (directory / "mini.yaml").write_text(CORE_MINI_ARTICLE, encoding="utf-8")
    (directory / "acme.yaml").write_text(PLAYBOOK.format(section_id=section_id), encoding="utf-8")
    knowledge = load_knowledge(directory)
    return Advisor(knowledge, embedder, build_index(knowledge, embedder, directory / "index"))


def test_a_playbook_reusing_another_documents_section_id_does_not_change_retrieval(tmp_path, core_embedder):
    """Section ids are per document: a playbook may reuse one (ids, keys and scores are
    document-qualified), so the clash loads and ranks exactly as a unique id would."""
    unique = _mini_with_playbook(tmp_path / "unique", "acme-handoff", core_embedder)
    clashing = _mini_with_playbook(tmp_path / "clash", "leads", core_embedder)
    assert [s.id for s in clashing.knowledge.sections()].count("leads") == 2
    for question in (
        "How quickly does marketing qualify inbound leads at Acme?",
        "Who passes leads to sales?",
        "When must account executives update the CRM?",
    ):
        expected = unique.ask(question, k=4)
        actual = clashing.ask(question, k=4)
        assert [h.passage.id for h in actual.hits] == [h.passage.id for h in expected.hits], question
        assert [h.score for h in actual.hits] == pytest.approx([h.score for h in expected.hits], abs=1e-4)


# --- glossary ------------------------------------------------------------------------------


def test_glossary_terms_are_read_and_a_repeated_term_is_named(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text("kind: glossary\nterms:\n  PLM: product life cycle management\n", encoding="utf-8")
    assert load_knowledge(tmp_path).glossary == (("PLM", "product life cycle management"),)
    glossary.write_text("kind: glossary\nterms:\n  plm: a\n  GTM: b\n  PLM: c\n", encoding="utf-8")
    assert load_error(tmp_path) == f"{glossary}:5: terms.PLM: term given twice"


def test_glossary_changes_the_knowledge_hash(tmp_path):
    edited_article(tmp_path, "kind: article", "kind: article")
    before = load_knowledge(tmp_path).content_hash
    (tmp_path / "glossary.yaml").write_text("kind: glossary\nterms:\n  mktg: marketing\n", encoding="utf-8")
    assert load_knowledge(tmp_path).content_hash != before


def test_assignment_topics_must_be_a_list(tmp_path):
    old = (
        "    topics:\n    - scouting the market and fighting for sales\n"
        "    - marketing as scouts, sales as the combat force\n"
    )
    path, line = edited_article(tmp_path, old, "    topics: scouting\n")
    assert load_error(tmp_path) == f"{path}:{line}: sections[0].assignments[0].topics: expected a list"


# --- readers per format ------------------------------------------------------------------------


def test_a_format_is_one_row_in_the_readers_table_for_the_loader_and_the_tips_alike(tmp_path, monkeypatch):
    """A reader registered for a suffix reads that suffix's files for the index's loader and
    for the tips catalog, and errors found after reading still name its FILE:LINE: FIELD."""
    from dataclasses import replace
    from types import SimpleNamespace

    from bot.knowledge import READERS, KnowledgeFile, Located, TipEntry
    from bot.tips.catalog import load_tips

    article = load_knowledge(DEFAULT_KNOWLEDGE_DIR).documents[0]
    section = article.sections[0]

    def read(path, kinds):
        if path.stem == "tips":
            where = {name: Located(value, path, 7, f"tips[0].{name}") for name, value in TIP.items()}
            return KnowledgeFile(path=path, kind="tips", tips=(TipEntry(**where),))
        return KnowledgeFile(path=path, kind="article", document=replace(article, id="plain", path=path))

    TIP = {"id": "plain-tip", "title": "Ours", "quote": section.takeaway[:40], "section": section.heading}
    monkeypatch.setitem(READERS, ".txt", SimpleNamespace(read=read))
    edited_article(tmp_path, "kind: article", "kind: article")
    (tmp_path / "plain.txt").write_text("a document in another format", encoding="utf-8")
    (tmp_path / "tips.txt").write_text("its tips", encoding="utf-8")
    knowledge = load_knowledge(tmp_path)
    assert [d.id for d in knowledge.documents] == [RAW["id"], "plain"]  # article.yaml, plain.txt
    assert load_tips(tmp_path, knowledge).ids == ("plain-tip",)
    TIP["quote"] = "words the section does not have"
    with pytest.raises(KnowledgeError) as caught:
        load_tips(tmp_path, knowledge)
    assert str(caught.value).startswith(
        f"{tmp_path / 'tips.txt'}:7: tips[0].quote: tip 'plain-tip': quote not found"
    )
    monkeypatch.delitem(READERS, ".txt")
    assert [d.id for d in load_knowledge(tmp_path).documents] == [
        RAW["id"]
    ]  # no reader: not a knowledge file


def test_verdict_names_are_defined_once_beside_the_owners():
    from bot import cli
    from bot.knowledge import VERDICTS
    from bot.slack import blocks

    assert tuple(VERDICTS) == OWNERS
    assert cli.VERDICTS is VERDICTS and blocks.VERDICTS is VERDICTS
