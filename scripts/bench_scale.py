"""Knowledge at company scale (issue 29): generated playbooks beside the article, in one run.

    .venv/bin/python scripts/bench_scale.py --generate-only --passages N --out DIR
    .venv/bin/python scripts/bench_scale.py [--sizes 1000,10000] [--with-100k] [--json FILE]
        [--keep-knowledge DIR --keep-data DIR] [--quality]
    .venv/bin/python scripts/bench_scale.py --report RUN.json [RUN.json ...]
    .venv/bin/python scripts/bench_scale.py --quality-only --knowledge DIR --data DIR [--article-data DIR]

``--generate-only`` writes a copy of knowledge/ (the article, its scope, glossary and
translations) with N passages of generated uncurated Markdown playbooks beside it
(scripts/scale_playbooks.py: seeded, so the same N gives the same files).

A run measures the article alone, then each size (N generated passages beside the article),
each in a temporary directory of its own, one after another:

- ``advisor index build``: wall and CPU seconds (the child's rusage), peak memory of the
  process tree (bench_knowledge.run: every process's RSS summed, sampled every 20 ms, or the
  root's VmHWM), and the data directory's size on disk afterwards
- the first ``advisor ask`` after the build (untimed in the columns: it may fill caches), then
  ``--runs`` cold starts of ``advisor ask`` (median wall, largest peak of the tree)
- warm answers in this process (``Advisor.ask`` over ``--questions`` questions cycled from the
  article's tuning sets, bench_core.questions): p50 and p99
- ``advisor serve --http`` answering ``--mentions`` mentions through the fake Slack
  (bench_core.serve_run): the serving tree's peak RSS (VmHWM summed) and PSS
- ``advisor knowledge add`` of one generated 2,000-word Markdown playbook into a copy of the
  built state: wall and peak of the tree

Then a Markdown table, each size's ratio to the article alone (x article), and the exponent of
each column across the generated sizes (the log-log slope of the figure against the passage
count) when there are two sizes or more. The multilingual model is off unless
``--multilingual``: its vectors of every sentence would be one more build, and the English
figures are what the issue's bars are about.

``--quality`` (or ``--quality-only`` on a built knowledge/data pair) scores the article's sets
(scripts/eval_sets.py's list, English) with the generated passages beside the article, next
to the article alone: hit@1, quote precision and replied (the issue's bar: within 0.01).

``--report`` prints the table of one or more ``--json`` files (runs made apart, e.g. the sizes
run side by side on a busy machine: each size against its own run's article alone).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import scale_playbooks  # scripts/ is on the path when a script runs
from bench_core import percentile, questions, serve_run
from bench_knowledge import QUESTION, run

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
sys.path.insert(0, str(ROOT))  # tests.fake_slack, for serve_run
ADD_WORDS = 2000
# (label, key, unit, format) of each column, in the table's order.
COLUMNS = [
    ("build wall", "build_s", "s", "{:.0f}"),
    ("build CPU", "build_cpu_s", "s", "{:.0f}"),
    ("build peak", "build_peak_mb", "MB", "{:.0f}"),
    ("disk", "disk_mb", "MB", "{:.0f}"),
    ("cold start", "cold_s", "s", "{:.2f}"),
    ("ask peak", "ask_peak_mb", "MB", "{:.0f}"),
    ("answer p50", "p50_ms", "ms", "{:.1f}"),
    ("answer p99", "p99_ms", "ms", "{:.1f}"),
    ("serve tree RSS", "serve_peak_mb", "MB", "{:.0f}"),
    ("add 2,000 words", "add_s", "s", "{:.1f}"),
]
# Figures beside the table, one line a size.
MORE = [
    ("first ask after the build", "first_ask_s", "s", "{:.1f}"),
    ("serve to healthy", "serve_healthy_s", "s", "{:.1f}"),
    ("serve tree PSS", "serve_pss_mb", "MB", "{:.0f}"),
    ("add peak", "add_peak_mb", "MB", "{:.0f}"),
]


def knowledge_copy(passages: int, out: Path, seed: int = 29) -> list[Path]:
    """knowledge/ copied to ``out`` with ``passages`` generated passages beside the article;
    the generated files."""
    out.mkdir(parents=True, exist_ok=True)
    for path in KNOWLEDGE.iterdir():
        if path.is_file():
            shutil.copy(path, out / path.name)
    return scale_playbooks.generate(passages, out, seed=seed) if passages else []


def _env(knowledge: Path, data: Path, multilingual: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "SLACK_"))}
    env.update(
        ADVISOR_KNOWLEDGE_DIR=str(knowledge),
        ADVISOR_DATA_DIR=str(data),
        ADVISOR_MULTILINGUAL="on" if multilingual else "off",
        ADVISOR_LOG_LEVEL="WARNING",
    )
    return env


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _disk_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1e6


def _passage_count(knowledge: Path) -> int:
    from bot.knowledge import load_knowledge
    from bot.passages import split_knowledge

    return len(split_knowledge(load_knowledge(knowledge)))


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(generated: int, knowledge: Path, data: Path, add_file: Path, args) -> dict:
    """Every figure of one knowledge directory (see the module's docstring)."""
    from bot.config import Settings
    from bot.search.advisor import Advisor

    env = _env(knowledge, data, args.multilingual)
    figures: dict = {"generated": generated, "passages": _passage_count(knowledge)}
    _log(f"{generated} generated ({figures['passages']} passages): index build")
    cpu = _cpu_children()
    figures["build_s"], figures["build_peak_mb"] = run(["index", "build"], env)
    figures["build_cpu_s"] = _cpu_children() - cpu
    figures["disk_mb"] = _disk_mb(data)
    _log(f"built in {figures['build_s']:.0f} s; cold starts")
    figures["first_ask_s"], _peak = run(["ask", QUESTION], env)
    colds = [run(["ask", QUESTION], env) for _ in range(args.runs)]
    figures["cold_runs_s"] = [c[0] for c in colds]
    figures["cold_s"] = statistics.median(figures["cold_runs_s"])
    figures["ask_peak_mb"] = max(c[1] for c in colds)

    _log("warm answers")
    settings = Settings(knowledge_dir=knowledge, data_dir=data, multilingual=args.multilingual)
    advisor = Advisor.load(settings)
    asked = questions(args.questions)
    for q in asked[:20]:  # warm-up
        advisor.ask(q)
    times = []
    for q in asked:
        started = time.perf_counter()
        advisor.ask(q)
        times.append(time.perf_counter() - started)
    figures["p50_ms"] = percentile(times, 50) * 1000
    figures["p99_ms"] = percentile(times, 99) * 1000
    del advisor
    gc.collect()

    _log("serve --http")
    served = serve_run("onnx", data, args.mentions, multilingual=args.multilingual, knowledge_dir=knowledge)
    figures["serve_peak_mb"], figures["serve_pss_mb"] = served["peak"], served["pss"]
    figures["serve_healthy_s"] = served["healthy"]

    _log("knowledge add")
    adds = []
    for _ in range(args.add_runs):
        with tempfile.TemporaryDirectory(prefix="bench-scale-add-", dir=args.tmp) as tmp:
            state = Path(tmp)
            shutil.copytree(knowledge, state / "knowledge")
            shutil.copytree(data, state / "data")
            adds.append(
                run(
                    ["knowledge", "add", str(add_file)],
                    _env(state / "knowledge", state / "data", args.multilingual),
                )
            )
    figures["add_runs_s"] = [a[0] for a in adds]
    figures["add_s"] = statistics.median(figures["add_runs_s"])
    figures["add_peak_mb"] = max(a[1] for a in adds)
    figures["add_over_cold"] = figures["add_s"] / figures["cold_s"]
    _log(f"done: {json.dumps({k: v for k, v in figures.items() if not k.endswith('runs_s')})}")
    return figures


def exponent(rows: list[dict], key: str) -> float | None:
    """The least-squares slope of log(figure) against log(passages) over ``rows``."""
    points = [(math.log(r["passages"]), math.log(r[key])) for r in rows if r.get(key, 0) > 0]
    if len(points) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else None


def table(runs: list[tuple[dict, list[dict]]]) -> list[str]:
    """The figures of one run or more (each its article alone and its sizes): every size's
    ratio is to the article alone of its own run; the exponents are fitted over all sizes."""
    head = ["passages (generated)"] + [f"{label}" for label, *_ in COLUMNS] + ["add / cold"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    tag = (lambda i: f", run {i + 1}") if len(runs) > 1 else (lambda i: "")

    def cells(row: dict, i: int) -> list[str]:
        out = [f"{row['passages']:,} ({row['generated']:,}){tag(i)}"]
        out += [f"{fmt.format(row[key])} {unit}" for _label, key, unit, fmt in COLUMNS]
        return out + [f"{row['add_over_cold']:.2f}x"]

    for i, (article, sizes) in enumerate(runs):
        for row in [article, *sizes]:
            lines.append("| " + " | ".join(cells(row, i)) + " |")
    for i, (article, sizes) in enumerate(runs):
        for row in sizes:
            ratios = [f"{row[k] / article[k]:.2f}x" if article[k] else "n/a" for _l, k, _u, _f in COLUMNS]
            lines.append(f"| x article, {row['generated']:,}{tag(i)} | " + " | ".join(ratios) + " | |")
    every = sorted((row for _article, sizes in runs for row in sizes), key=lambda row: row["passages"])
    if len(every) >= 2:
        slopes = [exponent(every, key) for _l, key, _u, _f in COLUMNS]
        cells_ = ["n/a" if s is None else f"{s:.2f}" for s in slopes]
        lines.append("| exponent (log-log slope) | " + " | ".join(cells_) + " | |")
    lines.append("")
    for i, (article, sizes) in enumerate(runs):
        for row in [article, *sizes]:
            more = ", ".join(f"{label} {fmt.format(row[key])} {unit}" for label, key, unit, fmt in MORE)
            colds = ", ".join(f"{x:.2f}" for x in row["cold_runs_s"])
            lines.append(f"- {row['passages']:,} passages{tag(i)}: {more}; cold start runs {colds} s")
    return lines


def quality(knowledge: Path, data: Path, article_data: Path) -> list[str]:
    """The article's sets with the generated passages beside the article, against the article alone."""
    from eval_sets import ARTICLE_SETS, DATA

    from bot.config import Settings
    from bot.search.advisor import Advisor
    from bot.search.evaluation import advisor_ranker, evaluate, load_eval_set

    alone = Advisor.load(Settings(data_dir=article_data, multilingual=False))
    scaled = Advisor.load(Settings(knowledge_dir=knowledge, data_dir=data, multilingual=False))
    n = _passage_count(knowledge) - _passage_count(KNOWLEDGE)
    lines = [
        f"| set | hit@1 article | hit@1 +{n:,} | quote article | quote +{n:,} | replied article"
        f" | replied +{n:,} | largest move |",
        "|---|---|---|---|---|---|---|---|",
    ]
    worst = 0.0
    for name in ARTICLE_SETS:
        a = evaluate("advisor", advisor_ranker(alone), load_eval_set(DATA / name, alone.knowledge))
        s = evaluate("advisor", advisor_ranker(scaled), load_eval_set(DATA / name, scaled.knowledge))
        pairs = [(a.hit1, s.hit1), (a.quote_precision, s.quote_precision), (a.reply_rate, s.reply_rate)]
        moves = [abs(x - y) for x, y in pairs if x is not None and y is not None]
        worst = max([worst, *moves])
        fmt = [("n/a" if v is None else f"{v:.3f}") for pair in pairs for v in pair]
        lines.append(f"| {name} | " + " | ".join(fmt) + f" | {max(moves, default=0):.3f} |")
        _log(lines[-1])
    lines.append(f"largest move on any set and figure: {worst:.3f} (the issue's bar: <= 0.01)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate-only", action="store_true", help="write the knowledge copy and stop")
    parser.add_argument("--passages", type=int, default=1000, help="with --generate-only")
    parser.add_argument("--out", type=Path, help="with --generate-only: the knowledge directory to write")
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--sizes", default="1000,10000", help="generated passages, comma-separated")
    parser.add_argument("--with-100k", action="store_true", help="add 100,000 (may take hours)")
    parser.add_argument("--runs", type=int, default=3, help="cold starts a size")
    parser.add_argument("--add-runs", type=int, default=1, help="knowledge adds a size")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--mentions", type=int, default=40)
    parser.add_argument("--multilingual", action="store_true", help="the multilingual model on")
    parser.add_argument("--keep-knowledge", type=Path, help="keep the largest size's knowledge here")
    parser.add_argument("--keep-data", type=Path, help="keep the largest size's data directory here")
    parser.add_argument(
        "--quality", action="store_true", help="score the article's sets beside the largest size"
    )
    parser.add_argument("--quality-only", action="store_true", help="only --quality, on --knowledge/--data")
    parser.add_argument("--knowledge", type=Path, help="with --quality-only")
    parser.add_argument("--data", type=Path, help="with --quality-only")
    parser.add_argument(
        "--article-data",
        type=Path,
        help="with --quality-only: the article alone's data directory (else built)",
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--report", type=Path, nargs="+", help="print the table of these --json files")
    parser.add_argument("--tmp", type=Path, default=None, help="where the temporary directories go")
    args = parser.parse_args()
    if args.generate_only:
        if args.out is None:
            parser.error("--generate-only needs --out DIR")
        files = knowledge_copy(args.passages, args.out, seed=args.seed)
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in files)
        print(f"{args.out}: {len(files)} playbooks, {args.passages} passages, {words} words", file=sys.stderr)
        return
    if args.report:
        loaded = [json.loads(path.read_text(encoding="utf-8")) for path in args.report]
        print("\n".join(table([(run["article"], run["sizes"]) for run in loaded])))
        return
    if args.quality_only:
        if not (args.knowledge and args.data):
            parser.error("--quality-only needs --knowledge DIR and --data DIR")
        with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.tmp) as tmp:
            article_data = args.article_data or Path(tmp) / "article-data"
            print("\n".join(quality(args.knowledge, args.data, article_data)), flush=True)
        return

    sizes = sorted({int(s) for s in args.sizes.split(",") if s} | ({100_000} if args.with_100k else set()))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.tmp) as tmp:
        base = Path(tmp)
        add_file = scale_playbooks.one_document(ADD_WORDS, base)
        add_words = len(add_file.read_text(encoding="utf-8").split())
        knowledge_copy(0, base / "article" / "knowledge")
        article = measure(0, base / "article" / "knowledge", base / "article" / "data", add_file, args)
        rows = []
        # The largest first: on a busy machine it is the figure most worth having if time runs out.
        for size in reversed(sizes):
            keep = size == sizes[-1] and args.keep_knowledge and args.keep_data
            knowledge = args.keep_knowledge if keep else base / str(size) / "knowledge"
            data = args.keep_data if keep else base / str(size) / "data"
            for directory in (knowledge, data):
                if directory.exists():
                    shutil.rmtree(directory)
            knowledge_copy(size, knowledge, seed=args.seed)
            rows.append(measure(size, knowledge, data, add_file, args))
            if args.json:  # after each size: a long run stopped early keeps what it measured
                args.json.write_text(
                    json.dumps({"article": article, "sizes": rows}, indent=2), encoding="utf-8"
                )
            if not keep:
                shutil.rmtree(base / str(size))
        lines = [
            f"started {started}; load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f};"
            f" {os.cpu_count()} cores; multilingual {'on' if args.multilingual else 'off'};"
            f" {args.questions} questions, {args.runs} cold starts, {args.mentions} mentions,"
            f" add: {add_words} words",
            "",
            *table([(article, sorted(rows, key=lambda row: row["generated"]))]),
        ]
        print("\n".join(lines), flush=True)
        if args.quality and rows:
            largest = (
                (args.keep_knowledge, args.keep_data) if args.keep_knowledge and args.keep_data else None
            )
            if largest is None:
                print("--quality needs --keep-knowledge and --keep-data (the largest size kept)")
            else:
                print("\n".join(["", *quality(*largest, base / "article" / "data")]), flush=True)


if __name__ == "__main__":
    main()
