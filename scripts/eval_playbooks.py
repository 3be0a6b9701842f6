"""The reply boundary for playbook answers, across the three tuning playbooks, each held out in turn.

    .venv/bin/python scripts/eval_playbooks.py [--thresholds 1.01 0.55 0.5 0.47 0.45 0.42]

Each playbook is dropped beside the bundled knowledge (as ``advisor knowledge add`` would; the
index rebuilt from the bundled one's vector cache) and its question set scored with every
``bot.search.boundary.SCOPE_ANSWERED`` given (1.01: off, every example counts). Then, for each
playbook held out, the threshold is chosen on the other two alone: the most replies to their
in-domain questions while refusing no fewer of their off-topic ones than with it off. The YAML
playbook's set has no off-topic questions: it speaks for replies only. ``--margins`` adds
rows with other ``uncurated_off_scope`` margins (bot/ranker.json's is 0.05), the trade
between replies and refusals.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from bot.config import DEFAULT_KNOWLEDGE_DIR, load_settings
from bot.search import boundary
from bot.search.advisor import Advisor
from bot.search.evaluation import advisor_ranker, evaluate, load_eval_set

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
PLAYBOOKS = {  # name: (the playbook, its question set)
    "acme": ("playbooks/acme-analytics.md", "playbooks/acme_questions.yaml"),
    "harbor": ("playbooks/harbor-pine.md", "playbooks/harbor_pine_questions.yaml"),
    "northwind": ("playbook/northwind-playbook.yaml", "playbook_questions.yaml"),
}
OFF = 1.01  # no cosine reaches it: every out-of-scope example counts, as before the threshold


def load(settings, tmp: Path, playbook: Path) -> Advisor:
    knowledge = tmp / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge)
    shutil.copy(playbook, knowledge / playbook.name)
    source = Path(os.environ.get("ADVISOR_DATA_DIR") or settings.data_dir)
    for part in ("index", "index-vectors"):
        if (source / part).is_dir():
            shutil.copytree(source / part, tmp / "data" / part, dirs_exist_ok=True)
    overrides = {"knowledge_dir": knowledge, "data_dir": tmp / "data", "multilingual": False}
    return Advisor.load(settings.with_overrides(**overrides))


def choose(figures: dict, names: list[str], thresholds: list[float]) -> float:
    """The threshold with the most replies on ``names`` that refuses as many off-topic
    questions of each as with it off (ties: the higher, the smaller change)."""

    def refused(t: float, name: str) -> float:
        value = figures[name][t].refusal_rate
        return 1.0 if value is None else value

    allowed = [t for t in thresholds if all(refused(t, n) >= refused(OFF, n) for n in names)]
    return max(allowed, key=lambda t: (sum(figures[n][t].reply_rate for n in names), t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[OFF, 0.55, 0.5, 0.47, 0.45, 0.42])
    parser.add_argument(
        "--margins",
        type=float,
        nargs="+",
        default=[],
        help="also score each threshold with these uncurated_off_scope margins (the ranker's is 0.05)",
    )
    args = parser.parse_args()
    thresholds = sorted(set(args.thresholds) | {OFF}, reverse=True)
    settings = load_settings()
    figures: dict[str, dict[float, object]] = {}
    head = "| playbook | SCOPE_ANSWERED | uncurated_off_scope | n | hit@1 | quote | replied | refused"
    print(head + " | near misses |\n|---|---|---|---|---|---|---|---|---|")
    for name, (playbook, questions) in PLAYBOOKS.items():
        with tempfile.TemporaryDirectory() as tmp:
            advisor = load(settings, Path(tmp), DATA / playbook)
            eval_set = load_eval_set(DATA / questions, advisor.knowledge)
            figures[name] = {}
            ranker = advisor.ranker
            margins = dict.fromkeys([ranker.uncurated_off_scope, *args.margins])
            for t, margin in ((t, m) for t in thresholds for m in margins):
                boundary.SCOPE_ANSWERED = t
                advisor.ranker = replace(ranker, uncurated_off_scope=margin)
                report = evaluate("advisor", advisor_ranker(advisor), eval_set)
                if margin == ranker.uncurated_off_scope:
                    figures[name][t] = report  # the rotation is over thresholds, at the ranker's margin
                values = (report.hit1, report.quote_precision, report.reply_rate)
                values += (report.refusal_rate, report.near_miss_refusal)
                label = "off" if t == OFF else f"{t:.2f}"
                cells = [name, label, f"{margin:.2f}", f"{report.n_in_domain}+{report.n_off_topic}"]
                cells += ["n/a" if v is None else f"{v:.3f}" for v in values]
                print("| " + " | ".join(cells) + " |", flush=True)
            advisor.ranker = ranker
    print("\n| held out | chosen on the other two | replied (off → chosen) | refused (off → chosen) |")
    print("|---|---|---|---|")
    for held in PLAYBOOKS:
        t = choose(figures, [n for n in PLAYBOOKS if n != held], thresholds)
        before, after = figures[held][OFF], figures[held][t]

        def pair(a, b) -> str:
            return "n/a" if a is None else f"{a:.3f} → {b:.3f}"

        label = "off" if t == OFF else f"{t:.2f}"
        cells = [held, label, pair(before.reply_rate, after.reply_rate)]
        cells.append(pair(before.refusal_rate, after.refusal_rate))
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
