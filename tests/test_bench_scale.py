"""The scale benchmark's generated playbooks (scripts/scale_playbooks.py, issue 29): the same
seed writes the same files, the loader finds exactly the passages asked for, and every file
loads without a problem."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.knowledge import load_knowledge
from bot.passages import split_knowledge

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import scale_playbooks  # noqa: E402


def _files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}


def test_the_same_seed_writes_the_same_playbooks_and_another_seed_others(tmp_path):
    scale_playbooks.generate(600, tmp_path / "a", seed=7)
    scale_playbooks.generate(600, tmp_path / "b", seed=7)
    scale_playbooks.generate(600, tmp_path / "c", seed=8)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_the_loader_finds_exactly_the_passages_asked_for(tmp_path):
    for n in (1, 45, 1234):
        directory = tmp_path / str(n)
        paths = scale_playbooks.generate(n, directory)
        knowledge = load_knowledge(directory)
        assert knowledge.skipped == ()  # no playbook left out as malformed
        assert len(knowledge.documents) == len(paths)
        passages = split_knowledge(knowledge)
        assert len(passages) == n
        if n > 1000:  # split over several documents of a playbook's size, none a stub
            per_document = Counter(p.document_id for p in passages)
            assert len(per_document) > 5
            assert all(40 <= count < 200 for count in per_document.values())


def test_generate_only_writes_the_article_and_the_playbooks_beside_it(tmp_path):
    out = tmp_path / "knowledge"
    command = [
        sys.executable,
        "scripts/bench_scale.py",
        "--generate-only",
        "--passages",
        "300",
        "--out",
        str(out),
    ]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    knowledge = load_knowledge(out)
    bundled = load_knowledge(ROOT / "knowledge")
    assert knowledge.skipped == ()
    assert len(split_knowledge(knowledge)) == len(split_knowledge(bundled)) + 300
    assert {d.id for d in bundled.documents} < {d.id for d in knowledge.documents}


def test_the_added_document_has_the_words_asked_for_and_loads(tmp_path):
    path = scale_playbooks.one_document(2000, tmp_path)
    words = len(path.read_text(encoding="utf-8").split())
    assert 2000 <= words < 2400
    assert load_knowledge(tmp_path).skipped == ()
