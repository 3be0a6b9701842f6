"""The layers read top-down: the import graph of bot/, read from the source (every import,
including those inside functions and under TYPE_CHECKING). Every module of bot/ is in a layer
(LAYERS), imports only its own layer and those below, is in no import circle, and is short
enough to read (MAX_LINES)."""

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
    "bot.search.candidates",
    "bot.search.corpus",
    "bot.search.digest",
    "bot.search.embedder",
    "bot.search.evaluation",
    "bot.search.fitting",
    "bot.search.onnx_embedder",
    "bot.search.quote",
    "bot.search.ranker",
    "bot.search.saved",
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


def import_statements(path: Path):
    """(the module or package imported from, the names taken from it) for each import of ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, tuple(alias.name for alias in node.names)


def is_bot(name: str) -> bool:
    return name == "bot" or name.startswith("bot.")


def imports_of(path: Path) -> set[str]:
    """Absolute names of the bot modules (and packages, and names in them) ``path`` imports."""
    found = set()
    for target, names in import_statements(path):
        found.add(target)
        found.update(f"{target}.{n}" for n in names)
    return {n for n in found if is_bot(n)}


def module_imports(path: Path, modules) -> set[str]:
    """The modules of bot/ whose code ``path`` runs by importing: ``from pkg import mod`` is
    an edge to pkg.mod (pkg's __init__ already runs as mod's parent), ``from pkg import name``
    an edge to pkg."""
    found = set()
    for target, names in import_statements(path):
        if not is_bot(target):
            continue
        submodules = {f"{target}.{n}" for n in names} & set(modules)
        if names and len(submodules) == len(names):
            found |= submodules
        else:
            found.add(target)
            found |= submodules
    return found


SOURCES = {module_name(p): p for p in BOT.rglob("*.py")}
GRAPH = {name: imports_of(path) for name, path in SOURCES.items()}
MODULE_GRAPH = {name: module_imports(path, SOURCES) for name, path in SOURCES.items()}


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


# --- every module in a layer -------------------------------------------------------------------

CORE, DOMAIN, SLACK, EDGE = range(4)
# A module's layer is that of the longest name here that is the module or a package above it
# ("bot" itself is only the package's own __init__). A module imports its own layer or lower.
LAYERS = {
    "bot": CORE,  # the package: its version, nothing else
    "bot.config": CORE,
    "bot.errors": CORE,
    "bot.filememo": CORE,
    "bot.text": CORE,
    "bot.spelling": CORE,
    "bot.logguard": CORE,  # secret scrubbing and repeat-holding for every log record
    "bot.httpguard": CORE,  # header timeouts and a connection cap for the servers (serve, Socket Mode)
    "bot.acceptguard": CORE,  # triage at accept: at the cap, unfinished request heads closed cheaply
    "bot.knowledge": CORE,  # the document model and one reader per format
    "bot.passages": CORE,
    "bot.search": CORE,  # the search pipeline: index files, embedders, signals, ranker, quote, verdict
    "bot.tips": DOMAIN,  # the tips domain: no Slack
    "bot.storage": DOMAIN,  # the store (it reads and writes the tips records)
    "bot.report": DOMAIN,  # the admin's report, from the store
    "bot.experts_report": DOMAIN,  # the experts' part of that report
    "bot.slack": SLACK,
    "bot.serve": EDGE,  # the composition root
    "bot.cli": EDGE,
    "bot.__main__": EDGE,
}
LAYER_NAMES = {CORE: "core", DOMAIN: "tips/storage", SLACK: "slack", EDGE: "serve/cli"}

MAX_LINES = 450


def layer_of(name: str) -> int | None:
    """The layer of a module (or of a name inside one), None if no entry covers it."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS and (prefix != "bot" or name == "bot"):
            return LAYERS[prefix]
    return None


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import in ``graph`` that points to a higher layer (or to no layer)."""
    found = []
    for module, imported in sorted(graph.items()):
        mine = layer_of(module)
        for name in sorted(imported):
            theirs = layer_of(name)
            if mine is None or theirs is None or theirs > mine:
                found.append(f"{module} ({LAYER_NAMES.get(mine)}) imports {name} ({LAYER_NAMES.get(theirs)})")
    return found


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan), over modules only."""
    edges = {m: sorted(n for n in imported if n in graph and n != m) for m, imported in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_of_bot_is_in_a_layer():
    assert len(GRAPH) > 50, "the whole tree was read"
    assert [m for m in sorted(GRAPH) if layer_of(m) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    assert upward(GRAPH) == []


def test_the_layer_check_catches_an_upward_import_and_an_unassigned_module():
    assert upward({"bot.search.advisor": {"bot.slack.blocks"}}) == [
        "bot.search.advisor (core) imports bot.slack.blocks (slack)"
    ]
    assert upward({"bot.storage.tips": {"bot.tips.records"}, "bot.slack.cards": {"bot.search.answers"}}) == []
    assert upward({"bot.newthing": {"bot.config"}}) == ["bot.newthing (None) imports bot.config (core)"]
    assert layer_of("bot") == CORE and layer_of("bot.nothing") is None


def test_bot_has_no_import_circle():
    found = circles(MODULE_GRAPH)
    assert found == [], "an import circle"


def test_the_circle_finder_finds_circles():
    graph = {"bot.a": {"bot.b"}, "bot.b": {"bot.c"}, "bot.c": {"bot.a", "bot.d"}, "bot.d": set()}
    assert circles(graph) == [{"bot.a", "bot.b", "bot.c"}]
    assert circles({"bot.a": {"bot.b"}, "bot.b": set()}) == []


def test_no_module_of_bot_is_over_450_lines():
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in SOURCES.items()}
    long = {name: n for name, n in sorted(lengths.items()) if n > MAX_LINES}
    assert long == {}
