"""The fitted ranker (bot/ranker.json): one weight per signal of bot.search.signals, the reply
boundary's coefficients, the quote's margins and the query adapter. Fitted by
scripts/tune_ranking.py on question sets that name the answering sentence."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .signals import Signals

logger = logging.getLogger(__name__)

RANKER_FILE = Path(__file__).parent.parent / "ranker.json"
FROM_RANKER = object()  # Advisor's adapter: the one ranker.json names (when fitted on this model)


@dataclass(frozen=True)
class Ranker:
    """A linear ranker over :class:`Signals` and the thresholds that set an answer's status."""

    weights: dict[str, float]
    lexical_scale: float  # BM25 score at which a squashed lexical signal is 0.5
    # Whether to reply: a logistic boundary (bot.search.boundary) over the top score, the
    # off-scope margin and the scope classifier's logit; its "score", "off_scope", "scope", "bias".
    refusal: dict[str, float]
    caveat: float  # a reply whose z is below this gets low_confidence (the weakest one in twenty)
    off_scope: float  # an off-scope margin above this: not covered, however high the score
    # The margin z assumes where it says nothing: no out-of-scope examples at all, or an answer
    # from a section nobody curated (judged by its score; see bot.search.boundary.beyond_scope). The mean
    # margin of the questions the boundary was fitted on.
    typical_off_scope: float = -0.1
    typical_in_scope: float = 0.0  # the same for the scope classifier's logit
    # For an answer from a section nobody curated: how much closer the question may be to an
    # out-of-scope example than to the answering sentence itself.
    uncurated_off_scope: float = 0.05
    # How much closer a question is to a sentence's curated questions than to the sentence
    # (lower quartile, at the answering sentences of the tuning sets): added to an uncurated one.
    uncurated_key_shift: float = 0.15
    quote_min_words: int = 8  # a shorter best sentence takes its neighbour along
    neighbour_margin: float = 1.0  # a neighbour whose score is this close to the best joins the quote
    quote_max_words: int = 1000  # ... if the quote stays this short with it
    assignment_margin: float = 3.0  # so does one holding an assignment, when the quote has none
    both_margin: float = 0.03  # two assignments this close to the question: verdict "both"
    # A plan (bot.search.stance): its claim plans count above this cosine (the plans signal),
    # and one this close or closer is a principle that bears on it: the plan is not refused.
    plan_floor: float = 0.45
    plan_reply: float = 0.5
    plan_off_scope: float = 0.0
    # The query adapter fitted with the weights (scripts/tune_ranking.py): a d x d matrix A
    # that maps a question's vector q to q + qA, towards the sentences that answer such
    # questions. "file" (beside this one), its "sha256", and the "model" weights' digest (the
    # part of the model id after "@") it was fitted on; None: no adapter.
    adapter: dict[str, str] | None = None

    @classmethod
    def load(cls, path: Path = RANKER_FILE) -> Ranker:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data["weights"]) - set(Signals.names())
        if unknown:
            raise ValueError(f"{path}: unknown signals {sorted(unknown)}")
        missing = {"score", "off_scope", "scope", "bias"} - set(data["refusal"])
        if missing:
            raise ValueError(f"{path}: the refusal boundary lacks {sorted(missing)}")
        adapter = data.get("adapter")
        if adapter is not None and set(adapter) != {"file", "sha256", "model"}:
            raise ValueError(
                f"{path}: the adapter needs exactly file, sha256 and model, not {sorted(adapter)}"
            )
        if adapter is None and data["weights"].get("adapted"):
            # Without its adapter the signal is the plain cosine, and the fitted weights on
            # dense and adapted (opposite signs) no longer mean what they were fitted to.
            raise ValueError(f"{path}: the adapted signal has a weight but no adapter is named")
        return cls(**data)

    def load_adapter(self, model_id: str, directory: Path = RANKER_FILE.parent) -> np.ndarray | None:
        """The query adapter, if it was fitted on the weights of the model ``model_id``
        (None: no adapter, or another model, whose vectors it would only scramble).

        A file whose digest is not the one recorded is refused: it was not fitted with these
        weights."""
        if self.adapter is None:
            return None
        if model_id.rpartition("@")[2] != self.adapter["model"]:
            logger.warning(
                "query adapter fitted on another model (%s), not used: ranking is weaker; refit with "
                "scripts/tune_ranking.py --write",
                self.adapter["model"],
            )
            return None
        path = Path(directory) / self.adapter["file"]
        if not path.is_file():
            raise ValueError(f"{path}: the query adapter ranker.json names is missing")
        data = path.read_bytes()  # one read: the bytes checked are the bytes loaded
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.adapter["sha256"]:
            raise ValueError(
                f"{path}: SHA-256 {digest[:16]}, not the {self.adapter['sha256'][:16]} ranker.json was "
                "fitted with (refit: scripts/tune_ranking.py --write)"
            )
        return np.load(io.BytesIO(data)).astype(np.float32)

    def vector(self) -> np.ndarray:
        return np.array([self.weights.get(name, 0.0) for name in Signals.names()], dtype=np.float32)
