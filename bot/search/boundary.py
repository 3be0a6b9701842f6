"""The reply boundary: whether to answer, caveat or decline, from the top score and the
question's scope (a logistic boundary fitted with the ranker, bot/ranker.json ``refusal``)."""

from __future__ import annotations

from .answer import Status
from .corpus import Corpus
from .ranker import Ranker
from .signals import Signals

UNCURATED_MIN_DENSE = 0.3  # cosine of the question and a playbook's answering sentence
# An out-of-scope example at least this close (cosine) to a playbook's answering sentence is a
# question that sentence speaks to, so it says nothing against that answer. Chosen across the
# three tuning playbooks, each held out in turn (scripts/eval_playbooks.py, docs/retrieval.md).
SCOPE_ANSWERED = 0.47


def reply_margin(ranker: Ranker, top_score: float, off_scope: float, in_scope: float) -> float:
    """z of the boundary: ``score * top score + off_scope * margin + scope * logit + bias``,
    where the margin is how much closer the question is to an out-of-scope example than to any
    curated key, and the logit the scope classifier's (bot.search.fitting.scope_classifier).
    Below 0 the question is refused, below the ranker's ``caveat`` caveated; a stronger answer
    tolerates a closer out-of-scope example."""
    r = ranker.refusal
    return r["score"] * top_score + r["off_scope"] * off_scope + r["scope"] * in_scope + r["bias"]


def decide(
    ranker: Ranker, top_score: float, off_scope: float | None, in_scope: float | None, beyond: float
) -> Status:
    """Answered, low_confidence or not_covered, from the top score, the off-scope margin and
    the scope classifier's logit (None where they say nothing: the ranker's typical values
    stand in) and how far beyond its hard threshold the question is (:func:`beyond_scope`;
    > 0: refused whatever the score)."""
    z = reply_margin(
        ranker,
        top_score,
        ranker.typical_off_scope if off_scope is None else off_scope,
        ranker.typical_in_scope if in_scope is None else in_scope,
    )
    if beyond > 0 or z < 0:
        return "not_covered"
    return "low_confidence" if z < ranker.caveat else "answered"


def _open_examples(corpus: Corpus, signals: Signals, top_row: int) -> float:
    """The question's cosine with the closest out-of-scope example that neither a loaded
    playbook covers nor the answering sentence ``top_row`` speaks to (-inf: none is left)."""
    answered = corpus.index.scope_vectors @ corpus.sentence_vectors[top_row] >= SCOPE_ANSWERED
    left = ~(corpus.scope_covered | answered)
    return float(signals.scope_sims[left].max()) if left.any() else float("-inf")


def beyond_scope(
    ranker: Ranker, signals: Signals, top_row: int, curated: bool, corpus: Corpus | None = None
) -> float:
    """How far past its hard off-scope threshold a question is whose best sentence is
    ``top_row`` (> 0: refused whatever the score; -inf without out-of-scope examples).

    Curated answers compare the closest out-of-scope example with the closest curated key;
    an answer from an uncurated section (a playbook has no keys written as questions)
    compares it with the answering sentence itself, against a threshold of its own, and
    counts only the examples that sentence does not speak to (given the ``corpus``).
    """
    if signals.off_scope is None or signals.scope_best is None:
        return float("-inf")
    if curated:
        return signals.off_scope - ranker.off_scope
    # Held against the examples no loaded playbook covers: "how much discount can a rep give?"
    # is out of the article's scope, and in the scope of a playbook with a discount matrix.
    best = signals.scope_best if signals.scope_open is None else signals.scope_open
    if corpus is not None and signals.scope_sims is not None:
        # "How are territories assigned?" is out of the article's scope; it is no evidence
        # against a playbook sentence about assigning territories, however close the question.
        best = _open_examples(corpus, signals, top_row)
    dense = signals.value("dense", top_row)
    beyond = best - dense - ranker.uncurated_off_scope
    # A playbook sentence that hardly resembles the question is no answer, however the other
    # signals add up ("how many calories are in an avocado?" against a table of SDR quotas).
    return max(beyond, UNCURATED_MIN_DENSE - dense) if dense < UNCURATED_MIN_DENSE else beyond


def status(
    ranker: Ranker,
    signals: Signals,
    top_row: int,
    top_score: float,
    curated: bool,
    closest_plan: float | None = None,
    corpus: Corpus | None = None,
) -> Status:
    """The answer's status: the boundary over the top score, the off-scope margin and the
    scope classifier, which speak for curated answers only (an uncurated one, ``curated``
    False, is judged by its score and :func:`beyond_scope`).

    ``closest_plan``, for a plan (bot.search.stance): the cosine of its closest claim plan. One
    within the ranker's ``plan_reply`` is a principle of the article bearing on the plan: it is
    answered whatever the boundary (fitted on questions, a different kind of message) said,
    unless it is closer to an out-of-scope example than to every curated key by more than the
    ranker's ``plan_off_scope``. ``corpus``: the index's, for a playbook's answer
    (:func:`beyond_scope`)."""
    margin, in_scope = (signals.off_scope, signals.in_scope) if curated else (None, None)
    beyond = beyond_scope(ranker, signals, top_row, curated, corpus)
    lifted = signals.off_scope is None or signals.off_scope <= ranker.plan_off_scope
    if closest_plan is not None and closest_plan >= ranker.plan_reply and beyond <= 0 and lifted:
        return "answered"
    return decide(ranker, top_score, margin, in_scope, beyond)
