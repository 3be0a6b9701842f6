"""The ``advisor`` CLI: the JSON contract (single and stdin batch), index and eval commands, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR, REPO_ROOT
from bot.search.store import read_manifest
from tests.helpers import clean_env, invoke

QUOTA = "Who should set next year's sales quota?"
WEATHER = "What's the weather in Paris?"
EFFICIENCY = "Which is more important between efficiency and stability?"
RAW_ARTICLE = yaml.safe_load((DEFAULT_KNOWLEDGE_DIR / "article.yaml").read_text(encoding="utf-8"))
HEADINGS = {s["heading"] for s in RAW_ARTICLE["sections"]}
SECTION_TEXTS = {
    s["heading"]: [s["takeaway"]] + [p if isinstance(p, str) else p["text"] for p in s["paragraphs"]]
    for s in RAW_ARTICLE["sections"]
}


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def core_env(core_knowledge_dir, core_data_dir) -> dict[str, str]:
    return clean_env(ADVISOR_KNOWLEDGE_DIR=str(core_knowledge_dir), ADVISOR_DATA_DIR=str(core_data_dir))


def check_passage(item: dict) -> None:
    # The article's passages name their document and file; a playbook's add "parent" and "line".
    assert set(item) == {"id", "section", "text", "quote", "score", "document", "file"}
    assert item["file"] == "article.yaml"
    assert isinstance(item["id"], str) and item["id"]
    assert item["section"] in HEADINGS
    assert any(item["text"] in source for source in SECTION_TEXTS[item["section"]])
    assert isinstance(item["quote"], str) and item["quote"]
    assert item["quote"] in item["text"]
    assert type(item["score"]) is float


def check_object(obj: dict, question: str) -> None:
    assert set(obj) == {
        "question",
        "status",
        "owner",
        "language",
        "stance",
        "stance_quote",
        "stance_condition",
        "passages",
    }
    assert obj["question"] == question
    assert obj["status"] in ("answered", "low_confidence", "not_covered")
    if obj["status"] == "not_covered":
        assert obj["owner"] is None and obj["stance"] is None
    else:
        assert obj["owner"] in ("sales", "marketing", "both", None)
        assert obj["stance"] in ("backs", "warns", "depends", None)
    assert isinstance(obj["passages"], list)
    for item in obj["passages"]:
        check_passage(item)


# --- ask --json: exactly one object (a real process: nothing else may reach its stdout) --------


@pytest.fixture(scope="module")
def single(core_env, core_data_dir):
    built_at = read_manifest(core_data_dir / "index").built_at
    result = run_cli("ask", "--json", QUOTA, env=core_env)
    assert read_manifest(core_data_dir / "index").built_at == built_at, "the prebuilt index was reused"
    return result


def test_ask_json_prints_exactly_one_object(single):
    assert single.returncode == 0, single.stderr
    lines = single.stdout.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    check_object(obj, QUOTA)


def test_ask_json_answers_the_quota_question(single, core_data_dir):
    obj = json.loads(single.stdout)
    assert obj["status"] == "answered"
    assert obj["owner"] == "marketing"
    assert len(obj["passages"]) == 3
    top = obj["passages"][0]
    assert top["section"] == EFFICIENCY
    assert "final say on the sales quota" in top["quote"]
    ids = {json.loads(line)["id"] for line in (core_data_dir / "index" / "passages.jsonl").open()}
    assert {p["id"] for p in obj["passages"]} <= ids
    scores = [p["score"] for p in obj["passages"]]
    assert scores == sorted(scores, reverse=True)


# --- ask --json with stdin: one object per line, in order --------------------------------------


@pytest.fixture(scope="module")
def batch(core_env):
    return invoke("ask", "--json", "-k", "2", env=core_env, stdin=f"{QUOTA}\n\n{WEATHER}\r\n")


def test_stdin_batch_answers_each_line_in_order(batch):
    assert batch.exit_code == 0, batch.stderr
    lines = batch.stdout.splitlines()
    assert len(lines) == 3
    objects = [json.loads(line) for line in lines]
    for obj, question in zip(objects, [QUOTA, "", WEATHER], strict=True):
        check_object(obj, question)
    quota, blank, weather = objects
    assert quota["status"] == "answered" and quota["owner"] == "marketing"
    assert quota["passages"][0]["section"] == EFFICIENCY
    assert blank == {
        "question": "",
        "status": "not_covered",
        "owner": None,
        "language": "en",
        "stance": None,
        "stance_quote": None,
        "stance_condition": None,
        "passages": [],
    }
    assert weather["status"] == "not_covered" and weather["owner"] is None


def test_k_sets_the_number_of_passages(batch):
    quota, _blank, weather = (json.loads(line) for line in batch.stdout.splitlines())
    assert len(quota["passages"]) == 2
    assert len(weather["passages"]) == 2


def test_ask_without_a_question_or_json_is_a_usage_error(core_env):
    result = invoke("ask", env=core_env)
    assert result.exit_code == 2
    assert "give a QUESTION" in result.output


def test_ask_prints_a_readable_answer(core_env):
    result = invoke("ask", QUOTA, env=core_env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"Q: {QUOTA}\n")
    assert "Verdict: Marketing (per the article)" in out
    assert "final say on the sales" in out
    assert f"section “{EFFICIENCY}”" in out
    assert "Global Sources, 2023-12-01, crediting CEConline" in out
    assert "Confidence: answered" in out
    assert "More passages:" in out


def test_ask_says_when_the_article_does_not_cover_it(core_env):
    result = invoke("ask", WEATHER, env=core_env)
    assert result.exit_code == 0, result.output
    assert "The article does not cover this" in result.stdout
    assert "Verdict" not in result.stdout


# --- errors are one line, never a traceback ------------------------------------------------------


def test_broken_knowledge_dir_gives_a_one_line_error(tmp_path, core_data_dir):
    text = (DEFAULT_KNOWLEDGE_DIR / "article.yaml").read_text(encoding="utf-8")
    old = "  heading: Which is more important today or tomorrow?"
    line = text[: text.index(old)].count("\n") + 1
    (tmp_path / "article.yaml").write_text(
        text.replace(old, old.replace("heading", "headng")), encoding="utf-8"
    )
    env = clean_env(ADVISOR_KNOWLEDGE_DIR=str(tmp_path), ADVISOR_DATA_DIR=str(tmp_path / "data"))
    for args in (("ask", QUOTA), ("ask", "--json", QUOTA)):
        result = invoke(*args, env=env)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.stderr.splitlines() == [
            f"Error: {tmp_path / 'article.yaml'}:{line}: sections[1].headng: unknown field "
            "(did you mean 'heading'?)"
        ]
    assert not (tmp_path / "data").exists()


def test_yaml_syntax_error_through_the_cli(tmp_path):
    (tmp_path / "playbook.yaml").write_text("kind: article\nid: x\ntitle: [unclosed\n", encoding="utf-8")
    result = invoke("ask", QUOTA, env={"ADVISOR_KNOWLEDGE_DIR": str(tmp_path)})
    assert result.exit_code == 1
    (message,) = result.stderr.splitlines()
    assert re.match(rf"^Error: {re.escape(str(tmp_path / 'playbook.yaml'))}:\d+: invalid YAML", message)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_setting_is_a_one_line_error(core_env):
    result = invoke("ask", QUOTA, env={**core_env, "ADVISOR_TOP_K": "many"})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: invalid setting top_k from ADVISOR_TOP_K: invalid literal for int() with base 10: 'many'"
    ]


# --- index build / info ----------------------------------------------------------------------------


def test_index_build_and_info(tmp_path, core_mini_knowledge_dir):
    env = {"ADVISOR_KNOWLEDGE_DIR": str(core_mini_knowledge_dir), "ADVISOR_DATA_DIR": str(tmp_path / "data")}
    index_dir = tmp_path / "data" / "index"

    missing = invoke("index", "info", env=env)
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        f"Error: no index at {index_dir} (missing manifest.json); run: advisor index build"
    ]

    built = invoke("index", "build", env=env)
    assert built.exit_code == 0, built.output
    manifest = read_manifest(index_dir)
    match = re.fullmatch(
        r"built (\d+) passages \((\d+) sentences, (\d+) keys\) in ([\d.]+)s at (.+)\n"
        r"ONNX export: model.onnx \(torch.onnx \S+ opset \d+; parity max abs diff (\S+) on 10 sentences\)\n",
        built.stdout,
    )
    assert match, built.stdout
    assert float(match.group(6)) < 1e-4
    assert manifest.onnx_file == "model.onnx" and "model.onnx" in manifest.files
    assert [int(g) for g in match.groups()[:3]] == [
        manifest.passage_count,
        manifest.sentence_count,
        manifest.key_count,
    ]
    assert match.group(5) == str(index_dir)

    info = invoke("index", "info", env=env)
    assert info.exit_code == 0, info.output
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in info.stdout.splitlines())
    assert fields["model_id"] == manifest.model_id
    assert fields["dimension"] == "384"
    assert fields["knowledge_hash"] == manifest.knowledge_hash
    assert fields["passage_count"] == str(manifest.passage_count)
    assert fields["built_at"] == manifest.built_at
    assert fields["directory"] == str(index_dir)
    assert fields["state"] == "fresh"

    article = core_mini_knowledge_dir / "mini.yaml"
    article.write_text(article.read_text(encoding="utf-8").replace("once a year", "twice a year"))
    stale = invoke("index", "info", env=env)
    assert stale.exit_code == 0
    assert re.search(r"^state\s+stale: the knowledge changed$", stale.stdout, re.M)

    rebuilt = invoke("index", "build", env=env)
    assert rebuilt.exit_code == 0
    assert read_manifest(index_dir).built_at >= manifest.built_at
    assert read_manifest(index_dir).knowledge_hash != manifest.knowledge_hash
    assert re.search(r"^state\s+fresh$", invoke("index", "info", env=env).stdout, re.M)


def test_index_info_reports_a_model_change_as_stale(tmp_path, core_mini_knowledge_dir):
    env = {"ADVISOR_KNOWLEDGE_DIR": str(core_mini_knowledge_dir), "ADVISOR_DATA_DIR": str(tmp_path / "data")}
    assert invoke("index", "build", env=env).exit_code == 0
    assert re.search(r"^state\s+fresh$", invoke("index", "info", env=env).stdout, re.M)
    other = {**env, "ADVISOR_MODEL": "sentence-transformers/all-MiniLM-L6-v2", "ADVISOR_MODEL_SHA256": "off"}
    info = invoke("index", "info", env=other)
    assert info.exit_code == 0, info.output
    assert re.search(r"^state\s+stale: the model changed", info.stdout, re.M), info.stdout


# --- eval -------------------------------------------------------------------------------------


REPORT = re.compile(
    r"^(?P<name>\S+)\s+n=(?P<n>\d+)\+(?P<m>\d+)\s+hit@1\s+(?P<hit1>[\d.]+)\s+hit@3\s+(?P<hit3>[\d.]+)\s+"
    r"MRR\s+(?P<mrr>[\d.]+)\s+answered\s+(?P<answered>[\d.]+|n/a)\s+replied\s+(?P<replied>[\d.]+|n/a)\s+"
    r"refused\(off-topic\)\s+(?P<refused>[\d.]+|n/a)\s+quote\s+(?P<quote>[\d.]+|n/a)\s+"
    r"refused\(near-miss, n=(?P<near_n>\d+)\)\s+(?P<near>[\d.]+|n/a)$"
)

SMALL_SET = f"""\
in_domain:
  - question: "{QUOTA}"
    sections: ["{EFFICIENCY}"]
    quote_has: ["who has the final say on the sales quota"]
  - question: "whose job is it to keep healthy cash flow coming in?"
    sections: ["Which is more important today or tomorrow?"]
  - question: "who should run our trade shows and the advertising?"
    sections: ['Which is more important, "Army" or "Air Force"?']
  - question: "who should do the competitor analysis and market research?"
    sections: ['Which is more important "front stage" or "behind the scenes"?']
off_topic:
  - "{WEATHER}"
  - question: "How do I reset my password?"
    near_miss: false
"""


def test_eval_prints_hit_rates_and_answer_and_refusal_rates(tmp_path, core_env):
    questions = tmp_path / "small.yaml"
    questions.write_text(SMALL_SET, encoding="utf-8")
    result = invoke("eval", str(questions), env=core_env)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    report = REPORT.match(line)
    assert report, line
    assert report["name"] == "advisor"
    assert (report["n"], report["m"]) == ("4", "2")
    for key in ("hit1", "hit3", "mrr", "answered", "replied", "refused", "quote"):
        assert float(report[key]) == 1.0, (key, line)
    assert (report["near_n"], report["near"]) == ("0", "n/a"), "no item is marked as a near miss"


def test_eval_scores_quotes_and_near_miss_refusals(tmp_path, core_env):
    questions = tmp_path / "quotes.yaml"
    questions.write_text(
        f"""\
in_domain:
  - question: "{QUOTA}"
    sections: ["{EFFICIENCY}"]
    quote_has: ["who has the final say on the sales quota"]
  - question: "{QUOTA}"
    sections: ["{EFFICIENCY}"]
    quote_has: ["efficiency must be the priority during the survival period"]
off_topic:
  - question: "What is the right weather for a picnic?"
  - question: "{WEATHER}"
    near_miss: true
""",
        encoding="utf-8",
    )
    result = invoke("eval", str(questions), "--json", env=core_env)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["quote_precision"] == 0.5, "the second item's phrase is not in the quota quote"
    assert report["n_near_miss"] == 1 and report["near_miss_refusal"] == 1.0
    (miss,) = [m for m in report["misses"] if "quote_has" in m]
    assert miss["quote_has"] == ["efficiency must be the priority during the survival period"]


def test_eval_rejects_a_quote_phrase_that_is_not_in_the_knowledge(tmp_path, core_env):
    questions = tmp_path / "bad-phrase.yaml"
    questions.write_text(SMALL_SET.replace("who has the final say on the sales quota", "who sets quotas"))
    result = invoke("eval", str(questions), env=core_env)
    assert result.exit_code == 1
    (message,) = result.stderr.splitlines()
    assert message == f"Error: {questions}:4: in_domain[0].quote_has[0]: not found verbatim in the knowledge"


def test_eval_of_the_bundled_question_set(core_env):
    """The whole set, scored by the plain BM25 baseline (fast) to check the file and the report."""
    path = REPO_ROOT / "tests" / "data" / "questions.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    result = invoke("eval", str(path), "--baseline", "bm25", env=core_env)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    report = REPORT.match(line)
    assert report, line
    assert report["name"] == "bm25"
    assert (int(report["n"]), int(report["m"])) == (len(data["in_domain"]), len(data["off_topic"]))
    assert int(report["n"]) >= 60 and int(report["m"]) >= 15
    assert 0.0 < float(report["hit1"]) <= float(report["hit3"]) <= 1.0
    assert report["answered"] == report["refused"] == report["quote"] == "n/a"


def test_eval_json_reports(tmp_path, core_env):
    questions = tmp_path / "small.yaml"
    questions.write_text(SMALL_SET, encoding="utf-8")
    result = invoke("eval", str(questions), "--json", env=core_env)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["name"] == "advisor"
    assert report["n_in_domain"] == 4 and report["n_off_topic"] == 2
    assert report["hit1"] == report["refusal_rate"] == 1.0
    assert report["misses"] == []


def test_eval_with_an_unknown_section_names_the_file_and_line(tmp_path, core_env):
    questions = tmp_path / "bad.yaml"
    questions.write_text(
        SMALL_SET.replace(
            'sections: [\'Which is more important, "Army" or "Air Force"?\']',
            "sections: ['Which is more important, legs or arms?']",
        ),
        encoding="utf-8",
    )
    line = (
        questions.read_text(encoding="utf-8")
        .splitlines()
        .index("    sections: ['Which is more important, legs or arms?']")
        + 1
    )
    result = invoke("eval", str(questions), env=core_env)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {questions}:{line}: in_domain[2].sections[0]: no section is headed "
        "'Which is more important, legs or arms?'"
    ]


def test_eval_with_a_misspelled_field_names_it(tmp_path, core_env):
    questions = tmp_path / "typo.yaml"
    questions.write_text(SMALL_SET.replace("off_topic:", "off_topics:"), encoding="utf-8")
    result = invoke("eval", str(questions), env=core_env)
    assert result.exit_code == 1
    (message,) = result.stderr.splitlines()
    assert message.startswith(f"Error: {questions}:")
    assert "off_topics: unknown field (did you mean 'off_topic'?)" in message


def test_python_dash_m_bot_and_the_advisor_script_are_the_same_cli():
    script = Path(sys.executable).parent / "advisor"
    assert script.is_file()
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=120, env=clean_env()
    )
    assert result.returncode == 0
    for command in ("ask", "index", "eval"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M)
