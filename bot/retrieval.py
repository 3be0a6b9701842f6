"""Answer a question: sentence-level ranking, a verbatim quote, a verdict and a confidence.

The question is cleaned of Slack markup, its abbreviations spelled out (curated glossary)
and its typos fixed against the knowledge's words. Every sentence of the knowledge is then
scored from the signals in :class:`Signals` by a linear ranker whose weights were fitted
(``scripts/tune_ranking.py``, stored in ``bot/ranker.json``) on question sets that name the
answering sentence. Sections rank by their best sentence. The quote is the best sentence,
run on to the next one where it only asks or is too thin to stand alone, or to a neighbour
that holds the clause that gives the job (at most three sentences, one paragraph). The
verdict is the owner of the curated assignment inside the quote that is closest to the
question; a quote that assigns nothing gives no verdict.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np

from .backend import load_model_and_index
from .config import Settings
from .embedding import Embedder, Tokens, normalised
from .index import SearchIndex, common_pieces, is_curated, section_ref
from .knowledge import Document, Knowledge, load_knowledge
from .passages import TAKEAWAY, Passage, Sentence, paragraph_text
from .spelling import SpellFixer
from .text import Glossary, clean_question, has_words, tokenize

logger = logging.getLogger(__name__)

Status = Literal["answered", "low_confidence", "not_covered"]
RANKER_FILE = Path(__file__).with_name("ranker.json")
FROM_RANKER = object()  # Advisor's adapter: the one ranker.json names (when fitted on this model)


@dataclass(frozen=True)
class Signals:
    """Every signal of every sentence for one question; arrays aligned with sentence rows."""

    dense: np.ndarray  # cosine of the question with the sentence
    adapted: np.ndarray  # cosine of the question mapped by the query adapter (else dense)
    context: np.ndarray  # cosine with the passage around it
    sentence_keys: np.ndarray  # best cosine with its curated questions and topics (else dense)
    sentence_keys2: np.ndarray  # mean of its two closest curated questions (else sentence_keys)
    neighbours: np.ndarray  # the best sentence_keys of the sentences either side, same paragraph
    lexical: np.ndarray  # BM25 over the sentence and its heading, squashed
    tokens: np.ndarray  # each question word piece's best cosine with the sentence's, IDF-weighted mean
    tokens_back: np.ndarray  # each sentence word piece's best cosine with the question's, mean
    section_tokens: np.ndarray  # the best plain mean of the first, over its section's sentences
    section_keys: np.ndarray  # mean of the two closest curated keys of its section
    section_lexical: np.ndarray  # BM25 over its section's curated text, squashed
    section_best: np.ndarray  # the best sentence_keys of any sentence in its section
    takeaway: np.ndarray  # 1 for a section's bold takeaway line, which restates a paragraph's sentence
    amount: np.ndarray  # 1 for a sentence stating a number, when the question asks for an amount or a time
    assigns: np.ndarray  # 1 for a sentence giving a job to a department, when the question asks who
    off_scope: float | None  # how much closer the question is to an out-of-scope example than to any key
    scope_best: float | None  # cosine with the closest out-of-scope example (None without any)
    in_scope: float | None  # the index's scope classifier's logit (None without one)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.type == "np.ndarray")

    def matrix(self) -> np.ndarray:
        """(sentences x signals), columns in :meth:`names` order."""
        return np.column_stack([getattr(self, name) for name in self.names()])


@dataclass(frozen=True)
class Ranker:
    """A linear ranker over :class:`Signals` and the thresholds that set an answer's status."""

    weights: dict[str, float]
    lexical_scale: float  # BM25 score at which a squashed lexical signal is 0.5
    # Whether to reply: a logistic boundary fitted over the top score, the off-scope margin (how
    # much closer the question is to an out-of-scope example than to any curated key) and the
    # scope classifier's logit (bot.index.scope_classifier):
    # z = score * top score + off_scope * margin + scope * logit + bias; below 0 the question
    # is not covered. A stronger answer tolerates a closer out-of-scope example.
    refusal: dict[str, float]
    caveat: float  # a reply whose z is below this gets low_confidence (the weakest one in twenty)
    off_scope: float  # an off-scope margin above this: not covered, however high the score
    # The margin z assumes where it says nothing: no out-of-scope examples at all, or an answer
    # from a section nobody curated (judged by its score; see Advisor.beyond_scope). The mean
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
    assignment_margin: float = 3.0  # so does one holding an assignment, when the quote has none
    both_margin: float = 0.03  # two assignments this close to the question: verdict "both"
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

    def reply_margin(self, top_score: float, off_scope: float, in_scope: float) -> float:
        """z of :attr:`refusal`: below 0 the question is refused, below :attr:`caveat` caveated."""
        r = self.refusal
        return r["score"] * top_score + r["off_scope"] * off_scope + r["scope"] * in_scope + r["bias"]

    def status(
        self, top_score: float, off_scope: float | None, in_scope: float | None, beyond_scope: float
    ) -> Status:
        """Answered, low_confidence or not_covered, from the top score, the off-scope margin
        and the scope classifier's logit (None where they say nothing: :attr:`typical_off_scope`
        and :attr:`typical_in_scope` stand in) and how far beyond its hard threshold the
        question is (:meth:`Advisor.beyond_scope`; > 0: refused whatever the score)."""
        z = self.reply_margin(
            top_score,
            self.typical_off_scope if off_scope is None else off_scope,
            self.typical_in_scope if in_scope is None else in_scope,
        )
        if beyond_scope > 0 or z < 0:
            return "not_covered"
        return "low_confidence" if z < self.caveat else "answered"

    def vector(self) -> np.ndarray:
        return np.array([self.weights.get(name, 0.0) for name in Signals.names()], dtype=np.float32)


@dataclass(frozen=True)
class Hit:
    passage: Passage  # widened to the whole quote when the quote runs past the passage
    quote: str
    owner: str | None  # the verdict the quote carries, or None when it assigns nothing
    score: float

    def to_dict(self) -> dict:
        return {
            "id": self.passage.id,
            "section": self.passage.section,
            "text": self.passage.text,
            "quote": self.quote,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    owner: str | None
    hits: tuple[Hit, ...]

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "owner": self.owner,
            "passages": [hit.to_dict() for hit in self.hits],
        }


def _knowledge_texts(knowledge: Knowledge):
    for section in knowledge.retrievable_sections():
        yield from (section.heading, section.takeaway, *section.topics, *section.questions)
        yield from (p.text for p in section.paragraphs)


def _squash(scores: np.ndarray, scale: float) -> np.ndarray:
    scores = np.maximum(scores, 0.0)
    return (scores / (scores + scale)).astype(np.float32)


# Answer-type cue: a question asking for an amount, a size, a time or a rate wants the sentence
# that states one ("how quickly" -> "within two business days", "at what revenue" -> "100 million").
_ASKS_AMOUNT = re.compile(
    r"\b(how (much|many|long|quickly|fast|soon|often|big|large|old|far)"
    r"|at what (point|stage|size|revenue|level)|what (revenue|size|percentage|percent|number|amount|age)"
    r"|how \w+ (years|months|weeks|days))\b",
    re.IGNORECASE,
)
_STATES_AMOUNT = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|fifty|hundred|thousand"
    r"|million|billion|dozen|half|twice|percent)\b",
    re.IGNORECASE,
)
# A question asking which department does something: the sentences that give a job answer it.
_ASKS_OWNER = re.compile(
    r"\b(who|whom|whose|which (department|dept|team|group|function|side|one)|what (department|dept|team))\b",
    re.IGNORECASE,
)


def _group_max(values: np.ndarray, groups: np.ndarray, n_groups: int, fill: float = 0.0) -> np.ndarray:
    out = np.full(n_groups, fill, dtype=np.float32)
    np.maximum.at(out, groups, values)
    return out


class Advisor:
    """The offline core: knowledge, model and index, ready to answer questions."""

    def __init__(
        self,
        knowledge: Knowledge,
        embedder: Embedder,
        index: SearchIndex,
        *,
        top_k: int = 3,
        ranker: Ranker | None = None,
        adapter: np.ndarray | None | object = FROM_RANKER,
    ):
        self.knowledge = knowledge
        self.embedder = embedder
        self.index = index
        self.top_k = top_k
        self.ranker = ranker or Ranker.load()
        self._weights = self.ranker.vector()
        # The query adapter (d x d, or None): the ranker's unless one is given (the tuning
        # script scores each set with an adapter fitted without it).
        self._adapter = self.ranker.load_adapter(embedder.model_id) if adapter is FROM_RANKER else adapter
        self.glossary = Glossary(knowledge.glossary)
        self.speller = SpellFixer(_knowledge_texts(knowledge), embedder.known_words())
        self._sections = {section_ref(s.document_id, s.id): s for s in knowledge.retrievable_sections()}
        section_row = {ref: i for i, ref in enumerate(index.section_refs)}
        self._rows = index.sentence_rows  # (passage, sentence) of each sentence row
        # Every sentence and passage is scored for every question: exact inner products over the
        # flat indexes' vectors (a FAISS search for all n rows costs more than the product).
        self._sentence_vectors = index.sentence_index.reconstruct_n(0, index.sentence_index.ntotal)
        self._passage_vectors = index.passage_index.reconstruct_n(0, index.passage_index.ntotal)
        self._sentence_passage = np.array([p for p, _s in self._rows], dtype=np.int64)
        passage_section = [section_row[section_ref(p.document_id, p.section_id)] for p in index.passages]
        self._passage_section = np.array(passage_section, dtype=np.int64)
        self._sentence_section = self._passage_section[self._sentence_passage]
        # Out-of-scope examples speak for the curated knowledge (the article): an answer from a
        # section nobody curated (a company playbook) is judged by its score alone.
        curated = [is_curated(self._sections[ref]) for ref in index.section_refs]
        self._sentence_curated = np.array(curated, dtype=bool)[self._sentence_section]
        self._sentence_key_rows = np.array([k.sentence for k in index.sentence_keys], dtype=np.int64)
        self._takeaway = np.array(
            [index.passages[p].paragraph == TAKEAWAY for p, _s in self._rows], dtype=np.float32
        )
        self._states_amount = np.array(
            [bool(_STATES_AMOUNT.search(self._sentence_text(row))) for row in range(len(self._rows))],
            dtype=np.float32,
        )
        self._assigns = np.array(
            [self._has_assignment(row) for row in range(len(self._rows))], dtype=np.float32
        )
        self._has_keys = np.zeros(len(self._rows), dtype=bool)
        self._has_keys[self._sentence_key_rows] = True
        keys_of_sentence = [np.flatnonzero(self._sentence_key_rows == row) for row in range(len(self._rows))]
        width = max([len(k) for k in keys_of_sentence] + [1])
        self._keys_of_sentence = np.array(
            [np.pad(k, (0, width - len(k)), constant_values=-1) for k in keys_of_sentence], dtype=np.int64
        )
        self._section_key_rows = np.array(
            [section_row[k.section] for k in index.section_keys], dtype=np.int64
        )
        # Each sentence's paragraph, the paragraph's sentence rows in order, and the sentence's
        # offsets in its paragraph's text (quotes run across passages, never across paragraphs).
        self._paragraph_of: list[tuple[str, str, int]] = []
        self._paragraph_rows: dict[tuple[str, str, int], list[int]] = {}
        self._offsets: list[tuple[int, int]] = []
        for row, (p, s) in enumerate(self._rows):
            passage = index.passages[p]
            key = (passage.document_id, passage.section_id, passage.paragraph)
            self._paragraph_of.append(key)
            self._paragraph_rows.setdefault(key, []).append(row)
            sentence = passage.sentences[s]
            self._offsets.append((passage.start + sentence.start, passage.start + sentence.end))
        # The sentence before and after each one in its paragraph (-1: none), and each
        # section's key rows padded with -1: the per-question signals are then array lookups.
        self._before = np.full(len(self._rows), -1, dtype=np.int64)
        self._after = np.full(len(self._rows), -1, dtype=np.int64)
        for rows in self._paragraph_rows.values():
            self._before[rows[1:]] = rows[:-1]
            self._after[rows[:-1]] = rows[1:]
        keys_of = [np.flatnonzero(self._section_key_rows == row) for row in range(len(index.section_refs))]
        width = max(len(k) for k in keys_of)
        self._keys_of_section = np.array(
            [np.pad(k, (0, width - len(k)), constant_values=-1) for k in keys_of]
        )
        # Word-piece vectors of the sentences (late interaction: each question piece is matched
        # to its closest piece of each sentence), where each sentence's run starts, the pieces
        # left out (common_pieces) and the inverse document frequency of each over the sentences.
        self._token_vectors = index.sentence_tokens
        classifier = index.scope_classifier  # weights then bias, or empty (no out-of-scope examples)
        self._scope_weights = classifier[:-1] if len(classifier) else None
        self._scope_bias = float(classifier[-1]) if len(classifier) else 0.0
        self._token_projection = index.token_projection
        token_rows = index.sentence_token_pieces[:, 0]
        self._token_starts = np.searchsorted(token_rows, np.arange(len(self._rows)))
        self._token_counts = np.bincount(token_rows, minlength=len(self._rows)).astype(np.float32)
        self._common_pieces = common_pieces(index.piece_frequency, len(self._rows))
        n = len(self._rows) + 1
        self._idf = {int(i): float(np.log(n / (f + 0.5))) for i, f in index.piece_frequency}
        self._unseen_idf = float(np.log(n / 0.5))
        self._last_embedded: tuple[str, np.ndarray, Tokens] | None = None
        # The sections' curated questions and their vectors, for a refusal's suggestions.
        rows = [i for i, key in enumerate(index.section_keys) if key.kind == "question"]
        self._curated_questions = (
            [index.section_keys[i].text for i in rows],
            index.section_key_vectors[rows],
        )
        self._assignment_keys: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(index.assignment_keys):
            self._assignment_keys.setdefault((key.passage, key.span), []).append(i)

    @classmethod
    def load(
        cls, settings: Settings, *, progress: bool = False, adapter: np.ndarray | None | object = FROM_RANKER
    ) -> Advisor:
        """Load knowledge, model (ONNX or torch: bot.backend) and index (rebuilt if stale or corrupt).

        ``adapter``: the ranker's query adapter unless one (or None) is given: the tuning
        script refits it, so it must load without it."""
        knowledge = load_knowledge(settings.knowledge_dir)
        embedder, index = load_model_and_index(settings, knowledge, progress=progress)
        return cls(knowledge, embedder, index, top_k=settings.top_k, adapter=adapter)

    # --- lookups for presentation ---------------------------------------------------
    def document(self, document_id: str) -> Document:
        return self.knowledge.document(document_id)

    def example_questions(self) -> list[str]:
        """One curated question per section, in article order."""
        return [s.questions[0] for s in self.knowledge.sections() if s.questions]

    def closest_questions(self, question: str, n: int = 3) -> list[str]:
        """The curated questions (ones the knowledge answers) nearest in meaning to
        ``question``, best first and without repeats; the example questions if it has no words."""
        text = self.prepare(question)
        if not has_words(text):
            return self.example_questions()[:n]
        # The sections' curated questions: whole questions a reader would ask (the sentences'
        # questions are narrower keys, some of them terse paraphrases).
        texts, vectors = self._curated_questions
        if not texts:
            return self.example_questions()[:n]
        similarity = vectors @ self.embed(text)[0]
        result: list[str] = []
        for row in np.argsort(-similarity, kind="stable"):
            candidate = texts[row]
            if candidate.casefold() not in {q.casefold() for q in result}:
                result.append(candidate)
            if len(result) == n:
                break
        return result

    @property
    def sentences(self) -> list[tuple[str, str]]:
        """(section heading, sentence text) of every sentence row, in index order."""
        return [
            (self.index.passages[p].section, self._sentence_text(row))
            for row, (p, _s) in enumerate(self._rows)
        ]

    def prepare(self, question: str) -> str:
        """The question as it is searched: cleaned, abbreviations spelled out, typos fixed."""
        return self.speller.fix(self.glossary.expand(clean_question(question)))

    # --- scoring ------------------------------------------------------------------
    def signals(self, text: str, embedded: tuple[np.ndarray, Tokens] | None = None) -> Signals:
        """Every signal of every sentence for the prepared question ``text``.

        ``embedded``: the vector of ``text`` (1 x dimension) and its word pieces, as
        :meth:`embedding` returns them (embedded here when not given)."""
        index, scale = self.index, self.ranker.lexical_scale
        vectors, question_pieces = embedded or self.embedding(text)
        q = vectors[0]
        pieces, pieces_back, plain = self._token_match(question_pieces)
        n, n_s = len(self._rows), len(index.section_refs)
        dense = self._sentence_vectors @ q
        adapted = dense
        if self._adapter is not None:
            # The adapter was fitted towards the curated article's sentences; another document's
            # sentence (a playbook) keeps its plain cosine (docs/retrieval.md: shifting it up
            # drew article questions to the playbook and gained it one question of 75).
            mapped = self._sentence_vectors @ normalised(q + q @ self._adapter)
            adapted = np.where(self._sentence_curated, mapped, dense)
        context = (self._passage_vectors @ q)[self._sentence_passage]
        # A sentence nobody wrote questions for is matched by its own words, which sit further
        # from a question than a question does: shift it by the typical gap (fitted).
        shift = np.where(self._has_keys, 0.0, self.ranker.uncurated_key_shift).astype(np.float32)
        sentence_keys = dense + shift
        if len(self._sentence_key_rows):
            key_sims = index.sentence_key_vectors @ q
            np.maximum.at(sentence_keys, self._sentence_key_rows, key_sims)
            by_sentence = np.where(self._keys_of_sentence >= 0, key_sims[self._keys_of_sentence], -np.inf)
            top2 = np.sort(by_sentence, axis=1)[:, -2:]
            sentence_keys2 = np.where(np.isinf(top2[:, 0]), sentence_keys, top2.mean(axis=1)).astype(
                np.float32
            )
        else:
            sentence_keys2 = sentence_keys
        key_sims = index.section_key_vectors @ q
        # Mean of each section's two closest keys (every section has its heading, so one or more).
        by_section = np.where(self._keys_of_section >= 0, key_sims[self._keys_of_section], -np.inf)
        top2 = np.sort(by_section, axis=1)[:, -2:]
        section_keys = np.where(np.isinf(top2[:, 0]), top2[:, 1], top2.mean(axis=1)).astype(np.float32)
        tokens = tokenize(text)
        if tokens:
            lexical = _squash(index.lexical_sentences.get_scores(tokens), scale)
            section_lexical = _squash(index.lexical_sections.get_scores(tokens), scale)
        else:
            lexical = np.zeros(n, dtype=np.float32)
            section_lexical = np.zeros(n_s, dtype=np.float32)
        section_best = _group_max(sentence_keys, self._sentence_section, n_s)
        section_tokens = _group_max(plain, self._sentence_section, n_s, fill=-1.0)[self._sentence_section]
        padded = np.append(sentence_keys, np.float32(0.0))  # row -1: no neighbour there
        neighbours = np.maximum(padded[self._before], padded[self._after])
        scope = index.scope_vectors @ q
        best_key = max(float(key_sims.max()), float(sentence_keys.max()))
        weights = self._scope_weights
        return Signals(
            dense=dense,
            adapted=adapted,
            context=context,
            sentence_keys=sentence_keys,
            sentence_keys2=sentence_keys2,
            neighbours=neighbours,
            lexical=lexical,
            tokens=pieces,
            tokens_back=pieces_back,
            section_tokens=section_tokens,
            section_keys=section_keys[self._sentence_section],
            section_lexical=section_lexical[self._sentence_section],
            section_best=section_best[self._sentence_section],
            takeaway=self._takeaway,
            amount=self._states_amount if _ASKS_AMOUNT.search(text) else np.zeros_like(self._states_amount),
            assigns=self._assigns if _ASKS_OWNER.search(text) else np.zeros_like(self._assigns),
            off_scope=float(scope.max() - best_key) if len(scope) else None,
            scope_best=float(scope.max()) if len(scope) else None,
            in_scope=None if weights is None else float(q @ weights + self._scope_bias),
        )

    def embed(self, text: str) -> np.ndarray:
        """The question's vector (1 x dimension).

        The last text's vectors are kept: a refusal's suggestions (:meth:`closest_questions`)
        usually reuse the vectors its answer was scored with instead of running the model again
        (best effort: another thread's question may have taken the place)."""
        return self.embedding(text)[0]

    def embedding(self, text: str) -> tuple[np.ndarray, Tokens]:
        """:meth:`embed`'s vector and the question's word pieces, from one call to the model.

        One text, the whole question: a long message's last question was embedded on its own
        too until its signal was measured to weigh nothing once the query adapter was in
        (docs/retrieval.md), and it doubled the model's work on long messages."""
        last = self._last_embedded
        if last is not None and last[0] == text:
            return last[1], last[2]
        vectors, tokens = self.embedder.encode_tokens([text])
        self._last_embedded = (text, vectors, tokens[0])
        return vectors, tokens[0]

    def _token_match(self, pieces: Tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Late interaction between the question's word pieces and each sentence's.

        Returns, per sentence, the IDF-weighted mean over the question's pieces of each one's
        best cosine with a piece of the sentence, and the mean over the sentence's pieces of
        each one's best cosine with a piece of the question; then the plain (unweighted) mean of
        the first, for the section signal. Cosines are taken in the index's projection, and the
        common pieces (:func:`bot.index.common_pieces`) are left out on both sides: a question
        of no other piece scores 0 everywhere."""
        n = len(self._rows)
        ids = pieces.ids.tolist()
        keep = [j for j, i in enumerate(ids) if i not in self._common_pieces]
        if not keep:
            return tuple(np.zeros(n, dtype=np.float32) for _ in range(3))
        projected = normalised(pieces.vectors[keep] @ self._token_projection)
        similarity = projected @ self._token_vectors.T  # question pieces x sentence pieces
        best = np.maximum.reduceat(similarity, self._token_starts, axis=1)  # question pieces x sentences
        weights = np.array([self._idf.get(ids[j], self._unseen_idf) for j in keep], dtype=np.float32)
        back = np.add.reduceat(similarity.max(axis=0), self._token_starts) / self._token_counts
        weighted = (weights / weights.sum()) @ best
        return weighted.astype(np.float32), back.astype(np.float32), best.mean(axis=0).astype(np.float32)

    def beyond_scope(self, signals: Signals, top_row: int) -> float:
        """How far past its hard off-scope threshold a question is whose best sentence is
        ``top_row`` (> 0: refused whatever the score; -inf without out-of-scope examples).

        Curated answers compare the closest out-of-scope example with the closest curated key;
        an answer from an uncurated section (a playbook has no keys written as questions)
        compares it with the answering sentence itself, against a threshold of its own.
        """
        if signals.off_scope is None or signals.scope_best is None:
            return float("-inf")
        if self._sentence_curated[top_row]:
            return signals.off_scope - self.ranker.off_scope
        return signals.scope_best - float(signals.dense[top_row]) - self.ranker.uncurated_off_scope

    def status(self, signals: Signals, top_row: int, top_score: float) -> Status:
        """The answer's status: the ranker's boundary over the top score, the off-scope margin
        and the scope classifier, which speak for curated answers only (an uncurated one is
        judged by its score and :meth:`beyond_scope`)."""
        curated = self._sentence_curated[top_row]
        margin, in_scope = (signals.off_scope, signals.in_scope) if curated else (None, None)
        return self.ranker.status(top_score, margin, in_scope, self.beyond_scope(signals, top_row))

    def score(self, signals: Signals) -> np.ndarray:
        return signals.matrix() @ self._weights

    def rank(self, scores: np.ndarray) -> list[int]:
        """Sentence rows best first: the best of each section before any second of a section."""
        order = np.argsort(-scores, kind="stable")
        firsts, rest, seen = [], [], set()
        for row in order:
            section = self._sentence_section[row]
            (rest if section in seen else firsts).append(int(row))
            seen.add(section)
        return firsts + rest

    # --- quote and verdict ---------------------------------------------------------
    def _sentence_text(self, row: int) -> str:
        p, s = self._rows[row]
        passage = self.index.passages[p]
        return passage.sentence_text(passage.sentences[s])

    def _has_assignment(self, row: int) -> bool:
        p, s = self._rows[row]
        passage = self.index.passages[p]
        sentence = passage.sentences[s]
        return any(a.start < sentence.end and a.end > sentence.start for a in passage.assignments)

    def quote_rows(self, row: int, scores: np.ndarray, taken: frozenset[int] = frozenset()) -> list[int]:
        """The sentence rows of the quote that starts from the best sentence ``row``.

        A question or a fragment runs on to what follows (at a paragraph's end, to what comes
        before); a neighbour that scores nearly as well joins; a quote that assigns nothing
        takes in a neighbour that does, when it scores well enough. At most three sentences,
        all in one paragraph, none from the passages in ``taken`` (quoted by a better hit).
        """
        r = self.ranker
        paragraph = [
            other
            for other in self._paragraph_rows[self._paragraph_of[row]]
            if self._rows[other][0] not in taken
        ]
        at = paragraph.index(row)
        chosen = [at]
        while len(chosen) < 3:
            last = self._sentence_text(paragraph[chosen[-1]])
            if len(last.split()) >= r.quote_min_words and "?" not in last:
                break
            following = chosen[-1] + 1 if chosen[-1] + 1 < len(paragraph) else min(chosen) - 1
            if following < 0 or following in chosen:
                break
            chosen.append(following)
        for margin, needs_assignment in ((r.neighbour_margin, False), (r.assignment_margin, True)):
            if len(chosen) == 3 or (
                needs_assignment and any(self._has_assignment(paragraph[i]) for i in chosen)
            ):
                continue
            near = [
                i
                for i in (max(chosen) + 1, min(chosen) - 1)
                if 0 <= i < len(paragraph)
                and scores[paragraph[i]] >= scores[row] - margin
                and (self._has_assignment(paragraph[i]) or not needs_assignment)
            ]
            if near:
                chosen.append(max(near, key=lambda i: scores[paragraph[i]]))
        return [paragraph[i] for i in sorted(chosen)]

    def _hit(self, rows: list[int], score: float, q: np.ndarray) -> Hit:
        """The hit for quote ``rows``: its passage (widened if the quote runs past it) and verdict."""
        first, last = self._rows[rows[0]][0], self._rows[rows[-1]][0]
        passage = self.index.passages[first] if first == last else self._widen(first, last)
        start = self._offsets[rows[0]][0] - passage.start
        end = self._offsets[rows[-1]][1] - passage.start
        return Hit(passage=passage, quote=passage.text[start:end], owner=self._verdict(rows, q), score=score)

    def _widen(self, first: int, last: int) -> Passage:
        """Passages ``first`` to ``last`` (one paragraph) as one, so a quote stays inside its text."""
        parts = self.index.passages[first : last + 1]
        head = parts[0]
        section = self._sections[section_ref(head.document_id, head.section_id)]
        end = parts[-1].start + len(parts[-1].text)
        shift = [p.start - head.start for p in parts]
        return replace(
            head,
            text=paragraph_text(section, head.paragraph)[head.start : end],
            sentences=tuple(
                Sentence(d + s.start, d + s.end)
                for d, p in zip(shift, parts, strict=True)
                for s in p.sentences
            ),
            assignments=tuple(
                replace(a, start=d + a.start, end=d + a.end)
                for d, p in zip(shift, parts, strict=True)
                for a in p.assignments
            ),
        )

    def _verdict(self, rows: list[int], q: np.ndarray) -> str | None:
        """The owner of the quote's assignment closest to the question ("both" when two tie)."""
        candidates: list[tuple[float, str]] = []
        for row in rows:
            p, s = self._rows[row]
            passage = self.index.passages[p]
            sentence = passage.sentences[s]
            for j, span in enumerate(passage.assignments):
                if span.start < sentence.end and span.end > sentence.start:
                    keys = self._assignment_keys.get((p, j), [])
                    sim = float((self.index.assignment_key_vectors[keys] @ q).max()) if keys else 0.0
                    candidates.append((sim, span.owner))
        if not candidates:
            return None
        best_sim, best_owner = max(candidates)
        close = {owner for sim, owner in candidates if sim >= best_sim - self.ranker.both_margin}
        return best_owner if close == {best_owner} else "both"

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        """Answer ``question`` with the top ``k`` passages, a status and a verdict."""
        k = max(1, min(int(k or self.top_k), len(self.index.passages)))
        text = self.prepare(question)
        if not has_words(text):
            return Answer(question=question, status="not_covered", owner=None, hits=())
        embedded = self.embedding(text)
        q = embedded[0][0]
        signals = self.signals(text, embedded)
        scores = self.score(signals)
        hits: list[Hit] = []
        taken: set[int] = set()  # passage rows already quoted: each passage is one hit at most
        ranked = self.rank(scores)
        for row in ranked:
            if len(hits) == k:
                break
            if self._rows[row][0] in taken:
                continue
            rows = self.quote_rows(row, scores, frozenset(taken))
            taken.update(self._rows[r][0] for r in rows)
            hits.append(self._hit(rows, float(scores[row]), q))
        status = self.status(signals, ranked[0], hits[0].score)
        owner = hits[0].owner if status != "not_covered" else None
        return Answer(question=question, status=status, owner=owner, hits=tuple(hits))
