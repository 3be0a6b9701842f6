"""A company playbook beside the article: ``advisor knowledge add/list/remove`` over a real built
index (only the new document embedded, without torch), scope relative to what is loaded, refusals
naming the documents, and the company's rule first where it differs from the article."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import load_knowledge
from bot.search.advisor import Advisor
from bot.search.answer import not_covered_line
from bot.search.company import company_owner
from bot.search.corpus import scope_covered
from bot.search.onnx_embedder import OnnxEmbedder
from bot.search.store import build_index, read_manifest
from tests.helpers import invoke

DATA = Path(__file__).parent / "data"
SAMPLE = DEFAULT_KNOWLEDGE_DIR / "examples" / "northbeam-playbook.md"
ACME = DATA / "playbooks" / "acme-analytics.md"
DISCOUNT_EXAMPLE = "How much discount can a salesperson give without approval?"


@pytest.fixture
def copied(tmp_path, core_knowledge_dir, core_data_dir):
    """A copy of the bundled knowledge and of its built index (with its vector cache)."""
    knowledge_dir = tmp_path / "knowledge"
    shutil.copytree(core_knowledge_dir, knowledge_dir)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copytree(core_data_dir / "index", data_dir / "index")
    shutil.copytree(core_data_dir / "index-vectors", data_dir / "index-vectors")
    env = {"ADVISOR_KNOWLEDGE_DIR": str(knowledge_dir), "ADVISOR_DATA_DIR": str(data_dir)}
    return knowledge_dir, data_dir, env


@pytest.fixture
def embedded(monkeypatch):
    """Every text the ONNX model is given, in order (the model itself still runs)."""
    texts: list[str] = []
    encode, encode_tokens = OnnxEmbedder.encode, OnnxEmbedder.encode_tokens

    def recording_encode(self, batch, **kwargs):
        texts.extend(batch)
        return encode(self, batch, **kwargs)

    def recording_tokens(self, batch, **kwargs):
        texts.extend(batch)
        return encode_tokens(self, batch, **kwargs)

    monkeypatch.setattr(OnnxEmbedder, "encode", recording_encode)
    monkeypatch.setattr(OnnxEmbedder, "encode_tokens", recording_tokens)
    return texts


def test_add_list_ask_remove_over_a_built_index(copied, embedded, core_knowledge):
    knowledge_dir, data_dir, env = copied
    assert read_manifest(data_dir / "index").onnx_file  # the export the add will run on
    article = {p.text for s in core_knowledge.retrievable_sections() for p in s.paragraphs}

    added = invoke("knowledge", "add", str(SAMPLE), env=env)
    assert added.exit_code == 0, added.output
    assert (knowledge_dir / SAMPLE.name).read_bytes() == SAMPLE.read_bytes()
    assert "added northbeam-playbook.md: 'Northbeam Solar Revenue Playbook'" in added.output
    assert "(onnx)" in added.output  # rebuilt with the index's export: no torch
    # Only the playbook's texts were embedded: none of the article's, each playbook text once.
    playbook = SAMPLE.read_text(encoding="utf-8")
    assert embedded and not set(embedded) & article
    assert all(any(w in playbook for w in t.split()[:3]) for t in embedded)
    manifest = read_manifest(data_dir / "index")
    assert manifest.onnx_file and manifest.knowledge_hash == load_knowledge(knowledge_dir).content_hash

    listed = invoke("knowledge", "list", env=env)
    assert listed.exit_code == 0, listed.output
    assert "article.yaml" in listed.output and "[article (curated)]" in listed.output
    assert "northbeam-playbook.md  'Northbeam Solar Revenue Playbook'  [playbook]" in listed.output
    assert "4.2 Discount approvals < 4. Pricing and Discounts (line " in listed.output

    asked = invoke("ask", "--json", "who approves a 15% discount?", env=env)
    hit = json.loads(asked.output)["passages"][0]
    assert hit["file"] == "northbeam-playbook.md"
    assert hit["parent"] == "4. Pricing and Discounts" and hit["line"] > 0
    assert playbook.splitlines()[hit["line"] - 1].startswith("|")

    embedded.clear()
    removed = invoke("knowledge", "remove", "northbeam-playbook", env=env)
    assert removed.exit_code == 0, removed.output
    assert not (knowledge_dir / SAMPLE.name).exists()
    assert embedded == []  # every text left was in the cache
    listed = invoke("knowledge", "list", env=env)
    assert "northbeam" not in listed.output


def test_add_refuses_a_malformed_file_and_changes_nothing(copied, tmp_path):
    knowledge_dir, data_dir, env = copied
    before = read_manifest(data_dir / "index")
    broken = tmp_path / "broken.md"
    broken.write_text("no headings here\n", encoding="utf-8")
    result = invoke("knowledge", "add", str(broken), env=env)
    assert result.exit_code != 0
    assert (
        result.output.strip().splitlines()[-1]
        == f"Error: {broken}:1: no headings: a playbook needs a '# Title' and '## Section' headings"
    )
    assert not (knowledge_dir / "broken.md").exists()
    assert read_manifest(data_dir / "index") == before
    missing = invoke("knowledge", "remove", "nothing-like-this", env=env)
    assert missing.exit_code != 0 and "no document named 'nothing-like-this'" in missing.output


@pytest.fixture(scope="module")
def with_sample(tmp_path_factory, core_knowledge_dir, core_embedder):
    directory = tmp_path_factory.mktemp("sample-knowledge")
    for path in core_knowledge_dir.iterdir():
        shutil.copy(path, directory)
    shutil.copy(SAMPLE, directory)
    knowledge = load_knowledge(directory)
    index = build_index(knowledge, core_embedder, tmp_path_factory.mktemp("sample-data") / "index")
    return Advisor(knowledge, core_embedder, index)


def test_scope_is_relative_to_the_documents_loaded(with_sample, core_advisor):
    examples = list(with_sample.knowledge.out_of_scope)
    at = examples.index(DISCOUNT_EXAMPLE)
    # The article alone: nothing is covered. With the playbook: its discount matrix covers the
    # discount example, and an unrelated one stays out of scope.
    assert not core_advisor.corpus.scope_covered.any()
    assert with_sample.corpus.scope_covered[at]
    assert not with_sample.corpus.scope_covered[examples.index("What's the parental leave policy?")]
    empty = scope_covered(np.zeros((0, 384), np.float32), np.zeros((0, 384), np.float32))
    assert empty.shape == (0,)
    answer = with_sample.ask("Who approves a 15% discount?")
    assert answer.status != "not_covered"
    assert answer.hits[0].document_file == "northbeam-playbook.md"
    assert answer.hits[0].document_title == "Northbeam Solar Revenue Playbook"
    assert answer.hits[0].section_parent == "4. Pricing and Discounts"


def test_a_refusal_names_what_is_loaded_and_suggests_from_every_document(with_sample, core_advisor):
    answer = with_sample.ask("What's the weather in Paris tomorrow?")
    assert answer.status == "not_covered"
    assert answer.documents == ("the article", "Northbeam Solar Revenue Playbook")
    assert not_covered_line(answer.documents) == (
        "The article and the Northbeam Solar Revenue Playbook do not cover this."
    )
    assert any(q.startswith("What does the playbook say about") for q in answer.suggestions)
    assert any(q in with_sample.corpus.curated_questions for q in answer.suggestions)
    alone = core_advisor.ask("What's the weather in Paris tomorrow?")
    assert not_covered_line(alone.documents) == "The article does not cover this."


def test_the_company_rule_comes_first_with_the_article_view_beside_it(
    tmp_path_factory, core_knowledge_dir, core_embedder
):
    directory = tmp_path_factory.mktemp("acme-knowledge")
    for path in core_knowledge_dir.iterdir():
        shutil.copy(path, directory)
    shutil.copy(ACME, directory)
    knowledge = load_knowledge(directory)
    advisor = Advisor(knowledge, core_embedder, build_index(knowledge, core_embedder, directory / "index"))
    answer = advisor.ask("Is sales enablement part of marketing?")
    top = answer.hits[0]
    assert top.company and top.document_file == "acme-analytics.md"
    assert answer.owner == "sales"
    view = answer.article_view
    assert view is not None and not view.company and view.document_file == "article.yaml"
    assert view.owner not in (None, "sales")
    data = answer.to_dict()
    assert data["article_view"]["owner"] == view.owner and data["article_view"]["file"] == "article.yaml"
    # An article answer carries no second view.
    article = advisor.ask("In the scout analogy, which department is the scout?")
    assert not article.hits[0].company and article.article_view is None


@pytest.mark.parametrize(
    ("quote", "owner"),
    [
        ("Sales Enablement (2 people) sits inside Sales, not Marketing.", "sales"),
        ("Job: Trade shows; Owner: Sales (Regional VP); Consulted: Marketing (booth design).", "sales"),
        ("Marketing does not set, review, or allocate sales quotas.", None),
        ("Trade shows are owned by Marketing, and Regional Directors nominate the AEs.", "marketing"),
        ("Customer Care holds the kickoff call within five business days.", None),
        ("Demand Gen: paid, webinars, email nurture, website conversion.", "marketing"),
    ],
)
def test_the_team_a_playbook_quote_gives_the_job(quote, owner):
    assert company_owner(quote) == owner


def test_the_card_shows_the_company_rule_first_and_the_article_view_beside_it():
    from bot.slack.blocks import Quote, answer_card

    rule = Quote(
        "Sales Enablement sits inside Sales, not Marketing.", "2.1 Sales", "sales", "p1", "Acme Playbook"
    )
    view = Quote("Marketing trains the salespeople.", "Arms or thighs?", "marketing", "p2", "The article")
    card = answer_card("who owns enablement?", "answered", "sales", [rule], company=True, article_view=view)
    texts = [json.dumps(b) for b in card["blocks"]]
    assert "*Company rule* (Acme Playbook): *Sales* owns this." in texts[0]
    # The company's rule and its quote first; the article's view under the rule's source line.
    assert [b.get("block_id") for b in card["blocks"]][:4] == [
        "verdict",
        "passage_0",
        "source",
        "article_view",
    ]
    assert rule.text in texts[1]
    assert "The article's view: *Marketing*" in texts[3] and "Marketing trains" in texts[3]
    refusal = answer_card(
        "weather?", "not_covered", None, [], refusal="The article and the Acme Playbook do not cover this."
    )
    assert "The article and the Acme Playbook do not cover this." in json.dumps(refusal["blocks"][0])


def test_malformed_playbooks_are_named_and_the_built_index_keeps_serving(copied):
    knowledge_dir, data_dir, env = copied
    before = read_manifest(data_dir / "index")
    problems = {
        "binary.md": "not a Markdown text file (binary data)",
        "empty.md": "file is empty",
        "plain.md": "no headings",
        "huge.md": "file is too large for a playbook",
    }
    (knowledge_dir / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    (knowledge_dir / "empty.md").write_bytes(b"")
    (knowledge_dir / "plain.md").write_text("Just a paragraph.\n\n- and a list\n", encoding="utf-8")
    with open(knowledge_dir / "huge.md", "wb") as out:  # 50 MB, sparse
        out.truncate(50 * 1024 * 1024)

    asked = invoke("ask", "--json", "Who should set next year's sales quota?", env=env)
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.output[asked.output.index("{") :])["passages"]
    assert read_manifest(data_dir / "index") == before  # served from the index as built: no rebuild

    listed = invoke("knowledge", "list", env=env)
    assert listed.exit_code == 0, listed.output
    left_out = [line for line in listed.output.splitlines() if line.startswith("left out: ")]
    assert len(left_out) == len(problems)
    for name, problem in problems.items():
        (line,) = [line for line in left_out if f"{knowledge_dir / name}:1: " in line]
        assert problem in line


def test_an_example_the_answering_sentence_speaks_to_is_no_evidence_against_it(with_sample):
    from bot.search import boundary

    advisor, corpus = with_sample, with_sample.corpus
    spoken = unspoken = 0
    for i, example in enumerate(advisor.knowledge.out_of_scope):
        signals = advisor.signals(advisor.prepare(example))
        top = int(advisor.score(signals).argmax())
        if corpus.sentence_curated[top] or corpus.scope_covered[i]:
            continue
        # Asked itself, the example is the closest example to the question.
        cosine = float(corpus.index.scope_vectors[i] @ corpus.sentence_vectors[top])
        speaks = cosine >= boundary.SCOPE_ANSWERED
        held = boundary.beyond_scope(advisor.ranker, signals, top, False, corpus)
        plain = boundary.beyond_scope(advisor.ranker, signals, top, False)
        if speaks:
            spoken += 1
            assert held < plain
        else:
            unspoken += 1
            assert held == pytest.approx(plain) and plain > 0
        if spoken and unspoken >= 3:
            break
    assert spoken and unspoken >= 3
