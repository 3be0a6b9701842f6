"""Grid-search the ranking weights and confidence thresholds on a question set.

Signals are computed once per question with the real model; the search then only
re-weights them. To keep the figures honest, it also reports two-fold cross-validation:
weights chosen on one half of the questions, scored on the other half.

    python scripts/tune_ranking.py tests/data/questions.yaml
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.evaluation import load_eval_set
from bot.retrieval import Advisor
from bot.text import clean_question


def signals(advisor: Advisor, question: str) -> dict[str, np.ndarray]:
    return advisor.score_passages(clean_question(question))


def section_rank(advisor: Advisor, total: np.ndarray) -> list[str]:
    return list(dict.fromkeys(advisor.index.passages[i].section for i in advisor.rank(total)))


def score(advisor, cached, weights, answered, low):
    wd, wk, wl, ws = weights
    hit1 = hit3 = ok_in = ok_off = 0
    n_in = n_off = 0
    for sig, expected in cached:
        total = wd * sig["dense"] + wk * sig["keys"] + wl * sig["lexical"] + ws * sig["section_lexical"]
        top = float(total.max())
        if expected is None:
            n_off += 1
            ok_off += top < low
            continue
        n_in += 1
        ranked = section_rank(advisor, total)
        hit1 += ranked[0] in expected
        hit3 += any(s in expected for s in ranked[:3])
        ok_in += top >= answered
    return hit1 / n_in, hit3 / n_in, ok_in / n_in, ok_off / max(n_off, 1)


def best_for(advisor, cached):
    best = None
    grid = [round(0.05 * i, 2) for i in range(13)]
    for wd, wk, wl, ws in itertools.product(grid, repeat=4):
        # passages need some weight of their own: it picks the passage inside a section
        if abs(wd + wk + wl + ws - 1.0) > 1e-6 or wd + wl < 0.1:
            continue
        weights = (wd, wk, wl, ws)
        tops_in, tops_off = [], []
        for sig, expected in cached:
            total = wd * sig["dense"] + wk * sig["keys"] + wl * sig["lexical"] + ws * sig["section_lexical"]
            (tops_off if expected is None else tops_in).append(float(total.max()))
        # the threshold that best separates in-domain from off-topic top scores
        candidates = sorted(set(np.round(tops_in + tops_off, 3)))
        threshold = max(
            candidates, key=lambda t: np.mean(np.array(tops_in) >= t) + np.mean(np.array(tops_off) < t)
        )
        result = score(advisor, cached, weights, threshold, threshold)
        key = (result[0] + result[1] + 0.5 * (result[2] + result[3]),)
        if best is None or key > best[0]:
            best = (key, weights, threshold, result)
    return best


def _fmt(result) -> str:
    return "hit1 {:.3f} hit3 {:.3f} answered {:.3f} refused {:.3f}".format(*result)


def main(path: str) -> None:
    settings = load_settings()
    advisor = Advisor.load(settings)
    eval_set = load_eval_set(Path(path), advisor.knowledge)
    cached = [(signals(advisor, q.question), set(q.sections)) for q in eval_set.in_domain]
    cached += [(signals(advisor, q), None) for q in eval_set.off_topic]
    w = advisor.weights
    current = (w.dense, w.keys, w.lexical, w.section_lexical)
    print(
        "current",
        current,
        "answered>=",
        w.answered,
        "->",
        score(advisor, cached, current, w.answered, w.low_confidence),
    )
    _, weights, threshold, result = best_for(advisor, cached)
    print(
        "best on all",
        weights,
        "threshold",
        threshold,
        _fmt(result),
    )
    for fold in (0, 1):
        train = [c for i, c in enumerate(cached) if i % 2 == fold]
        test = [c for i, c in enumerate(cached) if i % 2 != fold]
        _, weights, threshold, _ = best_for(advisor, train)
        result = score(advisor, test, weights, threshold, threshold)
        print(f"fold {fold}: tuned {weights} t={threshold} -> held-out half:", _fmt(result))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/questions.yaml")
