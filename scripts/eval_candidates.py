"""Score question sets over the candidate stage and over every row, on one loaded knowledge.

    ADVISOR_KNOWLEDGE_DIR=... ADVISOR_DATA_DIR=... .venv/bin/python scripts/eval_candidates.py \\
        [--routes 32,32,8] tests/data/questions.yaml tests/data/blind_final_8.yaml

For a knowledge above bot.search.candidates.MIN_ROWS (say the article beside generated
playbooks): one table row per set and way of scoring, and the candidates' mean count. Each
answer takes its 5 best passages (hit@3 from their distinct sections).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from eval_sets import row  # scripts/ is on the path when run as a script

from bot.config import load_settings
from bot.search import candidates
from bot.search.advisor import Advisor
from bot.search.evaluation import _distinct, evaluate, load_eval_set, section_label


def _ranker(advisor: Advisor):
    def rank(question: str):
        answer = advisor.ask(question, k=5)
        quote = answer.hits[0].quote if answer.hits else None
        labels = [section_label(advisor.corpus.sections[h.section_ref]) for h in answer.hits]
        return _distinct(labels), answer.status, quote, answer.stance

    return rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--routes", default=None, help="dense,lexical,keys widths (default: the module's)")
    args = parser.parse_args()
    if args.routes:
        candidates.DENSE_K, candidates.LEXICAL_K, candidates.KEY_K = (int(v) for v in args.routes.split(","))
    advisor = Advisor.load(load_settings())
    print(f"{advisor.corpus.n} sentence rows; candidates above {candidates.MIN_ROWS}")
    threshold = candidates.MIN_ROWS
    for path in args.sets:
        eval_set = load_eval_set(path, advisor.knowledge)
        for way, min_rows in (("candidates", threshold), ("every row", 10**12)):
            candidates.MIN_ROWS = min_rows
            print(row(path.name, way, evaluate(way, _ranker(advisor), eval_set)), flush=True)
        candidates.MIN_ROWS = threshold
        counts = [
            len(found.rows)
            if (found := advisor.signals(advisor.prepare(item.question))).rows is not None
            else advisor.corpus.n
            for item in eval_set.in_domain
        ]
        print(f"{path.name}: {np.mean(counts):.0f} candidate rows a question on average")


if __name__ == "__main__":
    main()
