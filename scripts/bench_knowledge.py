"""Adding a playbook to a built index, against an ``advisor ask`` cold start, in one run.

    .venv/bin/python scripts/bench_knowledge.py [--runs 3] [--playbook FILE.md]

Set-up (not timed): the bundled knowledge (article, scope, glossary) in a temporary directory and
its index built once (``advisor index build``: torch, with the ONNX export and the vector cache).
Then, interleaved, ``--runs`` times each, every run from a fresh copy of that built state:

- ``advisor ask QUESTION``: a cold start (load the index, the ONNX model, answer one question)
- ``advisor knowledge add PLAYBOOK``: check the file, copy it in, update the index (embeds only
  the playbook's texts, on the index's ONNX export)

For each: wall time, and the peak memory of the whole process tree (the sum of every process's
resident set, sampled every 20 ms, and the root's own VmHWM at exit, whichever is larger). The
figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_core import process_tree  # scripts/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who should set next year's sales quota?"


def _kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(args: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak MB of ``advisor ARGS``'s process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = [0, 0]  # summed VmRSS of the tree, the root's VmHWM
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(_kb(pid, "VmRSS") for pid in process_tree(process.pid)))
            peak[1] = max(peak[1], _kb(process.pid, "VmHWM"))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"advisor {' '.join(args)} failed: {err.decode()[-2000:]}")
    return elapsed, max(peak) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--playbook", type=Path, default=ROOT / "knowledge/examples/northbeam-playbook.md")
    options = parser.parse_args()
    words = len(options.playbook.read_text(encoding="utf-8").split())
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as tmp:
        base = Path(tmp) / "base"
        (base / "knowledge").mkdir(parents=True)
        for name in ("article.yaml", "scope.yaml", "glossary.yaml"):
            shutil.copy(ROOT / "knowledge" / name, base / "knowledge" / name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "SLACK_"))}

        def env_for(state: Path) -> dict:
            return {
                **env,
                "ADVISOR_KNOWLEDGE_DIR": str(state / "knowledge"),
                "ADVISOR_DATA_DIR": str(state / "data"),
            }

        print("building the bundled index once (not timed) ...", file=sys.stderr)
        built = subprocess.run(
            [sys.executable, "-m", "bot", "index", "build"], cwd=ROOT, env=env_for(base), capture_output=True
        )
        if built.returncode != 0:
            raise SystemExit(built.stderr.decode()[-2000:])
        asks, adds = [], []
        for i in range(options.runs):
            for kind in ("ask", "add"):
                state = Path(tmp) / f"{kind}-{i}"
                shutil.copytree(base, state)
                if kind == "ask":
                    asks.append(run(["ask", QUESTION], env_for(state)))
                else:
                    adds.append(run(["knowledge", "add", str(options.playbook)], env_for(state)))
                shutil.rmtree(state)

    def median(rows: list[tuple[float, float]], at: int) -> float:
        return statistics.median(row[at] for row in rows)

    ask_s, add_s = median(asks, 0), median(adds, 0)
    print(f"playbook: {options.playbook.name} ({words} words); {options.runs} runs each, interleaved")
    print("| | wall s (median) | runs | peak MB, process tree (median) |")
    print("|---|---|---|---|")
    print(
        f"| `advisor ask` cold start | {ask_s:.2f} | {', '.join(f'{r[0]:.2f}' for r in asks)} |"
        f" {median(asks, 1):.0f} |"
    )
    print(
        f"| `advisor knowledge add` | {add_s:.2f} | {', '.join(f'{r[0]:.2f}' for r in adds)} |"
        f" {median(adds, 1):.0f} |"
    )
    peak = max(r[1] for r in adds)
    print(f"add / cold start: {add_s / ask_s:.2f}x (target <= 3x); add peak {peak:.0f} MB (target < 400)")


if __name__ == "__main__":
    main()
