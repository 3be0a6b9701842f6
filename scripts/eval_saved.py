"""Score saved-answer matching: hit@1 on paraphrases of saved questions, false matches on
unrelated ones (and on the near misses among them).

    .venv/bin/python scripts/eval_saved.py                 # the shipped model, tuning data
    .venv/bin/python scripts/eval_saved.py --answers A.yaml --paraphrases P.yaml   # any pair
    .venv/bin/python scripts/eval_saved.py --compare       # the variants side by side
    .venv/bin/python scripts/eval_saved.py --fit           # refit bot/search/saved.json

Data (format of tests/data/saved/): the answers file has ``saved: [{question, answer}]`` (one
workspace's saved answers); the paraphrases file ``paraphrases: [{question, saved: INDEX}]`` and
``unrelated: [{question, near_miss}]``. Every question is matched against all saved answers, as in
a workspace. Without ``--answers``/``--paraphrases`` the tuning data is scored in halves: the
paraphrases of even-numbered saved items and the even-numbered unrelated questions are the fit
half (what ``--fit`` fits the model and its threshold on: the best hit@1 with at most 5 % of the
unrelated questions matched), the rest the check half. ``--compare`` and ``--fit`` also print a
5-fold cross-validated figure: folds by saved item (a saved item's paraphrases are never both
fitted and scored; unrelated questions spread over the folds), each fold scored by a model and a
threshold fitted on the other four.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from bot.config import load_settings
from bot.search.advisor import Advisor
from bot.search.saved import BASE, FEATURES, MODEL_FILE, MatchModel, SavedMatcher, SavedQuestion, saved_text
from bot.text import tokenize

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "saved"
MAX_FALSE = 0.05
C = 0.1  # inverse L2 strength on standardised features: a handful of weights, strongly held in
FOLDS = 5
MARGINS = tuple(name for name in FEATURES if name.startswith("m_"))


@dataclass
class Data:
    saved: list[SavedQuestion]
    questions: list[str]
    want: np.ndarray  # the saved index a paraphrase asks, -1 for an unrelated question
    near: np.ndarray  # a near miss (unrelated, sharing a saved item's topic words)
    group: np.ndarray  # the saved index (paraphrase) or the unrelated question's own index


def load(answers: Path, paraphrases: Path) -> Data:
    saved = yaml.safe_load(Path(answers).read_text())["saved"]
    asks = yaml.safe_load(Path(paraphrases).read_text())
    para = [(p["question"], int(p["saved"])) for p in asks.get("paraphrases") or []]
    unrel = [(u["question"], bool(u.get("near_miss"))) for u in asks.get("unrelated") or []]
    return Data(
        saved=[SavedQuestion(i, s["question"], s.get("answer") or "") for i, s in enumerate(saved)],
        questions=[q for q, _ in para] + [q for q, _ in unrel],
        want=np.array([i for _, i in para] + [-1] * len(unrel)),
        near=np.array([False] * len(para) + [n for _, n in unrel]),
        group=np.array([i for _, i in para] + list(range(len(unrel)))),
    )


# --- evidence ---------------------------------------------------------------------------------
def base_tensor(matcher: SavedMatcher, data: Data) -> np.ndarray:
    """(questions x items x BASE), each question read as the bot reads it."""
    return np.stack([matcher.base(matcher.query(q), data.saved) for q in data.questions])


def margins(base: np.ndarray, floors: dict[str, float]) -> np.ndarray:
    """(questions x items x FEATURES), as bot.search.saved.with_margins per question."""
    from bot.search.saved import with_margins

    return np.stack([with_margins(b, floors) for b in base])


def bm25(data: Data, prepare) -> np.ndarray:
    """BM25 (k1 1.2, b 0.75) of each question over the saved question+answer texts, squashed."""
    docs = [tokenize(prepare(f"{s.question} {s.answer}")) for s in data.saved]
    lengths = np.array([len(d) for d in docs], dtype=float)
    counts = [Counter(d) for d in docs]
    df = Counter(w for d in docs for w in set(d))
    idf = {w: np.log(1 + (len(docs) - f + 0.5) / (f + 0.5)) for w, f in df.items()}
    out = np.zeros((len(data.questions), len(docs)))
    for row, question in enumerate(data.questions):
        for word in set(tokenize(prepare(question))):
            if word in idf:
                tf = np.array([c.get(word, 0) for c in counts], dtype=float)
                out[row] += idf[word] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * lengths / lengths.mean()))
    return out / (out + 5.0)


# --- fitting ------------------------------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = C) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (Newton steps) on standardised columns; the weights
    returned apply to the raw columns."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    xs = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(xs.shape[1])
    penalty = np.diag(np.r_[np.ones(len(w) - 1), 0.0]) / c
    for _ in range(50):
        p = 1 / (1 + np.exp(-xs @ w))
        step = np.linalg.solve((xs * (p * (1 - p))[:, None]).T @ xs + penalty, xs.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    raw = w[:-1] / sd
    return raw, float(w[-1] - (mu / sd) @ w[:-1])


def figures(scores: np.ndarray, data: Data, rows: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(hit@1 on paraphrases, false matches on unrelated, on near misses) over ``rows``."""
    best, top = scores[rows].argmax(1), scores[rows].max(1)
    para, unrel = data.want[rows] >= 0, data.want[rows] < 0
    hit = float(np.mean(((best == data.want[rows]) & (top >= threshold))[para])) if para.any() else 0.0
    false = float(np.mean(top[unrel] >= threshold)) if unrel.any() else 0.0
    near = unrel & data.near[rows]
    near_false = float(np.mean(top[near] >= threshold)) if near.any() else 0.0
    return hit, false, near_false


def pick(scores: np.ndarray, data: Data, rows: np.ndarray) -> float:
    """The threshold with the best hit@1 at most MAX_FALSE false matches (the highest such),
    set halfway down to the next lower top score, so that no fitted question sits on it."""
    tops = np.unique(scores[rows].max(1))
    allowed = []
    for t in tops:
        hit, false, _ = figures(scores, data, rows, t)
        if false <= MAX_FALSE:
            allowed.append((hit, t))
    best = max(h for h, _ in allowed)
    chosen = max(t for h, t in allowed if h == best)
    below = tops[tops < chosen]
    return float((chosen + below.max()) / 2) if len(below) else float(chosen)


def fit(columns, data: Data, rows: np.ndarray, base: np.ndarray | None = None):
    """A model fitted on ``rows``: (weights, bias, floors, threshold, the scores of all rows).
    ``columns(floors)`` gives (questions x items x k); with ``base``, a margin's floor is the
    median runner-up of its evidence over the fitted questions (a workspace of few saved
    answers is then judged like one with a typical runner-up)."""
    floors = {}
    if base is not None:
        for name in MARGINS:
            runner_up = np.sort(base[rows][..., BASE.index(name[2:])], axis=1)[:, -2]
            floors[name] = float(np.median(runner_up))
    x = columns(floors)
    y = np.zeros(x.shape[:2])
    for r in rows:
        if data.want[r] >= 0:
            y[r, data.want[r]] = 1
    w, b = fit_logistic(x[rows].reshape(-1, x.shape[2]), y[rows].reshape(-1))
    scores = 1 / (1 + np.exp(-(x @ w + b)))
    return w, b, floors, pick(scores, data, rows), scores


def halves(data: Data) -> tuple[np.ndarray, np.ndarray]:
    return np.where(data.group % 2 == 0)[0], np.where(data.group % 2 == 1)[0]


def cross_validated(columns, data: Data, base=None) -> tuple[float, float, float]:
    """Pooled figures of 5 folds by saved item, each scored at its own fitted threshold."""
    rng = np.random.RandomState(0)
    item_fold = np.empty(len(data.saved), int)
    item_fold[rng.permutation(len(data.saved))] = np.arange(len(data.saved)) % FOLDS
    n_unrel = int((data.want < 0).sum())
    unrel_fold = np.empty(n_unrel, int)
    unrel_fold[rng.permutation(n_unrel)] = np.arange(n_unrel) % FOLDS
    fold = np.where(
        data.want >= 0, item_fold[np.maximum(data.want, 0)], unrel_fold[data.group % max(n_unrel, 1)]
    )
    pooled = np.zeros((len(data.questions), len(data.saved)))
    for k in range(FOLDS):
        train, test = np.where(fold != k)[0], np.where(fold == k)[0]
        *_, threshold, scores = fit(columns, data, train, base)
        pooled[test] = scores[test] - threshold
    return figures(pooled, data, np.arange(len(data.questions)), 0.0)


# --- the runs -----------------------------------------------------------------------------------
def compare(advisor: Advisor, matcher: SavedMatcher, data: Data, base: np.ndarray) -> None:
    """Each evidence alone and in combination: hit@1 before any threshold, the check half at
    the fit half's threshold, and 5-fold cross-validation."""
    extra = {"bm25": bm25(data, advisor.prepare)[..., None]}
    if advisor.crosslingual is not None:  # the multilingual model as a second embedding
        use = advisor.crosslingual.model
        asked = use.encode([advisor.prepare(saved_text(q)) for q in data.questions])
        items = use.encode([advisor.prepare(f"{s.question} {s.answer}") for s in data.saved])
        extra["use_qa"] = (asked @ items.T)[..., None]
    typed = SavedMatcher.from_advisor(advisor, prepare=saved_text, model=matcher.model)
    typed_base = base_tensor(typed, data)

    def pick_columns(names, source=base):
        def columns(floors):
            full = margins(source, floors)
            parts = [full[..., FEATURES.index(n)][..., None] if n in FEATURES else extra[n] for n in names]
            return np.concatenate(parts, axis=-1)

        return columns

    variants = [((n,), base) for n in (*BASE, *extra)] + [
        (("cq", "ca", "cqa"), base),
        (("cq", "ca", "cqa", "tqa", "tqb"), base),
        (FEATURES, typed_base),
        (FEATURES, base),
        ((*FEATURES, "bm25"), base),
    ]
    if "use_qa" in extra:
        variants.append(((*FEATURES, "use_qa"), base))
    fit_rows, check_rows = halves(data)
    para = data.want >= 0
    print("evidence | hit@1, no threshold | check half: hit@1, unrelated, near misses | 5-fold: same")
    for names, source in variants:
        columns = pick_columns(names, source)
        *_, threshold, scores = fit(columns, data, fit_rows, source)
        top1 = float(np.mean(scores[para].argmax(1) == data.want[para]))
        check = figures(scores, data, check_rows, threshold)
        cv = cross_validated(columns, data, source)
        name = " + ".join(names) + (" (as typed)" if source is typed_base else "")
        check_text, cv_text = (" ".join(f"{v:.3f}" for v in figs) for figs in (check, cv))
        print(f"{name} | {top1:.3f} | {check_text} | {cv_text}")


def report(name: str, scores: np.ndarray, data: Data, rows: np.ndarray, threshold: float) -> None:
    hit, false, near = figures(scores, data, rows, threshold)
    n_para, n_unrel = int((data.want[rows] >= 0).sum()), int((data.want[rows] < 0).sum())
    print(f"{name} | {n_para} | {hit:.3f} | {n_unrel} | {false:.3f} | {near:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--answers", type=Path, help="saved answers (format of tests/data/saved/saved_answers.yaml)"
    )
    parser.add_argument("--paraphrases", type=Path, help="their paraphrases and unrelated questions")
    parser.add_argument("--compare", action="store_true", help="score the evidence variants side by side")
    parser.add_argument(
        "--fit", action="store_true", help=f"refit the model on the fit half into {MODEL_FILE}"
    )
    args = parser.parse_args()
    own = args.answers is None and args.paraphrases is None
    if own != (args.answers is None or args.paraphrases is None) or (not own and (args.fit or args.compare)):
        parser.error("--answers and --paraphrases go together, without --fit or --compare")
    data = load(
        args.answers or DATA / "saved_answers.yaml", args.paraphrases or DATA / "saved_paraphrases.yaml"
    )
    advisor = Advisor.load(load_settings())
    matcher = SavedMatcher.from_advisor(advisor)  # as the bot matches (bot/slack/listeners)
    base = base_tensor(matcher, data)
    print(
        f"saved answers: {len(data.saved)}; paraphrases: {int((data.want >= 0).sum())}; unrelated: "
        f"{int((data.want < 0).sum())} ({int(data.near.sum())} near misses)"
    )
    if args.compare:
        compare(advisor, matcher, data, base)
    model = matcher.model
    if args.fit:
        w, b, floors, threshold, _ = fit(lambda f: margins(base, f), data, halves(data)[0], base)
        model = MatchModel(tuple(float(v) for v in w), b, floors, threshold)
        MODEL_FILE.write_text(model.to_json(fitted_on="tests/data/saved, fit half", c=C) + "\n")
        print(f"wrote {MODEL_FILE}")
        cv = cross_validated(lambda f: margins(base, f), data, base)
        print(
            f"5-fold cross-validated: hit@1 {cv[0]:.3f}, unrelated matched {cv[1]:.3f}, "
            f"near misses {cv[2]:.3f}"
        )
    scores = model.likelihood(margins(base, model.floors))
    para = data.want >= 0
    print(
        f"hit@1 with no threshold: {np.mean(scores[para].argmax(1) == data.want[para]):.3f}; threshold "
        f"{model.threshold:.3f} ({MODEL_FILE.name}{', just fitted' if args.fit else ', not refitted here'})"
    )
    print("set | paraphrases | hit@1 | unrelated | unrelated matched | near misses matched")
    everything = np.arange(len(data.questions))
    if own:
        fit_rows, check_rows = halves(data)
        report("fit half", scores, data, fit_rows, model.threshold)
        report("check half", scores, data, check_rows, model.threshold)
    report("all", scores, data, everything, model.threshold)


if __name__ == "__main__":
    main()
