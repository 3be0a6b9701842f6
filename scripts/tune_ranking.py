"""Fit the ranking weights and the answer threshold on question sets, honestly.

    .venv/bin/python scripts/tune_ranking.py tests/data/questions.yaml \
        tests/data/check_questions.yaml tests/data/holdout_questions.yaml

1. The signals of every section are computed once per question with the real model
   (best passage per section: dense, keys, lexical, section lexical, assignment).
2. Weights: a listwise softmax over sections (the acceptable sections are the target) is
   fitted by gradient descent. Leave-one-set-out: fitted on all sets but one, scored on the
   one left out, so the figure shows how the weights do on questions they never saw.
3. Threshold: for the shipped weights, the confidence (top score - scope_penalty x
   off-scope margin) that best separates in-domain from off-topic questions, per set.

Keep one set out of all of this (tests/data/final_questions.yaml) and report it last.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.evaluation import load_eval_set
from bot.retrieval import Advisor
from bot.text import clean_question

SIGNALS = ("dense", "keys", "lexical", "section_lexical", "assignment")


def section_features(advisor: Advisor, question: str) -> tuple[np.ndarray, float, float]:
    """(sections x signals) of each section's best passage, the top total, the off-scope margin."""
    text = advisor.speller.fix(advisor.glossary.expand(clean_question(question)))
    signals = advisor.score_passages(text)
    sections = advisor._passage_section
    best = [
        int(np.flatnonzero(sections == s)[np.argmax(signals["total"][sections == s])])
        for s in range(len(advisor.index.section_refs))
    ]
    features = np.array([[signals[name][row] for name in SIGNALS] for row in best])
    return features, float(signals["total"].max()), float(signals["off_scope"])


def fit(samples: list[tuple[np.ndarray, list[int]]], *, epochs: int = 2000, rate: float = 0.5) -> np.ndarray:
    """Weights (summing to 1) that make the acceptable sections likeliest under a softmax."""
    weights = np.full(len(SIGNALS), 1.0 / len(SIGNALS))
    temperature = 10.0
    for _ in range(epochs):
        gradient = np.zeros_like(weights)
        for features, expected in samples:
            z = temperature * features @ weights
            p = np.exp(z - z.max())
            p /= p.sum()
            target = np.zeros(len(p))
            target[expected] = 1.0 / len(expected)
            gradient += temperature * features.T @ (p - target)
        weights -= rate * (gradient / len(samples) + 0.01 * weights)
    weights = np.maximum(weights, 0)
    return weights / weights.sum()


def hit1(samples, weights) -> float:
    return float(np.mean([int(np.argmax(f @ weights)) in expected for f, expected in samples]))


def main(paths: list[str]) -> None:
    advisor = Advisor.load(load_settings())
    headings = [
        {s.heading for s in advisor.knowledge.sections() if f"{s.document_id}/{s.id}" == ref}.pop()
        for ref in advisor.index.section_refs
    ]
    sets = {}
    for path in paths:
        eval_set = load_eval_set(Path(path), advisor.knowledge)
        in_domain, confidence_in, confidence_off = [], [], []
        for item in eval_set.in_domain:
            features, top, off = section_features(advisor, item.question)
            in_domain.append((features, [i for i, h in enumerate(headings) if h in item.sections]))
            confidence_in.append(top - advisor.weights.scope_penalty * off)
        for question in eval_set.off_topic:
            _, top, off = section_features(advisor, question)
            confidence_off.append(top - advisor.weights.scope_penalty * off)
        sets[Path(path).name] = (in_domain, np.array(confidence_in), np.array(confidence_off))

    w = advisor.weights
    shipped = np.array([getattr(w, name) for name in SIGNALS])
    print("signals:", ", ".join(SIGNALS))
    print("shipped weights:", np.round(shipped, 3))
    for name, (samples, _, _) in sets.items():
        print(f"  {name:<28} hit@1 {hit1(samples, shipped):.3f}")
    all_samples = [s for samples, _, _ in sets.values() for s in samples]
    print("fitted on all sets:", np.round(fit(all_samples), 3))
    if len(sets) > 1:
        for name in sets:
            train = [s for other, (samples, _, _) in sets.items() if other != name for s in samples]
            weights = fit(train)
            score = hit1(sets[name][0], weights)
            print(f"  left out {name:<20} fitted {np.round(weights, 3)} -> hit@1 {score:.3f}")
    print(f"threshold (scope_penalty {w.scope_penalty}): shipped answered >= {w.answered}")
    for threshold in np.arange(w.answered - 0.04, w.answered + 0.041, 0.01):
        cells = []
        for name, (_, confidence_in, confidence_off) in sets.items():
            answered = np.mean(confidence_in >= threshold)
            refused = np.mean(confidence_off < threshold) if len(confidence_off) else float("nan")
            cells.append(f"{name[:12]} {answered:.3f}/{refused:.3f}")
        print(f"  >= {threshold:.2f}: answered/refused  " + "  ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:] or ["tests/data/questions.yaml"])
