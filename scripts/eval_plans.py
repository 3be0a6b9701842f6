"""Score plan sets, each whole and in two parts: the part tuned on and the part held out.

    .venv/bin/python scripts/eval_plans.py [SET ...] [--misses]

SET defaults to both plan sets, tests/data/plans/plans_tune.yaml (the claims were written
after reading it) and plans_final.yaml (scored once, unread, in round 2): the two directions of
the split. Within a set, the held-out part is every third item (in
domain and off topic alike, from the third), never looked at while the claims and cues were
written; the fit part is the rest. Each part gets the report line of ``advisor eval`` and its
stance confusion table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.config import load_settings
from bot.search.advisor import Advisor
from bot.search.evaluation import (
    EvalSet,
    advisor_ranker,
    evaluate,
    format_confusion,
    format_report,
    load_eval_set,
)

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def parts(eval_set: EvalSet) -> dict[str, EvalSet]:
    def held(items, out: bool):
        return tuple(item for i, item in enumerate(items) if (i % 3 == 2) == out)

    return {
        "whole": eval_set,
        "fit 2/3": EvalSet(held(eval_set.in_domain, False), held(eval_set.off_topic, False)),
        "held 1/3": EvalSet(held(eval_set.in_domain, True), held(eval_set.off_topic, True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sets",
        nargs="*",
        type=Path,
        default=[DATA / "plans" / "plans_tune.yaml", DATA / "plans" / "plans_final.yaml"],
    )
    parser.add_argument("--misses", action="store_true", help="list the misses of the fit part")
    args = parser.parse_args()
    advisor = Advisor.load(load_settings())
    ranker = advisor_ranker(advisor)
    for path in args.sets:
        print(path.name)
        score(ranker, load_eval_set(path, advisor.knowledge), args.misses)


def score(ranker, eval_set: EvalSet, misses: bool) -> None:
    for name, part in parts(eval_set).items():
        report = evaluate(name, ranker, part)
        print(format_report(report))
        print(format_confusion(report))
        if misses and name == "fit 2/3":
            for miss in report.misses:
                print("    miss:", json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()
