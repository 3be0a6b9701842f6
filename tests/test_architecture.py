"""The layers read top-down: the import graph of bot/, read from the source (every import,
including those inside functions and under TYPE_CHECKING)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
CORE = [
    "bot.config",
    "bot.errors",
    "bot.filememo",
    "bot.knowledge",
    "bot.passages",
    "bot.search",
    "bot.search.advisor",
    "bot.search.answer",
    "bot.search.backend",
    "bot.search.boundary",
    "bot.search.corpus",
    "bot.search.digest",
    "bot.search.embedder",
    "bot.search.evaluation",
    "bot.search.fitting",
    "bot.search.onnx_embedder",
    "bot.search.quote",
    "bot.search.ranker",
    "bot.search.schema",
    "bot.search.signals",
    "bot.search.store",
    "bot.search.torch_embedder",
    "bot.search.verdict",
    "bot.text",
    "bot.spelling",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of the bot modules (and packages) that ``path`` imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {n for n in found if n == "bot" or n.startswith("bot.")}


GRAPH = {module_name(p): imports_of(p) for p in BOT.rglob("*.py") if "migrations" not in p.parts}


def reaches(imported: set[str], package: str) -> list[str]:
    return sorted(n for n in imported if n == package or n.startswith(package + "."))


def test_the_graph_was_read():
    assert "bot.slack.tips" in GRAPH and "bot.tips.scheduler" in GRAPH
    assert "bot.tips.poster" in GRAPH["bot.tips.scheduler"]
    assert "bot.tips.catalog" in GRAPH["bot.slack.tips"]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("bot.tips")))
def test_no_tips_module_imports_slack(module):
    assert reaches(GRAPH[module], "bot.slack") == []
    assert reaches(GRAPH[module], "bot.serve") == reaches(GRAPH[module], "bot.cli") == []


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import_none_of_slack_tips_or_storage(module):
    for package in ("bot.slack", "bot.tips", "bot.storage", "bot.serve", "bot.cli"):
        assert reaches(GRAPH[module], package) == [], f"{module} imports {package}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("bot.storage")))
def test_storage_imports_neither_slack_nor_the_composition(module):
    for package in ("bot.slack", "bot.serve", "bot.cli", "bot.tips.scheduler"):
        assert reaches(GRAPH[module], package) == []


def test_only_the_composition_root_and_the_cli_wire_the_scheduler_to_slack():
    wiring = sorted(
        m for m, imported in GRAPH.items() if reaches(imported, "bot.slack.tips") and m != "bot.slack"
    )
    assert set(wiring) <= {"bot.serve", "bot.cli.tips", "bot.slack.listeners.commands.tips"}
    assert "bot.serve" in wiring
