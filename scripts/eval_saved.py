"""Score saved-answer matching: hit@1 on paraphrases of saved questions, false matches on
unrelated ones, with the threshold picked on one half of the data and checked on the other.

    .venv/bin/python scripts/eval_saved.py [--threshold T]

Data: tests/data/saved/saved_answers.yaml (the saved questions of one workspace) and
saved_paraphrases.yaml (paraphrases naming the saved item they ask, and unrelated questions,
near misses among them). Every question is matched against all saved questions, as in a
workspace. The split: paraphrases of even-numbered saved items and even-numbered unrelated
questions fit the threshold (the best hit@1 with at most 5% false matches); the other half
checks it. ``--threshold`` scores one given threshold on both halves instead. ``--compare``
also prints what was tried: the saved question alone or with its answer, the text embedded
as typed or prepared like an asked question (glossary, spelling), each with its hit@1 before
any threshold and at its own split-fitted threshold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml

from bot.config import load_settings
from bot.search.advisor import Advisor
from bot.search.saved import THRESHOLD, SavedMatcher, SavedQuestion

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "saved"
MAX_FALSE = 0.05


def load() -> tuple[list[SavedQuestion], list[tuple[str, int]], list[tuple[str, bool]]]:
    saved = yaml.safe_load((DATA / "saved_answers.yaml").read_text())["saved"]
    asks = yaml.safe_load((DATA / "saved_paraphrases.yaml").read_text())
    paraphrases = [(p["question"], int(p["saved"])) for p in asks["paraphrases"]]
    unrelated = [(u["question"], bool(u.get("near_miss"))) for u in asks["unrelated"]]
    return [SavedQuestion(i, s["question"], s["answer"]) for i, s in enumerate(saved)], paraphrases, unrelated


def scores(
    matcher: SavedMatcher, saved: list[SavedQuestion], questions: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """For each question: the best saved index and its similarity, from the matcher itself
    with no threshold."""
    best, top = [], []
    for question in questions:
        found = matcher.match(question, saved)
        assert found is not None
        best.append(found.id)
        top.append(found.score)
    return np.array(best), np.array(top)


def figures(threshold: float, para, unrel) -> tuple[float, float, float]:
    """(hit@1 on paraphrases, false matches on unrelated, on near misses) at ``threshold``."""
    (best, top, want), (utop, near) = para, unrel
    hit = float(np.mean((best == want) & (top >= threshold))) if len(want) else 0.0
    false = float(np.mean(utop >= threshold)) if len(utop) else 0.0
    near_false = float(np.mean(utop[near] >= threshold)) if near.any() else 0.0
    return hit, false, near_false


def pick(para, unrel) -> float:
    """The threshold with the best hit@1 at most MAX_FALSE false matches (the highest such)."""
    candidates = [round(t, 3) for t in np.arange(0.40, 0.99, 0.005)]
    allowed = [(figures(t, para, unrel)[0], t) for t in candidates if figures(t, para, unrel)[1] <= MAX_FALSE]
    best_hit = max(h for h, _ in allowed)
    return max(t for h, t in allowed if h == best_hit)


def split_figures(matcher, saved, paraphrases, unrelated):
    """(hit@1 before any threshold, threshold fitted on the fit half, check half's figures)."""
    best, top = scores(matcher, saved, [q for q, _ in paraphrases])
    want = np.array([i for _, i in paraphrases])
    _, utop = scores(matcher, saved, [q for q, _ in unrelated])
    near = np.array([n for _, n in unrelated])

    def half(odd: int):
        p = np.array([i % 2 == odd for i in want])
        u = np.array([i % 2 == odd for i in range(len(unrelated))])
        return (best[p], top[p], want[p]), (utop[u], near[u])

    threshold = pick(*half(0))
    return float(np.mean(best == want)), threshold, figures(threshold, *half(1))


def compare(advisor, saved, paraphrases, unrelated) -> None:
    print("variant | hit@1, no threshold | fitted threshold | check half: hit@1, false matches")
    for prepared in (False, True):
        embed = (
            (lambda text: advisor.embed(advisor.prepare(text))[0])
            if prepared
            else (lambda text: advisor.embed(text)[0])
        )
        for with_answer in (False, True):
            items = [SavedQuestion(s.id, s.question, s.answer if with_answer else "") for s in saved]
            matcher = SavedMatcher(embed, threshold=-1.0)
            top1, threshold, (hit, false, _near) = split_figures(matcher, items, paraphrases, unrelated)
            name = f"{'prepared' if prepared else 'as typed'}, question{' + answer' if with_answer else ''}"
            print(f"{name} | {top1:.3f} | {threshold:.3f} | {hit:.3f}, {false:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--compare", action="store_true", help="also score the variants tried")
    args = parser.parse_args()
    advisor = Advisor.load(load_settings())
    # As the bot does (bot/slack/listeners/__init__.py): the question prepared like an asked one.
    matcher = SavedMatcher(lambda text: advisor.embed(advisor.prepare(text))[0], threshold=-1.0)
    saved, paraphrases, unrelated = load()
    if args.compare:
        compare(advisor, saved, paraphrases, unrelated)
    best, top = scores(matcher, saved, [q for q, _ in paraphrases])
    want = np.array([i for _, i in paraphrases])
    _, utop = scores(matcher, saved, [q for q, _ in unrelated])
    near = np.array([n for _, n in unrelated])

    def half(odd: int):
        p = np.array([i % 2 == odd for i in want])
        u = np.array([i % 2 == odd for i in range(len(unrelated))])
        return (best[p], top[p], want[p]), (utop[u], near[u])

    fit, check = half(0), half(1)
    everything = ((best, top, want), (utop, near))
    threshold = args.threshold if args.threshold is not None else pick(*fit)
    print(f"saved questions: {len(saved)}; paraphrases: {len(paraphrases)}; unrelated: {len(unrelated)}")
    print(f"hit@1 with no threshold (all paraphrases): {np.mean(best == want):.3f}")
    print(
        f"threshold: {threshold:.3f} ({'given' if args.threshold is not None else 'fitted on the fit half'}; "
        f"in bot/search/saved.py: {THRESHOLD:.3f})"
    )
    print("half | paraphrases | hit@1 | unrelated | false matches | near misses matched")
    for name, (para, unrel) in (("fit", fit), ("check", check), ("all", everything)):
        hit, false, near_false = figures(threshold, para, unrel)
        print(f"{name} | {len(para[2])} | {hit:.3f} | {len(unrel[0])} | {false:.3f} | {near_false:.3f}")


if __name__ == "__main__":
    main()
