"""The search package's shape (no import circle, small modules, one table of index files, one
embedder type) and what a surface gets from it: a card built from one call into the core."""

from __future__ import annotations

import ast
import inspect
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.search.advisor import Advisor
from bot.search.embedder import Embedder
from bot.search.onnx_embedder import OnnxEmbedder
from bot.search.schema import FILES, files_markdown
from bot.search.signals import SIGNALS, Signals
from bot.search.torch_embedder import TorchEmbedder
from bot.slack.cards import Cards

ROOT = Path(__file__).resolve().parent.parent
SEARCH = ROOT / "bot" / "search"
REFUSED = "What's the weather in Paris?"
ANSWERED = "Who should set next year's sales quota?"


def search_imports(path: Path) -> set[str]:
    """The bot.search modules ``path`` imports (relative imports inside the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.search."):
            found.add(node.module.split(".")[2])
    return found


def test_no_import_circle_in_the_search_package():
    graph = {p.stem: search_imports(p) - {"__init__"} for p in SEARCH.glob("*.py") if p.stem != "__init__"}
    assert {"advisor", "signals", "store", "schema", "torch_embedder", "onnx_embedder"} <= set(graph)
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            assert state.get(other) != "open", f"import circle: {' -> '.join([*path, module, other])}"
            if other not in state:
                visit(other, [*path, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    # The backends know the embedder type, never each other's class (the ONNX export is called
    # by the torch one, one way).
    assert "torch_embedder" not in graph["onnx_embedder"]


@pytest.mark.parametrize("path", sorted(SEARCH.glob("*.py")), ids=lambda p: p.name)
def test_no_search_module_is_over_450_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 450


def test_the_index_files_page_comes_from_the_table():
    page = (ROOT / "docs" / "index-files.md").read_text(encoding="utf-8")
    assert page == files_markdown(), "regenerate: python -m bot.search.schema > docs/index-files.md"
    assert all(f"`{entry.name}`" in page for entry in FILES)


@pytest.mark.parametrize("backend", [TorchEmbedder, OnnxEmbedder])
def test_both_backends_implement_the_embedder_type(backend):
    members = {name for name in vars(Embedder) if not name.startswith("_")} | set(Embedder.__annotations__)
    assert members >= {"model_id", "backend", "dimension", "encode", "encode_tokens", "export_onnx"}
    fields = set(getattr(backend, "__dataclass_fields__", {}))
    missing = sorted(name for name in members if not hasattr(backend, name) and name not in fields)
    assert missing == []
    for name in members & {n for n in vars(Embedder) if callable(vars(Embedder)[n])}:
        expected = list(inspect.signature(getattr(Embedder, name)).parameters)
        assert list(inspect.signature(getattr(backend, name)).parameters) == expected, name


def test_every_signal_is_one_function_in_the_rankers_order(core_advisor):
    assert Signals.names() == tuple(SIGNALS)
    assert set(core_advisor.ranker.weights) <= set(SIGNALS)
    signals = core_advisor.signals(core_advisor.prepare(ANSWERED))
    assert signals.matrix().shape == (len(core_advisor.sentences), len(SIGNALS))


class Counting:
    """An Advisor whose public methods count the calls a surface makes into the core."""

    def __init__(self, advisor: Advisor):
        self.calls: list[str] = []
        for name in dir(Advisor):
            if name.startswith("_") or not callable(getattr(Advisor, name)):
                continue
            setattr(self, name, self._counted(name, getattr(advisor, name)))
        self.knowledge = advisor.knowledge

    def _counted(self, name, method):
        def call(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


@pytest.mark.parametrize("question", [ANSWERED, REFUSED, "<@U123>  "])
def test_a_card_is_built_from_one_call_into_the_core(core_advisor, question):
    counting = Counting(core_advisor)
    cards = Cards(counting)
    card, answer = cards.answered(question)
    assert counting.calls == ["ask"]
    expected, _ = Cards(core_advisor).answered(question)
    assert card == expected
    if answer.status == "not_covered":
        # The refusal's suggestions are the closest curated questions, offered as buttons.
        assert list(answer.suggestions) == core_advisor.closest_questions(question)
        assert all(s in json.dumps(card) for s in answer.suggestions)
    counting.calls.clear()
    cards.more(question, 1)
    assert counting.calls == ["ask"]


def test_an_answer_carries_each_hits_source(core_advisor):
    answer = core_advisor.ask(ANSWERED, k=3)
    document = core_advisor.knowledge.documents[0]
    assert answer.suggestions == ()
    for hit in answer.hits:
        assert hit.document_title == document.title
        assert hit.source == document.source


def test_the_advisor_answers_from_several_threads_as_from_one(core_advisor):
    questions = [
        ANSWERED,
        REFUSED,
        "who owns lead generation?",
        "which matters more, strategy or execution?",
    ] * 3
    alone = [core_advisor.ask(q).to_dict() for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: core_advisor.ask(q).to_dict(), questions))
    assert together == alone
