"""Fit the cross-language ranking weights and reply boundary (bot/crosslingual.json).

Tunes on the multilingual tuning sets only (tests/data/multilingual/*_tune.yaml), and holds
out a third of each (every third question, in-domain and off-topic alike) to check the fit
on questions it never saw: both are reported. ``--write`` writes the weights fitted on the
fit part (not on the held-out third).

    .venv/bin/python scripts/tune_crosslingual.py            # report only
    .venv/bin/python scripts/tune_crosslingual.py --write    # and write bot/crosslingual.json
    .venv/bin/python scripts/tune_crosslingual.py --all      # fit on everything (reported apart)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.search.advisor import Advisor  # noqa: E402
from bot.search.crosslingual import FEATURES, WEIGHTS_PATH, Weights  # noqa: E402
from bot.search.evaluation import advisor_ranker, evaluate, format_report, load_eval_set  # noqa: E402
from bot.search.language import detect_language  # noqa: E402
from bot.text import clean_question  # noqa: E402

# English questions whose typical top score sets the scale of the cross-language scores.
ENGLISH_PROBE = [
    "Who should set next year's sales quota?",
    "Should we build a sales team or a marketing team first?",
    "Who should do market research and competitor analysis?",
    "Is sales or marketing more important?",
    "Who is responsible for bringing in cash this month?",
    "Who should run advertising and trade shows?",
]
SETS = sorted((ROOT / "tests/data/multilingual").glob("*_tune.yaml"))


def split(items, part: str):
    """Every third item is held out ("check"); the others are the fit part."""
    if part == "all":
        return tuple(items)
    return tuple(x for i, x in enumerate(items) if (i % 3 == 2) == (part == "check"))


def gold_rows(advisor: Advisor, item) -> set[int]:
    c = advisor.corpus
    rows = set()
    for row in range(c.n):
        section = advisor.index.passages[c.rows[row][0]].section
        if section in item.sections and any(p in c.sentence_text(row) for p in item.quote_has):
            rows.add(row)
    return rows


def rank_figures(w: np.ndarray, data, section_of: np.ndarray) -> tuple[float, float, float]:
    """Row-level hit@1, hit@3 (distinct sections) and quote@1 (the top row is a gold row)."""
    h1 = h3 = quoted = with_gold = 0
    for features, gold, sections in data:
        order = np.argsort(-(features @ w), kind="stable")
        seen: list[str] = []
        for row in order:
            if section_of[row] not in seen:
                seen.append(section_of[row])
            if len(seen) == 3:
                break
        h1 += seen[0] in sections
        h3 += any(s in sections for s in seen)
        if gold:
            with_gold += 1
            quoted += int(order[0]) in gold
    n = max(len(data), 1)
    return h1 / n, h3 / n, quoted / max(with_gold, 1)


def fit_ranking(data, section_of: np.ndarray, rounds: int = 600) -> np.ndarray:
    """Random local search over the weights from a plain start (the word signals and the
    English keys), keeping a step only when hit@1 + quote@1 + hit@3 / 2 on the fit part rises.
    Deterministic (seed 0)."""
    rng = np.random.default_rng(0)
    start = {"own_words": 1.0, "section_words": 0.5, "keys": 0.5}
    best = np.array([start.get(name, 0.0) for name in FEATURES])

    def objective(w):
        h1, h3, quoted = rank_figures(w, data, section_of)
        return h1 + quoted + 0.5 * h3

    best_value = objective(best)
    for _ in range(rounds):
        step = rng.normal(0, 0.15, len(FEATURES)) * (rng.random(len(FEATURES)) < 0.4)
        value = objective(best + step)
        if value > best_value:
            best, best_value = best + step, value
    return best.astype(np.float32)


def fit_refusal(inside: list[tuple[float, float]], outside: list[tuple[float, float]]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    x = np.array(inside + outside)
    y = np.array([1] * len(inside) + [0] * len(outside))
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000).fit(x, y)
    return {
        "score": float(model.coef_[0][0]),
        "scope": float(model.coef_[0][1]),
        "bias": float(model.intercept_[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--all", action="store_true", help="fit on the whole tuning sets")
    args = parser.parse_args()
    advisor = Advisor.load(load_settings())
    across = advisor.crosslingual
    if across is None:
        raise SystemExit("ADVISOR_MULTILINGUAL is off")
    sets = {path.stem: load_eval_set(path, advisor.knowledge) for path in SETS}
    fit_part = "all" if args.all else "fit"
    data, inside_q, outside_q = [], [], []
    for eval_set in sets.values():
        for item in split(eval_set.in_domain, fit_part):
            language = detect_language(item.question)
            q = across.model.encode_one(clean_question(item.question))
            features = across.features(q, language, clean_question(item.question))
            data.append((features, gold_rows(advisor, item), (q, language), set(item.sections)))
            inside_q.append((q, language, clean_question(item.question)))
        for item in split(eval_set.off_topic, fit_part):
            language = detect_language(item.question)
            text = clean_question(item.question)
            outside_q.append((across.model.encode_one(text), language, text))
    c = advisor.corpus
    section_of = np.array([advisor.index.passages[c.rows[row][0]].section for row in range(c.n)])
    ranking = fit_ranking([d[:2] + (d[3],) for d in data], section_of)
    # Scaled so the typical top score is the English ranker's (the quote's neighbour margins
    # are in its units, bot/ranker.json): a neighbour joins the quote as readily as in English.
    english = [advisor.ask(q).hits[0].score for q in ENGLISH_PROBE]
    tops = [float((f @ ranking).max()) for f, _g, _q, _s in data]
    ranking = ranking * float(np.median(english) / max(np.median(tops), 1e-6))

    def boundary_inputs(q, language, text):
        features = across.features(q, language, text)
        scope = float((across.scope_vectors @ q).max())
        return float((features @ ranking).max()), scope

    refusal = fit_refusal([boundary_inputs(*x) for x in inside_q], [boundary_inputs(*x) for x in outside_q])
    weights = {
        "ranking": {name: round(float(w), 5) for name, w in zip(FEATURES, ranking, strict=True)},
        "refusal": {key: round(value, 5) for key, value in refusal.items()},
        "caveat": 1.0,
    }
    print(json.dumps(weights, indent=2))
    across.weights = Weights(
        np.array([weights["ranking"][n] for n in FEATURES], dtype=np.float32), weights["refusal"], 1.0
    )
    rank = advisor_ranker(advisor)
    for name, eval_set in sets.items():
        for part in ("fit", "check") if not args.all else ("all",):
            part_set = type(eval_set)(split(eval_set.in_domain, part), split(eval_set.off_topic, part))
            print(format_report(evaluate(f"{name}:{part}", rank, part_set)))
    if args.write:
        WEIGHTS_PATH.write_text(json.dumps(weights, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_PATH}")


if __name__ == "__main__":
    main()
