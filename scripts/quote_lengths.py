"""How long the card's quotes are: median, 90th percentile and longest, in words, per set and
over all of them, with each set's quote precision beside.

    .venv/bin/python scripts/quote_lengths.py [SET ...]

By default every question set under tests/data (the article sets and the plan set; not the
playbook set, which needs its playbook, and never tests/data/unscored/). A quote is counted for
each in-domain question the advisor replies to (answered or low confidence): the first quote,
the one the card shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.search.advisor import Advisor
from bot.search.evaluation import advisor_ranker, evaluate, load_eval_set

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def default_sets() -> list[Path]:
    sets = sorted(p for p in DATA.glob("*.yaml") if not p.name.startswith("playbook"))
    return sets + sorted((DATA / "plans").glob("*.yaml"))


def figures(words: list[int]) -> str:
    if not words:
        return "n/a"
    median, p90 = np.percentile(words, [50, 90])
    return f"median {median:5.1f}  p90 {p90:5.1f}  max {max(words):4d}  (n={len(words)})"


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or default_sets()
    advisor = Advisor.load(load_settings())
    every: list[int] = []
    for path in paths:
        eval_set = load_eval_set(path, advisor.knowledge)
        words = []
        for item in eval_set.in_domain:
            answer = advisor.ask(item.question)
            if answer.status != "not_covered" and answer.hits:
                words.append(len(answer.hits[0].quote.split()))
        every += words
        report = evaluate("advisor", advisor_ranker(advisor), eval_set)
        quote = "n/a" if report.quote_precision is None else f"{report.quote_precision:.3f}"
        print(f"{path.name:<24} {figures(words)}  quote precision {quote}", flush=True)
    print(f"{'all sets':<24} {figures(every)}")


if __name__ == "__main__":
    main()
