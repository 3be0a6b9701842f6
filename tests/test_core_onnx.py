"""The ONNX backend: parity with sentence-transformers, backend choice and fallback, the
export as an index file (corruption rebuilt), and which processes import torch at all."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.config import BUNDLED_MODEL_SHA256, REPO_ROOT, Settings
from bot.knowledge import load_knowledge
from bot.search.backend import load_model_and_index
from bot.search.embedder import ModelError
from bot.search.onnx_embedder import OnnxEmbedder, load_onnx_embedder
from bot.search.store import build_index, read_manifest
from bot.search.torch_embedder import TorchEmbedder, resolve_model
from tests.helpers import compared_sets
from tests.test_core_cli import clean_env, invoke

DATA = REPO_ROOT / "tests" / "data"
# Every article set's questions are embedded alike by both backends; the eval figures are
# compared on two sets (each eval loads torch once more).
EVAL_SETS = compared_sets()
PARITY_SETS = [DATA / "final_questions.yaml", DATA / "blind_tune_a.yaml"]


def eval_questions() -> list[str]:
    texts = []
    for path in EVAL_SETS:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data.get("in_domain", []) + data.get("off_topic", [])
        texts += [item if isinstance(item, str) else item["question"] for item in items]
    return texts


@pytest.fixture(scope="module")
def onnx_embedder(core_embedder, core_data_dir) -> OnnxEmbedder:
    directory = core_data_dir / "index"
    return load_onnx_embedder(
        core_embedder.model_id, resolve_model("bundled"), directory / read_manifest(directory).onnx_file
    )


# --- parity -----------------------------------------------------------------------------------


def test_the_index_build_keeps_a_parity_checked_export(core_data_dir):
    manifest = read_manifest(core_data_dir / "index")
    assert manifest.onnx_file == "model.onnx" and manifest.onnx["data"] == "model.onnx.data"
    # Digests checked like every index file's; the weights sit beside the small graph.
    assert manifest.files["model.onnx"] and manifest.files["model.onnx.data"]
    directory = core_data_dir / "index"
    assert (directory / "model.onnx").stat().st_size < 1_000_000
    assert (directory / "model.onnx.data").stat().st_size > 80_000_000
    assert manifest.onnx["parity_max_abs_diff"] < 1e-4
    assert manifest.onnx["pooling"] == "mean" and manifest.onnx["normalize"] is True
    assert manifest.onnx["max_seq_length"] == 256


def test_onnx_vectors_match_sentence_transformers_on_every_eval_question(core_embedder, onnx_embedder):
    texts = eval_questions()
    assert len(texts) > 100
    expected = core_embedder.encode(texts)
    actual = onnx_embedder.encode(texts)
    assert actual.dtype == np.float32 and actual.shape == expected.shape == (len(texts), 384)
    assert np.abs(actual - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(actual, axis=1), 1.0, atol=1e-5)
    assert np.abs(onnx_embedder.encode_one(texts[0]) - expected[0]).max() < 1e-4


def test_onnx_word_pieces_match_sentence_transformers(core_embedder, onnx_embedder):
    texts = eval_questions()[:40] + ["ok", "Who should set next year's sales quota?"]
    expected_vectors, expected = core_embedder.encode_tokens(texts)
    actual_vectors, actual = onnx_embedder.encode_tokens(texts)
    assert np.abs(actual_vectors - expected_vectors).max() < 1e-4
    assert np.abs(actual_vectors - onnx_embedder.encode(texts)).max() < 1e-5
    for text, mine, theirs in zip(texts, actual, expected, strict=True):
        assert mine.ids.tolist() == theirs.ids.tolist(), text
        assert mine.vectors.dtype == np.float32 and mine.vectors.shape == (len(mine.ids), 384)
        assert np.abs(mine.vectors - theirs.vectors).max() < 1e-4, text
    # Special tokens are left out: "ok" is one word piece.
    assert len(actual[-2].ids) == 1


def test_long_text_is_truncated_like_sentence_transformers(core_embedder, onnx_embedder):
    long = " ".join(["Marketing owns the brand and sales owns the quota."] * 60)  # > 256 tokens
    assert np.abs(onnx_embedder.encode([long]) - core_embedder.encode([long])).max() < 1e-4


def test_onnx_knows_the_same_whole_words_as_the_torch_tokenizer(core_embedder, onnx_embedder):
    assert onnx_embedder.known_words() == core_embedder.known_words()
    assert onnx_embedder.dimension == core_embedder.dimension == 384


def test_eval_figures_are_the_same_with_onnx_and_torch(core_knowledge_dir, core_data_dir, tmp_path):
    # The parity sets as one file: one model load per backend. The report lists every missed
    # question, so equal reports mean the same outcome question by question.
    loaded = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in PARITY_SETS]
    merged = {
        part: [item for data in loaded for item in data.get(part, [])] for part in ("in_domain", "off_topic")
    }
    assert len(merged["in_domain"]) > 100 and len(merged["off_topic"]) > 40
    path = tmp_path / "parity.yaml"
    path.write_text(yaml.safe_dump(merged, allow_unicode=True), encoding="utf-8")
    env = clean_env(ADVISOR_KNOWLEDGE_DIR=str(core_knowledge_dir), ADVISOR_DATA_DIR=str(core_data_dir))
    reports = {}
    for backend in ("onnx", "torch"):
        result = invoke("eval", str(path), "--json", env={**env, "ADVISOR_BACKEND": backend})
        assert result.exit_code == 0, result.output
        reports[backend] = json.loads(result.stdout)
    rounded = {
        b: [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in reports[b]]
        for b in reports
    }
    assert rounded["onnx"][0]["misses"], "a set the advisor gets all right would not compare outcomes"
    assert rounded["onnx"] == rounded["torch"]


# --- backend choice and fallback -----------------------------------------------------------------


@pytest.fixture
def mini(tmp_path, core_mini_knowledge_dir, core_embedder):
    """Settings over the tiny knowledge with a freshly built index (export included)."""
    settings = Settings(knowledge_dir=core_mini_knowledge_dir, data_dir=tmp_path / "data")
    build_index(load_knowledge(core_mini_knowledge_dir), core_embedder, settings.index_dir)
    return settings, load_knowledge(core_mini_knowledge_dir)


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "bot.search.backend"
    ]


def test_the_model_threads_setting_reaches_the_onnx_session_and_torch(mini):
    import torch

    settings, knowledge = mini
    for threads in (1, 2):
        embedder, _index = load_model_and_index(settings.with_overrides(model_threads=threads), knowledge)
        assert isinstance(embedder, OnnxEmbedder)
        options = embedder.session.get_session_options()
        assert options.intra_op_num_threads == threads
        # Idle threads sleep: an answer's numpy work follows each run on the same cores.
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    before = torch.get_num_threads()
    try:
        for threads in (2, 1):
            load_model_and_index(settings.with_overrides(backend="torch", model_threads=threads), knowledge)
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def test_auto_serves_a_fresh_index_with_onnx_without_rebuilding(caplog, mini):
    settings, knowledge = mini
    before = read_manifest(settings.index_dir)
    embedder, index = load_model_and_index(settings, knowledge)
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.model_id == before.model_id
    assert index.manifest == before
    assert warnings_of(caplog) == []


def test_torch_backend_uses_sentence_transformers(mini):
    settings, knowledge = mini
    embedder, _ = load_model_and_index(settings.with_overrides(backend="torch"), knowledge)
    assert isinstance(embedder, TorchEmbedder) and embedder.backend == "torch"


@pytest.mark.parametrize(
    "name, damage",
    [
        ("model.onnx", "flip"),
        ("model.onnx", "truncate"),
        ("model.onnx", "delete"),
        ("model.onnx.data", "flip"),
        ("model.onnx.data", "delete"),
    ],
)
def test_a_corrupt_export_falls_back_to_torch_once_and_is_rebuilt(caplog, mini, name, damage):
    settings, knowledge = mini
    path = settings.index_dir / name
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        path.unlink()
    old_digest = read_manifest(settings.index_dir).files[name]
    embedder, index = load_model_and_index(settings, knowledge)
    assert isinstance(embedder, TorchEmbedder)  # this process fell back to torch
    messages = warnings_of(caplog)
    assert len(messages) == 1 and str(path) in messages[0], messages
    manifest = read_manifest(settings.index_dir)
    assert manifest.files[name] == old_digest  # the same export, written again
    assert index.manifest == manifest
    again, _ = load_model_and_index(settings, knowledge)  # the next start serves the new export
    assert isinstance(again, OnnxEmbedder)


def test_an_export_that_does_not_match_the_manifest_digest_is_rebuilt(mini):
    settings, knowledge = mini
    # The file is a valid export; the manifest expects another one.
    manifest_path = settings.index_dir / "manifest.json"
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    data["files"]["model.onnx"] = "0" * 64
    manifest_path.write_text(json.dumps(data), encoding="utf-8")
    embedder, index = load_model_and_index(settings, knowledge)
    assert isinstance(embedder, TorchEmbedder)
    assert index.manifest.files["model.onnx"] != "0" * 64
    assert isinstance(load_model_and_index(settings, knowledge)[0], OnnxEmbedder)


def test_an_index_stale_for_its_knowledge_is_rebuilt_on_its_onnx_export(caplog, mini):
    # The export is of the model, not of the knowledge (issue 24): a changed document is
    # embedded on it, without torch, and the rebuilt index carries the same export.
    settings, knowledge = mini
    before = read_manifest(settings.index_dir)
    article = settings.knowledge_dir / "mini.yaml"
    article.write_text(article.read_text(encoding="utf-8").replace("within a day", "within two days"))
    changed = load_knowledge(settings.knowledge_dir)
    with caplog.at_level(logging.INFO, logger="bot.search.backend"):
        embedder, index = load_model_and_index(settings, changed)
    assert isinstance(embedder, OnnxEmbedder)
    assert index.manifest.knowledge_hash == changed.content_hash
    assert index.manifest.onnx == before.onnx
    assert index.manifest.files["model.onnx"] == before.files["model.onnx"]
    assert any("the knowledge changed" in r.getMessage() and "ONNX" in r.getMessage() for r in caplog.records)
    # The rebuilt index serves as a fresh one, and the embedder answers from its new place.
    again, _ = load_model_and_index(settings, changed)
    assert isinstance(again, OnnxEmbedder) and embedder.export_path.is_file()


def test_an_index_without_an_export_serves_torch_with_auto_and_is_rebuilt_with_onnx(
    caplog, tmp_path, core_mini_knowledge_dir, core_embedder
):
    settings = Settings(knowledge_dir=core_mini_knowledge_dir, data_dir=tmp_path / "data")
    knowledge = load_knowledge(core_mini_knowledge_dir)
    # An embedder that cannot export (no model directory), as a custom hub model would be.
    unexportable = TorchEmbedder(model_id=core_embedder.model_id, model=core_embedder.model, location=None)
    build_index(knowledge, unexportable, settings.index_dir)
    manifest = read_manifest(settings.index_dir)
    assert manifest.onnx_file is None and "not a local directory" in manifest.onnx["unavailable"]
    assert not [name for name in manifest.files if name.startswith("model.onnx")]

    embedder, _ = load_model_and_index(settings, knowledge)
    assert isinstance(embedder, TorchEmbedder)
    assert "has no ONNX export" in warnings_of(caplog)[0]
    assert read_manifest(settings.index_dir) == manifest  # auto does not rebuild a fresh index

    embedder, index = load_model_and_index(settings.with_overrides(backend="onnx"), knowledge)
    assert isinstance(embedder, OnnxEmbedder)
    assert index.manifest.onnx_file == "model.onnx"


def test_onnx_without_an_export_or_torch_to_build_one_is_a_one_line_error(tmp_path, core_mini_knowledge_dir):
    env = clean_env(
        ADVISOR_KNOWLEDGE_DIR=str(core_mini_knowledge_dir),
        ADVISOR_DATA_DIR=str(tmp_path / "data"),
        ADVISOR_BACKEND="onnx",
    )
    result = run_without_torch(["ask", "who sets the quota?"], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: ADVISOR_BACKEND=onnx: no index at {tmp_path / 'data' / 'index'} (missing manifest.json),"
        " and sentence-transformers is not installed to rebuild it"
    ]


def test_an_unknown_backend_is_a_one_line_error(tmp_path):
    result = invoke("index", "info", env=clean_env(ADVISOR_BACKEND="tensorflow"))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: invalid setting backend from ADVISOR_BACKEND:"
        " must be one of auto, onnx, torch, not 'tensorflow'"
    )


# --- import hygiene (a real process each) --------------------------------------------------------

HEAVY = ("torch", "sentence_transformers", "transformers", "onnxruntime", "faiss")
# Make torch and sentence-transformers unimportable, as if they were not installed.
BLOCK_TORCH = (
    "import sys\nfor _m in ('torch', 'sentence_transformers', 'transformers'):\n    sys.modules[_m] = None\n"
)


def run_without_torch(args: list[str], env: dict) -> subprocess.CompletedProcess:
    code = BLOCK_TORCH + f"from bot.cli import main\nmain({args!r}, prog_name='advisor')\n"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def modules_report(path: Path) -> str:
    """Python that writes which heavy modules this process has imported to ``path``."""
    return (
        "def _report(*_a, **_k):\n"
        "    import json, sys\n"
        f"    open({str(path)!r}, 'w').write(json.dumps({{m: m in sys.modules and sys.modules[m] is not None"
        f" for m in {HEAVY!r}}}))\n"
    )


def run_reporting(args: list[str], env: dict, report: Path, patch: str = "", timeout: float = 300):
    """Run the CLI in a fresh process; ``patch`` decides when _report runs (default: at exit)."""
    code = modules_report(report) + (patch or "import atexit\natexit.register(_report)\n")
    code += f"from bot.cli import main\nmain({args!r}, prog_name='advisor')\n"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def bot_data(tmp_path, bundled_index) -> Path:
    data = tmp_path / "data"
    shutil.copytree(bundled_index, data / "index")
    return data


def test_ask_on_the_onnx_path_works_with_torch_not_installed(bot_data):
    result = run_without_torch(
        ["ask", "--json", "Who should set next year's sales quota?"],
        clean_env(ADVISOR_DATA_DIR=str(bot_data)),
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "answered" and answer["owner"] in ("sales", "marketing", "both")


def test_ask_on_the_onnx_path_never_imports_torch(tmp_path, bot_data):
    report = tmp_path / "modules.json"
    result = run_reporting(["ask", "who sets the quota?"], clean_env(ADVISOR_DATA_DIR=str(bot_data)), report)
    assert result.returncode == 0, result.stderr
    imported = json.loads(report.read_text())
    assert imported["onnxruntime"] and imported["faiss"]
    assert not imported["torch"] and not imported["sentence_transformers"] and not imported["transformers"]


def test_ask_with_torch_forced_imports_it(tmp_path, bot_data):
    report = tmp_path / "modules.json"
    env = clean_env(ADVISOR_DATA_DIR=str(bot_data), ADVISOR_BACKEND="torch")
    assert run_reporting(["ask", "who sets the quota?"], env, report).returncode == 0
    imported = json.loads(report.read_text())
    assert imported["torch"] and imported["sentence_transformers"] and not imported["onnxruntime"]


@pytest.mark.parametrize(
    "args",
    [["index", "info"], ["db", "upgrade"], ["tips", "list"], ["tips", "preview"]],
    ids=lambda a: " ".join(a),
)
def test_commands_that_answer_nothing_import_neither_model_nor_faiss(tmp_path, bot_data, args):
    report = tmp_path / "modules.json"
    result = run_reporting(args, clean_env(ADVISOR_DATA_DIR=str(bot_data)), report)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(report.read_text()) == dict.fromkeys(HEAVY, False)


def test_the_tips_worker_imports_neither_model_nor_faiss(tmp_path, bot_data, fake_slack):
    from tests.slack_harness import bot_env

    report = tmp_path / "modules.json"
    # The worker's loop is where it would sit until stopped: report there and return.
    patch = "import bot.tips.scheduler as _s\n_s.run_forever = _report\n"
    result = run_reporting(["tips", "worker"], bot_env(fake_slack.url, bot_data), report, patch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(report.read_text()) == dict.fromkeys(HEAVY, False)


def test_socket_mode_serving_never_imports_torch(tmp_path, bot_data, fake_slack):
    from tests.slack_harness import bot_env

    report = tmp_path / "modules.json"
    # Report once the model, index and scheduler are up, where Socket Mode would connect.
    patch = "import bot.slack.socket_mode as _sm\n_sm.SocketModeRunner.serve = _report\n"
    # The app token is checked first: Slack hands out a connection URL (never used here).
    fake_slack.answers["apps.connections.open"] = lambda body: {"ok": True, "url": "ws://127.0.0.1:9/"}
    env = bot_env(fake_slack.url, bot_data, SLACK_APP_TOKEN="xapp-test", ADVISOR_RUN_SCHEDULER="true")
    result = run_reporting(["serve", "--socket"], env, report, patch)
    assert result.returncode == 0, result.stdout + result.stderr
    imported = json.loads(report.read_text())
    assert imported["onnxruntime"] and imported["faiss"]
    assert not imported["torch"] and not imported["sentence_transformers"] and not imported["transformers"]


def test_http_serving_never_imports_torch_after_answering(tmp_path, bot_data, fake_slack):
    from tests.slack_harness import _READY, SlackSender, bot_env, event_body, mention

    report = tmp_path / "modules.json"
    # The worker reports as it shuts down (Runtime.close), after it has answered.
    patch = (
        "import bot.serve as _srv\n_close = _srv.Runtime.close\n"
        "def _closing(self):\n    _report()\n    _close(self)\n_srv.Runtime.close = _closing\n"
    )
    code = modules_report(report) + patch
    code += "from bot.cli import main\nmain(['serve', '--http', '--host', '127.0.0.1', '--port', '0'])\n"
    env = bot_env(fake_slack.url, bot_data, ADVISOR_RUN_SCHEDULER="true")
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        lines = []
        for line in process.stdout:
            lines.append(line)
            match = _READY.search(line)
            if match:
                url = f"http://{match.group(1)}:{match.group(2)}"
                break
        assert url, "".join(lines)
        reply = SlackSender(url).event(event_body(mention("who should set next year's sales quota?")))
        assert reply.status == 200
        assert fake_slack.wait_for("chat.postMessage", timeout=30)
    finally:
        process.terminate()
        process.wait(30)
    imported = json.loads(report.read_text())
    assert imported["onnxruntime"] and imported["faiss"]
    assert not imported["torch"] and not imported["sentence_transformers"] and not imported["transformers"]


def test_load_onnx_embedder_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load the ONNX model"):
        load_onnx_embedder(f"bundled@{BUNDLED_MODEL_SHA256[:16]}", resolve_model("bundled"), bad)


def test_an_export_that_misses_parity_is_not_kept(
    monkeypatch, tmp_path, core_mini_knowledge_dir, core_embedder
):
    import bot.search.onnx_embedder as onnx_embedding
    import bot.search.torch_embedder as embedding

    monkeypatch.setattr(onnx_embedding, "PARITY_TOLERANCE", 0.0)  # no export can be that close
    monkeypatch.setattr(embedding, "_EXPORTS", {})  # this process's export is made again
    fresh = TorchEmbedder(
        model_id=core_embedder.model_id, model=core_embedder.model, location=core_embedder.location
    )
    directory = tmp_path / "index"
    build_index(load_knowledge(core_mini_knowledge_dir), fresh, directory)
    manifest = read_manifest(directory)
    assert manifest.onnx_file is None
    assert "differs from sentence-transformers by" in manifest.onnx["unavailable"]
    assert not list(directory.glob("model.onnx*"))
    assert embedding._EXPORTS == {}, "a failed export is not kept for the next build"


def test_a_process_exports_a_model_once_however_many_indexes_it_builds(
    monkeypatch, tmp_path, core_mini_knowledge_dir, core_embedder
):
    import bot.search.onnx_embedder as onnx_embedding
    import bot.search.torch_embedder as embedding

    monkeypatch.setattr(embedding, "_EXPORTS", {})
    exports = []
    real = onnx_embedding.export_onnx
    monkeypatch.setattr(onnx_embedding, "export_onnx", lambda *a, **k: exports.append(a) or real(*a, **k))
    knowledge = load_knowledge(core_mini_knowledge_dir)
    for name in ("first", "second"):
        fresh = TorchEmbedder(
            model_id=core_embedder.model_id, model=core_embedder.model, location=core_embedder.location
        )
        build_index(knowledge, fresh, tmp_path / name)
    assert len(exports) == 1
    first, second = read_manifest(tmp_path / "first"), read_manifest(tmp_path / "second")
    assert first.onnx == second.onnx and first.onnx_file == "model.onnx"
    assert first.files["model.onnx.data"] == second.files["model.onnx.data"]


def test_only_mean_or_cls_pooling_is_read_as_onnx_ready(tmp_path):
    from bot.search.onnx_embedder import read_model_config

    source = resolve_model("bundled")
    model = tmp_path / "model"
    shutil.copytree(source, model, ignore=shutil.ignore_patterns("*.safetensors"))
    config = read_model_config(model)
    assert (config.pooling, config.normalize, config.max_seq_length, config.dimension) == (
        "mean",
        True,
        256,
        384,
    )
    pooling = model / "1_Pooling" / "config.json"
    data = json.loads(pooling.read_text())
    pooling.write_text(
        json.dumps({**data, "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True})
    )
    with pytest.raises(ModelError, match=r"cannot run on ONNX: pooling \['max_tokens'\]"):
        read_model_config(model)
