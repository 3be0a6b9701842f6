"""The on-disk index: persistence, manifest, staleness, atomic builds, corruption, model weights."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import bot.filememo as filememo
import bot.search.fitting as fitting
import bot.search.store as store
from bot.config import BUNDLED_MODEL, BUNDLED_MODEL_SHA256
from bot.knowledge import load_knowledge
from bot.passages import Passage, split_knowledge
from bot.search.digest import file_sha256
from bot.search.embedder import ModelError
from bot.search.schema import MANIFEST
from bot.search.store import IndexUnavailable, build_index, ensure_index, load_index, read_manifest, staleness
from bot.search.torch_embedder import TorchEmbedder, load_embedder, resolve_model, verify_weights
from tests.conftest import BUILD_STARTED, CORE_MINI_ARTICLE


@pytest.fixture
def real_index_copy(tmp_path, core_data_dir) -> Path:
    """A private copy of the session's real index, safe to damage."""
    directory = tmp_path / "data" / "index"
    shutil.copytree(core_data_dir / "index", directory)
    return directory


@pytest.fixture(scope="module")
def mini_index_template(tmp_path_factory, core_embedder):
    """A tiny index built once for this module; tests copy it (see mini_index)."""
    knowledge_dir = tmp_path_factory.mktemp("mini-knowledge")
    (knowledge_dir / "mini.yaml").write_text(CORE_MINI_ARTICLE, encoding="utf-8")
    directory = tmp_path_factory.mktemp("mini-data") / "index"
    build_index(load_knowledge(knowledge_dir), core_embedder, directory)
    return directory


@pytest.fixture
def mini_index(tmp_path, mini_index_template, core_mini_knowledge_dir):
    """(knowledge dir, index dir): the tiny knowledge and a fresh copy of its index."""
    directory = tmp_path / "data" / "index"
    shutil.copytree(mini_index_template, directory)
    return core_mini_knowledge_dir, directory


def records(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.search.store" and r.levelno == level]


# --- persistence --------------------------------------------------------------------------


def test_load_returns_the_passages_that_were_built(core_knowledge, core_data_dir):
    index = load_index(core_data_dir / "index")
    assert index.passages == split_knowledge(core_knowledge)
    assert index.passage_index.ntotal == len(index.passages)
    assert index.sentence_index.ntotal == sum(len(p.sentences) for p in index.passages)
    assert index.section_refs == [f"{s.document_id}/{s.id}" for s in core_knowledge.retrievable_sections()]
    curated = sum(
        len(q.questions) for s in core_knowledge.retrievable_sections() for q in s.sentence_questions
    )
    asks = [k for k in index.sentence_keys if k.kind == "question"]
    assert len(asks) == curated and index.sentence_key_vectors.shape == (len(index.sentence_keys), 384)


def test_manifest_records_model_dimension_knowledge_counts_and_build_time(
    core_knowledge, core_embedder, core_data_dir
):
    manifest = read_manifest(core_data_dir / "index")
    passages = split_knowledge(core_knowledge)
    assert manifest.model_id == core_embedder.model_id == f"bundled@{BUNDLED_MODEL_SHA256[:16]}"
    assert manifest.dimension == 384
    assert manifest.knowledge_hash == core_knowledge.content_hash
    assert manifest.passage_count == len(passages)
    assert manifest.sentence_count == sum(len(p.sentences) for p in passages)
    index = load_index(core_data_dir / "index")
    assert manifest.key_count == len(index.section_keys) + len(index.sentence_keys)
    sections = list(core_knowledge.retrievable_sections())
    assert len(index.section_keys) == sum(
        1 + bool(s.takeaway) + len(s.topics) + len(s.questions) for s in sections
    )
    built = datetime.fromisoformat(manifest.built_at)
    assert built.tzinfo is not None
    # The real instant (a local time labelled UTC would be hours off): between when this
    # run's build began and when its manifest was written, both recorded by the clock.
    started = float((core_data_dir / BUILD_STARTED).read_text())
    written = (core_data_dir / "index" / "manifest.json").stat().st_mtime
    assert int(started) <= built.timestamp() <= written
    assert manifest.build_seconds > 0
    directory = core_data_dir / "index"
    on_disk = {
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, store.VERIFIED)
    }
    assert set(manifest.files) == on_disk
    for name, digest in manifest.files.items():
        assert file_sha256(directory / name) == digest


def test_passages_are_json_lines_and_nothing_is_pickled(core_data_dir):
    directory = core_data_dir / "index"
    lines = (directory / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == read_manifest(directory).passage_count
    expected = load_index(directory).passages
    for line, passage in zip(lines, expected, strict=True):
        data = json.loads(line)
        assert set(data) == {
            "id",
            "document_id",
            "section_id",
            "section",
            "section_index",
            "paragraph",
            "position",
            "start",
            "text",
            "sentences",
            "assignments",
        }
        assert Passage.from_json(data) == passage
    for path in directory.rglob("*"):
        assert path.suffix not in (".pkl", ".pickle")
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
            assert array.dtype != object
        elif path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


def test_a_fresh_index_is_reused_not_rebuilt(caplog, core_knowledge, core_embedder, real_index_copy):
    caplog.set_level(logging.INFO, logger="bot.search.store")
    before = read_manifest(real_index_copy)
    stamp = (real_index_copy / "passages.faiss").stat().st_mtime_ns
    index = ensure_index(core_knowledge, core_embedder, real_index_copy)
    assert index.manifest == before
    assert (real_index_copy / "passages.faiss").stat().st_mtime_ns == stamp
    assert not [m for m in records(caplog, logging.INFO) + records(caplog, logging.WARNING) if "rebuild" in m]


# --- staleness -----------------------------------------------------------------------------


def test_knowledge_change_makes_the_index_stale_and_it_is_rebuilt(caplog, core_embedder, mini_index):
    caplog.set_level(logging.INFO, logger="bot.search.store")
    knowledge_dir, directory = mini_index
    old = read_manifest(directory)
    article = knowledge_dir / "mini.yaml"
    article.write_text(
        article.read_text(encoding="utf-8").replace("within a day", "within two days"), encoding="utf-8"
    )
    knowledge = load_knowledge(knowledge_dir)
    assert knowledge.content_hash != old.knowledge_hash
    assert staleness(old, knowledge, core_embedder.model_id) == "the knowledge changed"
    index = ensure_index(knowledge, core_embedder, directory)
    assert index.manifest.knowledge_hash == knowledge.content_hash
    assert read_manifest(directory).knowledge_hash == knowledge.content_hash
    assert any("within two days" in p.text for p in index.passages)
    assert not any("within a day" in p.text for p in index.passages)
    assert any("stale (the knowledge changed)" in m for m in records(caplog, logging.INFO))


def test_model_change_makes_the_index_stale_and_it_is_rebuilt(caplog, core_embedder, mini_index):
    caplog.set_level(logging.INFO, logger="bot.search.store")
    knowledge_dir, directory = mini_index
    knowledge = load_knowledge(knowledge_dir)
    old = read_manifest(directory)
    assert staleness(old, knowledge, core_embedder.model_id) is None
    other = TorchEmbedder(model_id="another-model@0123456789abcdef", model=core_embedder.model)
    reason = staleness(old, knowledge, other.model_id)
    assert reason == f"the model changed ({core_embedder.model_id} -> another-model@0123456789abcdef)"
    index = ensure_index(knowledge, other, directory)
    assert index.manifest.model_id == "another-model@0123456789abcdef"
    assert any("the model changed" in m for m in records(caplog, logging.INFO))
    # And back: the bundled model's id no longer matches, so it rebuilds again.
    assert ensure_index(knowledge, core_embedder, directory).manifest.model_id == core_embedder.model_id


# --- atomic builds -------------------------------------------------------------------------


def test_a_crash_mid_build_leaves_the_old_index_and_no_loadable_half_index(
    monkeypatch, core_embedder, mini_index
):
    knowledge_dir, directory = mini_index
    old = read_manifest(directory)
    article = knowledge_dir / "mini.yaml"
    article.write_text(article.read_text(encoding="utf-8").replace("ten percent", "five percent"))
    knowledge = load_knowledge(knowledge_dir)

    def disk_full(_directory):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_files_of", disk_full)  # fails just before the manifest
    with pytest.raises(OSError):
        build_index(knowledge, core_embedder, directory)
    monkeypatch.undo()

    # The old index is untouched and still loads as the old knowledge.
    assert load_index(directory).manifest == old
    leftovers = [p for p in directory.parent.iterdir() if p.name.startswith(f".{directory.name}.tmp-")]
    assert leftovers, "the half-built directory was left behind (as a crash would)"
    assert (leftovers[0] / "passages.jsonl").is_file()
    with pytest.raises(IndexUnavailable, match=f"missing {MANIFEST}") as caught:
        load_index(leftovers[0])
    assert str(leftovers[0]) in str(caught.value)
    # The next ensure_index sees the stale index and rebuilds it for the new knowledge.
    index = ensure_index(knowledge, core_embedder, directory)
    assert index.manifest.knowledge_hash == knowledge.content_hash
    assert any("five percent" in p.text for p in index.passages)


def test_a_directory_without_a_manifest_never_loads(real_index_copy):
    (real_index_copy / MANIFEST).unlink()
    with pytest.raises(IndexUnavailable) as caught:
        load_index(real_index_copy)
    assert str(real_index_copy) in str(caught.value)
    assert MANIFEST in str(caught.value)


def test_ensure_index_ignores_a_leftover_temp_dir_and_builds(caplog, core_embedder, mini_index):
    caplog.set_level(logging.INFO, logger="bot.search.store")
    knowledge_dir, directory = mini_index
    leftover = directory.parent / f".{directory.name}.tmp-999999"
    shutil.move(directory, leftover)
    (leftover / MANIFEST).unlink()  # a crash before the manifest was written
    knowledge = load_knowledge(knowledge_dir)
    index = ensure_index(knowledge, core_embedder, directory)
    assert index.manifest.knowledge_hash == knowledge.content_hash
    assert (directory / MANIFEST).is_file()
    assert any(f"no index at {directory}" in m for m in records(caplog, logging.INFO))


# --- corruption ------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 64, len(data) - 32):  # inside the vectors, past the .npy header
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_text("this is not json\n{\n", encoding="utf-8")


def _delete(path: Path) -> None:
    path.unlink()


CORRUPTIONS = [
    ("passages.faiss", _truncate),
    ("sentence_keys.npy", _flip_bytes),
    ("passages.jsonl", _garbage),
    ("section_keys.npy", _delete),
    ("lexical-sentences/vocab.index.json", _garbage),
    (MANIFEST, _garbage),
    (MANIFEST, _truncate),
]


@pytest.mark.parametrize(
    ("name", "damage"), CORRUPTIONS, ids=[f"{n}-{d.__name__[1:]}" for n, d in CORRUPTIONS]
)
def test_a_corrupt_file_is_named_and_the_index_is_rebuilt_with_a_warning(
    caplog, core_embedder, mini_index, name, damage
):
    caplog.set_level(logging.INFO, logger="bot.search.store")
    knowledge_dir, directory = mini_index
    path = directory / name
    damage(path)
    with pytest.raises(IndexUnavailable) as caught:
        load_index(directory)
    assert str(path) in str(caught.value)
    knowledge = load_knowledge(knowledge_dir)
    index = ensure_index(knowledge, core_embedder, directory)
    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert str(path) in warnings[0]
    assert "rebuilding" in warnings[0]
    assert index.manifest.knowledge_hash == knowledge.content_hash
    reloaded = load_index(directory)
    assert reloaded.passages == split_knowledge(knowledge)


@pytest.mark.parametrize(
    ("name", "damage"), CORRUPTIONS[:3], ids=["faiss-truncated", "sentence-keys-flipped", "jsonl"]
)
def test_corruption_of_the_real_index_is_detected(real_index_copy, name, damage):
    path = real_index_copy / name
    damage(path)
    with pytest.raises(IndexUnavailable) as caught:
        load_index(real_index_copy)
    assert str(path) in str(caught.value)


def test_a_start_hashes_only_the_files_changed_since_their_digests_matched(mini_index, monkeypatch):
    # Stamps are trusted at once here (not only 2 s after a write: bot/filememo.py).
    monkeypatch.setattr(filememo, "RACY_SECONDS", 0.0)
    _knowledge_dir, directory = mini_index
    hashed: list[str] = []
    digest = store._sha256
    monkeypatch.setattr(store, "_sha256", lambda path: hashed.append(path.name) or digest(path))
    first = load_index(directory)
    assert set(hashed) == {Path(name).name for name in first.manifest.files}  # a copy: new stamps
    hashed.clear()
    load_index(directory)
    assert hashed == []
    # A changed file is hashed, and found out, even with its size and modification time put back.
    path = directory / "sentence_keys.npy"
    before = path.stat()
    _flip_bytes(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(IndexUnavailable) as caught:
        load_index(directory)
    assert hashed == ["sentence_keys.npy"]
    assert str(path) in str(caught.value)


# --- model weights ---------------------------------------------------------------------------


def test_bundled_model_embeds_normalised_384_dimension_vectors(core_embedder):
    assert core_embedder.dimension == 384
    vectors = core_embedder.encode(["Who sets the sales quota?", "Who owns lead generation?"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.99


def test_bundled_weights_match_the_pinned_digest():
    verify_weights(Path(resolve_model(BUNDLED_MODEL)), BUNDLED_MODEL_SHA256)


@pytest.fixture(scope="module")
def tampered_model(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("model") / "tampered"
    shutil.copytree(resolve_model(BUNDLED_MODEL), directory)
    weights = directory / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.seek(-100, 2)
        byte = handle.read(1)
        handle.seek(-100, 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    return directory


def test_modified_weights_fail_verification_naming_the_expected_digest(tampered_model):
    with pytest.raises(ModelError) as caught:
        verify_weights(tampered_model, BUNDLED_MODEL_SHA256)
    message = str(caught.value)
    assert BUNDLED_MODEL_SHA256 in message
    assert str(tampered_model / "model.safetensors") in message
    assert file_sha256(tampered_model / "model.safetensors") in message


def test_load_embedder_refuses_modified_weights(tampered_model):
    with pytest.raises(ModelError, match=BUNDLED_MODEL_SHA256):
        load_embedder(str(tampered_model), expected_sha256=BUNDLED_MODEL_SHA256)


def test_missing_weights_are_named(tmp_path):
    with pytest.raises(ModelError, match="model weights not found"):
        verify_weights(tmp_path, BUNDLED_MODEL_SHA256)


def test_a_model_directory_that_is_not_there_is_named_before_any_model_library_loads(tmp_path):
    code = (
        "import sys\n"
        "from bot.search.embedder import ModelError\nfrom bot.search.torch_embedder import load_embedder\n"
        "try:\n"
        f"    load_embedder({str(tmp_path / 'no-model')!r}, expected_sha256=None)\n"
        "except ModelError as exc:\n"
        "    print(exc)\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == [f"model directory {tmp_path / 'no-model'} not found", "False False"]


def test_a_build_embeds_each_distinct_text_once(tmp_path, core_embedder):
    # A playbook nobody curated is keyed by its own sentences, and a one-sentence paragraph is
    # its own passage: the build embeds each such text once, with the sentences' word pieces.
    knowledge_dir = tmp_path / "knowledge"
    knowledge_dir.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "playbook" / "northwind-playbook.yaml", knowledge_dir)
    knowledge = load_knowledge(knowledge_dir)
    seen: list[str] = []

    class Counting(type(core_embedder)):
        def encode(self, texts, **kwargs):
            seen.extend(texts)
            return super().encode(texts, **kwargs)

        def encode_tokens(self, texts):
            seen.extend(texts)
            return super().encode_tokens(texts)

    counting = Counting(
        model_id=core_embedder.model_id,
        model=core_embedder.model,
        location=core_embedder.location,
        vectors=core_embedder.vectors,
        tokens=core_embedder.tokens,
    )
    index = build_index(knowledge, counting, tmp_path / "index")
    assert len(seen) == len(set(seen))
    sentences = [p.sentence_text(s) for p in index.passages for s in p.sentences]
    assert set(sentences) <= set(seen)
    # Every key of the playbook's sections is one of its sentences, and found by its vector.
    keys = [k.text for k in index.section_keys if k.kind == "sentence"]
    assert keys and set(keys) <= set(sentences)
    at = {t: i for i, t in enumerate(sentences)}
    vectors = index.sentence_index.reconstruct_n(0, index.sentence_index.ntotal)
    for key, vector in zip(index.section_keys, index.section_key_vectors, strict=True):
        if key.kind == "sentence":
            assert np.allclose(vector, vectors[at[key.text]], atol=1e-6)


def test_the_scope_classifier_tells_the_curated_keys_from_the_out_of_scope_examples(core_data_dir):
    index = load_index(core_data_dir / "index")
    assert index.scope_classifier.shape == (index.manifest.dimension + 1,)
    weights, bias = index.scope_classifier[:-1], index.scope_classifier[-1]
    keys = np.vstack([index.section_key_vectors, index.sentence_key_vectors]) @ weights + bias
    scope = index.scope_vectors @ weights + bias
    assert len(scope) > 100
    # Most of each class on its side of 0 (a linear fit, not a lookup of its examples).
    assert (keys > 0).mean() > 0.9 and (scope < 0).mean() > 0.9


def test_without_out_of_scope_examples_there_is_no_scope_classifier(mini_index):
    _knowledge_dir, directory = mini_index
    index = load_index(directory)
    assert not len(index.scope_vectors) and index.scope_classifier.shape == (0,)


def test_every_curated_topic_is_asked_about_as_in_scope(core_knowledge):
    sections = list(core_knowledge.retrievable_sections())
    questions = fitting.topic_questions(sections)
    topics = {t for s in sections for t in [*s.topics, *(t for a in s.assignments for t in a.topics)]}
    assert len(questions) == len(set(questions)) == len(topics) * len(fitting.TOPIC_QUESTIONS)
    assert "Who should own direct mail?" in questions
