"""The Markdown reader: a playbook as companies write it, and one line for each malformed file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import KnowledgeError, load_knowledge, read_file
from bot.knowledge.readers import markdown
from bot.passages import split_knowledge
from bot.search.evaluation import load_eval_set

DATA = Path(__file__).parent / "data"
ACME = DATA / "playbooks" / "acme-analytics.md"
HARBOR = DATA / "playbooks" / "harbor-pine.md"
SAMPLE = DEFAULT_KNOWLEDGE_DIR / "examples" / "northbeam-playbook.md"

SMALL = """# Lumen Tools Playbook

Owned by **RevOps**. See [the wiki](https://example.com/wiki) for history.

## Pricing

### Discounts

| Discount | Approver |
|---|---|
| 0–10% | AE |
| 10–25% | **Sales Manager** |

- Marketing never sets prices.
- Requests go through `Deal Desk`.

#### Notes

Anything deeper goes to the CRO.

## Events

Sales owns trade shows.

### Events
Marketing designs the booth.
"""


def test_headings_become_title_sections_and_subsections(tmp_path):
    path = tmp_path / "lumen.md"
    path.write_text(SMALL, encoding="utf-8")
    document = read_file(path).document
    assert document.id == "lumen" and document.title == "Lumen Tools Playbook"
    assert [p.text for p in document.introduction.paragraphs] == [
        "Owned by RevOps. See the wiki for history."
    ]
    assert document.introduction.heading == "Lumen Tools Playbook"
    assert [(s.heading, s.parent) for s in document.sections] == [
        ("Discounts", "Pricing"),
        ("Events", ""),
        ("Events", "Events"),
    ]
    discounts = document.sections[0]
    assert [p.text for p in discounts.paragraphs] == [
        "Discount: 0–10%; Approver: AE.",
        "Discount: 10–25%; Approver: Sales Manager.",
        "Marketing never sets prices.",
        "Requests go through `Deal Desk`.",
        "Notes",
        "Anything deeper goes to the CRO.",
    ]
    # Each paragraph keeps the line it starts on; a table row its own line.
    lines = SMALL.splitlines()
    for paragraph in discounts.paragraphs:
        assert paragraph.text.split(":")[-1].strip(" .`")[:6] in lines[paragraph.line - 1]
    assert discounts.line == 7 and lines[discounts.line - 1] == "### Discounts"
    # Section ids are unique, even where headings repeat; no section is curated.
    assert len({s.id for s in document.sections}) == 3
    assert not document.curated and document.name == "Lumen Tools Playbook"


def test_the_tuning_playbook_names_its_sections_as_its_question_set_does(tmp_path):
    for name in ("article.yaml", "scope.yaml", "glossary.yaml"):
        shutil.copy(DEFAULT_KNOWLEDGE_DIR / name, tmp_path)
    shutil.copy(ACME, tmp_path)
    knowledge = load_knowledge(tmp_path)
    acme = knowledge.document("acme-analytics")
    assert acme.title == "Acme Analytics GTM Playbook"
    # Every gold section of the set ([H3, H2], an H2 of its own, the title) is one the reader made,
    # and every quote phrase is verbatim in the playbook's text as read.
    eval_set = load_eval_set(DATA / "playbooks" / "acme_questions.yaml", knowledge)
    labels = {
        (f"{s.heading} < {s.parent}" if s.parent else s.heading) for s in knowledge.retrievable_sections()
    }
    assert all(set(item.sections) <= labels for item in eval_set.in_domain)
    assert {item.document for item in eval_set.in_domain} == {"playbook", "article"}
    assert sum(item.disagrees for item in eval_set.in_domain) > 0
    raw = yaml.safe_load((DATA / "playbooks" / "acme_questions.yaml").read_text(encoding="utf-8"))
    h3 = [i for i in raw["in_domain"] if len(i["sections"]) == 2 and i.get("document") == "playbook"]
    item = next(e for e in eval_set.in_domain if e.question == h3[0]["question"])
    assert item.sections == (f"{h3[0]['sections'][0]} < {h3[0]['sections'][1]}",)
    # Passages never run across two list items or table rows.
    passages = [p for p in split_knowledge(knowledge) if p.document_id == "acme-analytics"]
    assert any(
        p.text == "Discount: 20.1–30%; Approver: Regional VP; Turnaround: 2 business days." for p in passages
    )


@pytest.mark.parametrize("path", [HARBOR, SAMPLE], ids=["harbor-pine", "sample"])
def test_other_playbooks_read(path):
    # The once-scored playbook is parsed (never tuned on); the shipped sample too.
    document = read_file(path).document
    assert document.title and len(document.sections) >= 5
    assert all(p.line > 0 and p.text for s in document.sections for p in s.paragraphs)


MALFORMED = {
    "binary": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)), r"binary data"),
    "empty": (b"  \n\n", r"file is empty"),
    "no headings": (b"Just some text.\n\n- and a list\n", r"no headings"),
    "not utf-8": (b"# Title\n\n## A\n\nCaf\xe9 au lait\n", r"not UTF-8"),
    "headings only": (b"# Title\n\n## A\n\n## B\n", r"no text under any heading"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_one_line_naming_it(tmp_path, case):
    data, problem = MALFORMED[case]
    path = tmp_path / "broken.md"
    path.write_bytes(data)
    with pytest.raises(KnowledgeError) as caught:
        read_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert re.match(rf"^{re.escape(str(path))}:\d+: .*{problem}", message), message


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.md"
    with open(path, "wb") as out:  # 50 MB, sparse: nothing to write, nothing to read
        out.truncate(50 * 1024 * 1024)
    read_bytes = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: read_bytes.append(self) or b"")
    with pytest.raises(KnowledgeError, match=r"huge\.md:1: file is too large for a playbook \(52\.4 MB"):
        read_file(path)
    assert read_bytes == []


def test_an_unreadable_file_is_one_line_naming_it(tmp_path, monkeypatch):
    path = tmp_path / "locked.md"
    path.write_text("# Title\n\n## A\n\nText.\n", encoding="utf-8")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(KnowledgeError) as caught:
        read_file(path)
    assert str(caught.value) == f"{path}:1: cannot read the file (Permission denied)"


def test_a_malformed_playbook_is_left_out_and_the_rest_loads(tmp_path):
    for name in ("article.yaml", "scope.yaml", "glossary.yaml"):
        shutil.copy(DEFAULT_KNOWLEDGE_DIR / name, tmp_path)
    before = load_knowledge(tmp_path)
    (tmp_path / "broken.md").write_bytes(b"\0\0\0binary")
    after = load_knowledge(tmp_path)
    assert [d.id for d in after.documents] == [d.id for d in before.documents]
    # Its hash is the one the index was built for: the index keeps serving.
    assert after.content_hash == before.content_hash
    assert len(after.skipped) == 1 and after.skipped[0].startswith(f"{tmp_path / 'broken.md'}:1: ")


def test_a_bad_yaml_file_still_stops_the_load(tmp_path):
    shutil.copy(DEFAULT_KNOWLEDGE_DIR / "article.yaml", tmp_path)
    (tmp_path / "extra.yaml").write_text("kind: article\nid: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"extra\.yaml:\d+: invalid YAML"):
        load_knowledge(tmp_path)


def test_the_reader_is_one_row_of_the_table():
    from bot.knowledge import READERS

    assert READERS[".md"] is markdown
