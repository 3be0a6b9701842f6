"""Fit the sentence ranker and the answer thresholds on question sets, honestly.

    .venv/bin/python scripts/tune_ranking.py tests/data/blind_tune_a.yaml tests/data/blind_tune_b.yaml \
        tests/data/blind_final.yaml tests/data/blind_final_2.yaml ... tests/data/blind_final_10.yaml \
        tests/data/questions.yaml tests/data/check_questions.yaml tests/data/holdout_questions.yaml \
        tests/data/final_questions.yaml [--write] [--no-adapter]

(the whole list in docs/retrieval.md, "Re-running").

1. Every signal of every sentence (bot.search.signals.Signals) is computed once per question with
   the real model.
2. The query adapter: a d x d matrix A mapping a question's vector q to q + qA, fitted by a
   softmax over all the sentences towards the ones that answer it (the items with phrases),
   L2-penalised, by L-BFGS. Its signal (``adapted``: the cosine of the mapped question with each
   sentence) is stacked: each set's column comes from an adapter fitted on the other sets, so
   the weights below learn how far an adapter is worth trusting on questions it never saw.
   The adapter stored is fitted on every set.
3. Weights: a listwise softmax over all sentences. The target is the sentences that contain
   an item's ``quote_has`` phrases inside its sections, or, for items without phrases, every
   sentence of its sections. Fitted by L-BFGS with a small L2 penalty. Leave-one-set-out:
   each set is scored by weights fitted on the others, so the figure shows how the weights
   do on questions they never saw.
4. Whether to reply: with the weights fitted on all sets, a logistic boundary over the top
   score, the off-scope margin and the index's scope classifier that separates in-domain from
   off-topic questions over all the sets; leave-one-set-out too (each set judged by a boundary
   fitted on the others).

Keep sets out of all of this (tests/data/blind_final_11.yaml was; unscored/blind_final_12.yaml
is) and score them once, at the end. Each left-out set is also scored through ``advisor.ask``
with its own adapter and weights: the quote of one to three sentences, as ``advisor eval``
scores it.
``--write`` stores the fit in bot/ranker.json and the adapter in bot/adapter.npy.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from bot.config import load_settings
from bot.search.advisor import Advisor
from bot.search.digest import file_sha256
from bot.search.embedder import normalised
from bot.search.evaluation import advisor_ranker, evaluate, load_eval_set
from bot.search.ranker import RANKER_FILE, Ranker
from bot.search.signals import Signals

L2 = 0.01
ADAPTER_FILE = RANKER_FILE.with_name("adapter.npy")
ADAPTER_L2 = 1e-3  # chosen on the sets, side by side with 1e-4 and 1e-2 (docs/retrieval.md)
ADAPTER_SCALE = 20.0  # the softmax's inverse temperature over cosines
KEPT = ("plans",)  # signals whose weight a refit keeps (set by their own sweep)


@dataclass
class Item:
    features: np.ndarray  # sentences x signals
    target: np.ndarray  # bool per sentence
    sections: np.ndarray  # bool per sentence: inside an acceptable section
    phrases: bool
    scope: tuple[float, float]  # (off-scope margin, scope classifier's logit)
    vector: np.ndarray  # the question's vector


@dataclass
class OffTopic:
    features: np.ndarray
    scope: tuple[float, float]
    near: bool
    vector: np.ndarray


def features(advisor: Advisor, path: Path) -> tuple[list[Item], list[OffTopic]]:
    eval_set = load_eval_set(path, advisor.knowledge)
    headings = np.array([heading for heading, _text in advisor.sentences])
    texts = [text for _heading, text in advisor.sentences]
    items = []
    for item in eval_set.in_domain:
        text = advisor.prepare(item.question)
        embedded = advisor.embedding(text)  # one model call for the signals and the vector
        signals = advisor.signals(text, embedded)
        in_sections = np.isin(headings, item.sections)
        if item.quote_has:
            has = np.array([any(p in t for p in item.quote_has) for t in texts])
            target = in_sections & has
            if not target.any():  # the phrase spans two sentences: take the sentences it touches
                target = in_sections & np.array(
                    [any(t in p or p[:20] in t for p in item.quote_has) for t in texts]
                )
        else:
            target = in_sections
        vector = embedded[0][0]
        items.append(
            Item(signals.matrix(), target, in_sections, bool(item.quote_has), _scope(signals), vector)
        )
    off = []
    for item in eval_set.off_topic:
        text = advisor.prepare(item.question)
        embedded = advisor.embedding(text)
        signals = advisor.signals(text, embedded)
        off.append(OffTopic(signals.matrix(), _scope(signals), item.near_miss, embedded[0][0]))
    return items, off


def _scope(signals: Signals) -> tuple[float, float]:
    return signals.off_scope, signals.in_scope


def fit_adapter(items: list[Item], sentences: np.ndarray, keys: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The query adapter A (d x d) over the items with phrases and the knowledge's curated
    sentence keys (``keys``: their vectors and sentence rows): q -> normalised(q + qA), a
    softmax over every sentence's cosine towards the sentences holding the phrases (the
    key's own sentence)."""
    key_vectors, key_rows = keys
    key_target = np.zeros((len(key_rows), len(sentences)), dtype=bool)
    key_target[np.arange(len(key_rows)), key_rows] = True
    x = np.vstack([np.array([i.vector for i in items if i.phrases]), key_vectors]).astype(np.float64)
    target = np.vstack([np.array([i.target for i in items if i.phrases]), key_target])
    n, d = x.shape

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        a = flat.reshape(d, d)
        mapped = x + x @ a
        norm = np.linalg.norm(mapped, axis=1, keepdims=True)
        q = mapped / norm
        logits = ADAPTER_SCALE * q @ sentences.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        pt = np.where(target, p, 0.0)
        z, zt = p.sum(axis=1, keepdims=True), pt.sum(axis=1, keepdims=True)
        value = float(np.mean(np.log(z) - np.log(zt))) + ADAPTER_L2 * float((a * a).sum())
        d_q = (ADAPTER_SCALE / n) * (p / z - pt / zt) @ sentences
        d_mapped = (d_q - (d_q * q).sum(axis=1, keepdims=True) * q) / norm
        return value, (x.T @ d_mapped + 2 * ADAPTER_L2 * a).ravel()

    result = minimize(loss, np.zeros(d * d), jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return result.x.reshape(d, d).astype(np.float32)


def adapted(vectors: np.ndarray, adapter: np.ndarray, sentences: np.ndarray) -> np.ndarray:
    """The ``adapted`` signal of questions (rows of ``vectors``), as bot.search.signals computes it."""
    return normalised(vectors + vectors @ adapter) @ sentences.T


def stack_adapters(
    sets: dict, sentences: np.ndarray, keys: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each set's ``adapted`` column from an adapter fitted on the other sets (in place).
    Returns the adapter fitted on every set, and each set's own (fitted without it)."""
    column = Signals.names().index("adapted")
    every = fit_adapter([i for items, _off in sets.values() for i in items], sentences, keys)
    own_adapters = {}
    for name, (items, off) in sets.items():
        rest = [i for other, (its, _o) in sets.items() if other != name for i in its]
        own = any(i.phrases for i in items)
        adapter = fit_adapter(rest, sentences, keys) if own else every  # a set it never saw either way
        own_adapters[name] = adapter
        for row in items + off:
            row.features[:, column] = adapted(row.vector[None, :], adapter, sentences)[0]
    return every, own_adapters


SECTION_WEIGHT = 0.3  # an item that names only sections says less than one that names the sentence


def loss(w: np.ndarray, items: list[Item]) -> tuple[float, np.ndarray]:
    total, grad = L2 * w @ w, 2 * L2 * w
    norm = sum(1.0 if i.phrases else SECTION_WEIGHT for i in items)
    for item in items:
        weight = 1.0 if item.phrases else SECTION_WEIGHT
        s = item.features @ w
        s = s - s.max()
        p = np.exp(s)
        z = p.sum()
        zt = p[item.target].sum()
        total -= weight * np.log(zt / z)
        grad -= weight * ((p[item.target] @ item.features[item.target]) / zt - (p @ item.features) / z)
    return total / norm, grad / norm


def fit(items: list[Item]) -> np.ndarray:
    w0 = np.ones(items[0].features.shape[1])
    result = minimize(loss, w0, args=(items,), jac=True, method="L-BFGS-B")
    return result.x


def score(w: np.ndarray, items: list[Item]) -> tuple[float, float]:
    """(section hit@1, share of items with phrases whose top sentence holds one)."""
    hit = quoted = with_phrases = 0
    for item in items:
        top = int(np.argmax(item.features @ w))
        hit += bool(item.sections[top])
        if item.phrases:
            with_phrases += 1
            quoted += bool(item.target[top])
    return hit / len(items), quoted / with_phrases if with_phrases else float("nan")


BOUNDARY = ("score", "off_scope", "scope")  # the columns of _rows, and the keys of a refusal
# The hard cut: a question this much closer to an out-of-scope example than to every curated
# key is refused, whatever the boundary says. Chosen by the leave-one-set-out sweep the script
# prints (docs/retrieval.md): 0 refused a few in-domain questions the classifier now keeps.
HARD_CUT = 0.05


def _rows(w: np.ndarray, sets: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top score, off-scope margin, scope logit) of the sets' in-domain and off-topic
    questions, and which off-topic ones are near misses."""
    inside = np.array([((i.features @ w).max(), *i.scope) for its, _o in sets.values() for i in its])
    outside = np.array([((o.features @ w).max(), *o.scope) for _i, off in sets.values() for o in off])
    near = np.array([o.near for _i, off in sets.values() for o in off], dtype=bool)
    return inside.reshape(-1, 3), outside.reshape(-1, 3), near


def boundary(
    inside: np.ndarray, outside: np.ndarray, columns: tuple[str, ...] = BOUNDARY
) -> dict[str, float]:
    """The logistic boundary z = score x top + off_scope x margin + scope x logit + bias:
    in-domain questions (z > 0) against off-topic ones, each class weighing the same,
    L2-penalised on standardised features. ``columns``: which of :data:`BOUNDARY` it may use
    (the others get 0)."""
    use = [BOUNDARY.index(name) for name in columns]
    x = np.vstack([inside, outside])[:, use]
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    y = np.r_[np.ones(len(inside)), np.zeros(len(outside))]
    weight = np.r_[np.full(len(inside), 1 / len(inside)), np.full(len(outside), 1 / len(outside))]
    n = len(use)

    def loss(b: np.ndarray) -> float:
        p = 1 / (1 + np.exp(-(z @ b)))
        likelihood = y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)
        return -(weight * likelihood).sum() + L2 * b[:n] @ b[:n]

    b = minimize(loss, np.zeros(n + 1), method="L-BFGS-B").x
    refusal = dict.fromkeys(BOUNDARY, 0.0) | {name: b[j] / scale[j] for j, name in enumerate(columns)}
    refusal["bias"] = b[n] - sum(refusal[name] * mean[j] for j, name in enumerate(columns))
    return refusal


def margin(refusal: dict[str, float], rows: np.ndarray) -> np.ndarray:
    return rows @ np.array([refusal[name] for name in BOUNDARY]) + refusal["bias"]


def replies(refusal: dict[str, float], rows: np.ndarray, cut: float = HARD_CUT) -> np.ndarray:
    """Which questions the boundary replies to (and the hard cut: a margin above ``cut`` is
    refused)."""
    return (margin(refusal, rows) >= 0) & (rows[:, 1] <= cut)


def left_out(w: np.ndarray, sets: dict, columns: tuple[str, ...], cut: float) -> tuple[float, float, float]:
    """The boundary's leave-one-set-out figures (means over the sets): replied, refused, near
    misses refused; each set judged by a boundary fitted on the others."""
    replied, refused, near = [], [], []
    for name in sets:
        rest = {other: v for other, v in sets.items() if other != name}
        fitted = boundary(*_rows(w, rest)[:2], columns)
        inside, outside, is_near = _rows(w, {name: sets[name]})
        replied.append(replies(fitted, inside, cut).mean())
        if len(outside):
            refused.append((~replies(fitted, outside, cut)).mean())
            if is_near.any():
                near.append((~replies(fitted, outside[is_near], cut)).mean())
    return float(np.mean(replied)), float(np.mean(refused)), float(np.mean(near))


def thresholds(w: np.ndarray, sets: dict) -> dict:
    """Where to refuse, and where to answer with a caveat, over all the sets.

    Refuse below the logistic :func:`boundary`, and any question much closer to an
    out-of-scope example than to every key (margin above :data:`HARD_CUT`: the owner's word,
    whatever the score). The caveat band is the weakest one in twenty of the replies.
    Leave-one-set-out figures are printed first: without the scope classifier, and with it at
    several hard cuts (docs/retrieval.md).
    """
    print("reply boundary, left out set by set (means over the sets): replied, refused, near misses")
    for columns in (BOUNDARY[:2], BOUNDARY):
        for cut in (0.0, HARD_CUT, 0.1, float("inf")):
            figures = "  ".join(f"{x:.3f}" for x in left_out(w, sets, columns, cut))
            print(f"  {' + '.join(columns):<24} hard cut {cut:<4}  {figures}")
    inside, outside, _near = _rows(w, sets)
    refusal = boundary(inside, outside)
    z = margin(refusal, inside)
    caveat = float(np.percentile(z[replies(refusal, inside)], 5))
    terms = " + ".join(f"{refusal[name]:.4f} x {name}" for name in BOUNDARY)
    print(
        f"refuse below {terms} + {refusal['bias']:.3f} (replied {replies(refusal, inside).mean():.3f},"
        f" refused {(~replies(refusal, outside)).mean():.3f}); caveat below {caveat:.3f}"
    )
    every = np.vstack([inside, outside])
    return {
        "refusal": {k: round(float(v), 4) for k, v in refusal.items()},
        "caveat": round(caveat, 4),
        "off_scope": HARD_CUT,
        "typical_off_scope": round(float(every[:, 1].mean()), 4),
        "typical_in_scope": round(float(every[:, 2].mean()), 4),
    }


def key_shift(items: list[Item]) -> float:
    """The gap between a sentence's curated-key signal and its own cosine at the sentences
    that answer the items naming them (what an uncurated sentence lacks): its lower quartile,
    so that a playbook competes with the article without drowning it (docs/retrieval.md)."""
    names = Signals.names()
    keys, dense = names.index("sentence_keys"), names.index("dense")
    gaps = [f[keys] - f[dense] for i in items if i.phrases for f in i.features[i.target]]
    shift = round(float(np.percentile(gaps, 25)), 3)
    print(f"uncurated sentences: key shift {shift}")
    return shift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help=f"store the fit in {RANKER_FILE}")
    parser.add_argument("--no-adapter", action="store_true", help="score without the query adapter")
    args = parser.parse_args()
    if args.write and args.no_adapter:
        parser.error("--write stores the adapter: not with --no-adapter")
    # Without the stored adapter (refitted here: a missing or stale one must not stop the refit).
    advisor = Advisor.load(load_settings(), adapter=None)
    names = Signals.names()
    sets = {path.name: features(advisor, path) for path in args.sets}
    sentences = advisor.index.sentence_index.reconstruct_n(0, advisor.index.sentence_index.ntotal)
    index = advisor.index
    keys = (index.sentence_key_vectors, np.array([k.sentence for k in index.sentence_keys]))
    if args.no_adapter:  # the side-by-side figure: adapted is then the plain cosine
        adapter = np.zeros((sentences.shape[1],) * 2, dtype=np.float32)
        own_adapters = dict.fromkeys(sets, adapter)
    else:
        adapter, own_adapters = stack_adapters(sets, sentences, keys)
    print("signals:", ", ".join(names))
    print("left out set by set: hit@1, top sentence holds the phrase; then advisor.ask's own quote")
    shipped = Ranker.load()
    for path in args.sets:
        name = path.name
        items = sets[name][0]
        rest = [i for other, (its, _o) in sets.items() if other != name for i in its]
        w = fit(rest)
        hit, quoted = score(w, items)
        line = f"  left out {name:<28} hit@1 {hit:.3f}  top sentence holds the phrase {quoted:.3f}"
        if any(i.phrases for i in items):
            # The whole answer path (quote of 1-3 sentences, status) with this set's weights and adapter.
            ranker = replace(shipped, weights={n: float(x) for n, x in zip(names, w, strict=True)})
            left = Advisor(
                advisor.knowledge, advisor.embedder, index, ranker=ranker, adapter=own_adapters[name]
            )
            report = evaluate("advisor", advisor_ranker(left), load_eval_set(path, advisor.knowledge))
            line += f"  quote {report.quote_precision:.3f}"
        print(line, flush=True)
    w = fit([i for items, _off in sets.values() for i in items])
    print("fitted on all:", {n: round(float(x), 3) for n, x in zip(names, w, strict=True)})
    for name, (items, _off) in sets.items():
        hit, quoted = score(w, items)
        print(f"  {name:<37} hit@1 {hit:.3f}  top sentence holds the phrase {quoted:.3f}")
    cuts = thresholds(w, sets)
    cuts["uncurated_key_shift"] = key_shift([i for items, _off in sets.values() for i in items])
    if args.write:
        weights = {n: round(float(x), 4) for n, x in zip(names, w, strict=True)}
        # The plans signal is set by its own sweep on a plan set (scripts/eval_plans.py,
        # docs/retrieval.md): question sets say nothing of it, so a refit keeps it.
        weights.update({n: shipped.weights[n] for n in KEPT if n in shipped.weights})
        np.save(ADAPTER_FILE, adapter.astype(np.float16))
        cuts["adapter"] = {
            "file": ADAPTER_FILE.name,
            "sha256": file_sha256(ADAPTER_FILE),
            "model": advisor.embedder.model_id.rpartition("@")[2],
        }
        print(f"wrote {ADAPTER_FILE}")
        ranker = Ranker(**{**asdict(Ranker.load()), "weights": weights, **cuts})
        RANKER_FILE.write_text(json.dumps(asdict(ranker), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {RANKER_FILE}")


if __name__ == "__main__":
    main()
