"""Answer a question: the pipeline over the search core's parts.

The question is cleaned of Slack markup, its abbreviations spelled out (curated glossary)
and its typos fixed against the knowledge's words. Every sentence of the knowledge is then
scored from the signals of :mod:`bot.search.signals` by the linear ranker of
:mod:`bot.search.ranker`. Sections rank by their best sentence. Each hit's quote comes from
:mod:`bot.search.quote`, its verdict from :mod:`bot.search.verdict`, and the answer's status
from :mod:`bot.search.boundary`; a refusal carries the curated questions closest to it.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

from ..config import Settings
from ..knowledge import Knowledge, load_knowledge
from ..spelling import SpellFixer
from ..text import Glossary, clean_question, has_words
from . import boundary
from .answer import Answer, Hit
from .backend import load_model_and_index
from .corpus import Corpus
from .embedder import Embedder, Tokens
from .quote import quote_rows, quoted, trimmed
from .ranker import FROM_RANKER, Ranker
from .schema import SearchIndex
from .signals import Question, Signals, compute
from .stance import Claims, conditions_of, is_plan
from .verdict import asks_owner, labels, verdict

SUGGESTIONS = 3  # closest curated questions offered with a refusal


def _knowledge_texts(knowledge: Knowledge):
    for section in knowledge.retrievable_sections():
        yield from (section.heading, section.takeaway, *section.topics, *section.questions)
        yield from (p.text for p in section.paragraphs)


class Advisor:
    """The offline core: knowledge, model and index, ready to answer questions.

    Safe to share between threads: the model's tokenizer is not, so calls into the model take
    turns (a question takes milliseconds); everything else reads arrays fixed at load."""

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
        # The query adapter (d x d, or None): the ranker's unless one is given (the tuning
        # script scores each set with an adapter fitted without it).
        self.adapter = self.ranker.load_adapter(embedder.model_id) if adapter is FROM_RANKER else adapter
        self.glossary = Glossary(knowledge.glossary)
        self.speller = SpellFixer(_knowledge_texts(knowledge), embedder.known_words())
        self.corpus = Corpus(knowledge, index)
        self.claims = Claims(self.corpus, conditions_of(knowledge))
        self._model_lock = threading.Lock()

    @classmethod
    def load(
        cls, settings: Settings, *, progress: bool = False, adapter: np.ndarray | None | object = FROM_RANKER
    ) -> Advisor:
        """Load knowledge, model (ONNX or torch: bot.search.backend) and index (rebuilt if stale
        or corrupt).

        ``adapter``: the ranker's query adapter unless one (or None) is given: the tuning
        script refits it, so it must load without it."""
        knowledge = load_knowledge(settings.knowledge_dir)
        embedder, index = load_model_and_index(settings, knowledge, progress=progress)
        return cls(knowledge, embedder, index, top_k=settings.top_k, adapter=adapter)

    # --- the question -----------------------------------------------------------------
    def prepare(self, question: str) -> str:
        """The question as it is searched: cleaned, abbreviations spelled out, typos fixed."""
        return self.speller.fix(self.glossary.expand(clean_question(question)))

    def embedding(self, text: str) -> tuple[np.ndarray, Tokens]:
        """The vector of ``text`` (1 x dimension) and its word pieces, from one call to the model.

        One text, the whole question: a long message's last question was embedded on its own
        too until its signal was measured to weigh nothing once the query adapter was in
        (docs/retrieval.md), and it doubled the model's work on long messages."""
        with self._model_lock:
            vectors, tokens = self.embedder.encode_tokens([text])
        return vectors, tokens[0]

    def embed(self, text: str) -> np.ndarray:
        """The question's vector (1 x dimension)."""
        return self.embedding(text)[0]

    # --- scoring ------------------------------------------------------------------------
    def signals(self, text: str, embedded: tuple[np.ndarray, Tokens] | None = None) -> Signals:
        """Every signal of every sentence for the prepared question ``text``.

        ``embedded``: the vector of ``text`` (1 x dimension) and its word pieces, as
        :meth:`embedding` returns them (embedded here when not given)."""
        vectors, pieces = embedded or self.embedding(text)
        question = Question(
            text=text,
            vector=vectors[0],
            pieces=pieces,
            corpus=self.corpus,
            adapter=self.adapter,
            lexical_scale=self.ranker.lexical_scale,
            uncurated_key_shift=self.ranker.uncurated_key_shift,
            plan_floor=self.ranker.plan_floor,
        )
        return compute(question)

    def score(self, signals: Signals) -> np.ndarray:
        return signals.matrix() @ self.ranker.vector()

    def rank(self, scores: np.ndarray) -> list[int]:
        """Sentence rows best first: the best of each section before any second of a section."""
        order = np.argsort(-scores, kind="stable")
        firsts, rest, seen = [], [], set()
        for row in order:
            section = self.corpus.sentence_section[row]
            (rest if section in seen else firsts).append(int(row))
            seen.add(section)
        return firsts + rest

    # --- the answer -----------------------------------------------------------------------
    def ask(self, question: str, *, k: int | None = None) -> Answer:
        """Answer ``question`` with the top ``k`` passages (each with its quote, verdict and
        source), a status and a verdict; a refusal carries the closest curated questions."""
        k = max(1, min(int(k or self.top_k), len(self.index.passages)))
        text = self.prepare(question)
        if not has_words(text):
            suggestions = tuple(self.example_questions()[:SUGGESTIONS])
            return Answer(
                question=question, status="not_covered", owner=None, hits=(), suggestions=suggestions
            )
        embedded = self.embedding(text)
        q = embedded[0][0]
        found = self.signals(text, embedded)
        scores = self.score(found)
        hits: list[Hit] = []
        taken: set[int] = set()  # passage rows already quoted: each passage is one hit at most
        ranked = self.rank(scores)
        rows_of = self.corpus.rows
        for row in ranked:
            if len(hits) == k:
                break
            if rows_of[row][0] in taken:
                continue
            rows = quote_rows(self.corpus, self.ranker, row, scores, frozenset(taken))
            taken.update(rows_of[r][0] for r in rows)
            hits.append(self._hit(rows, float(scores[row]), q))
        owners = labels([hit.owner for hit in hits], asks_owner(text))
        # A quote that carries no verdict is trimmed to its clauses that answer; one that does
        # keeps the whole sentence, the verdict's evidence.
        hits = [
            replace(
                hit,
                owner=owner,
                quote=hit.quote if owner else trimmed(hit.quote, text, self.ranker.quote_max_words),
            )
            for hit, owner in zip(hits, owners, strict=True)
        ]
        top = ranked[0]
        curated = self.corpus.sentence_curated[top]
        plan = is_plan(text) and len(self.claims) > 0
        closest_plan = self.claims.closest(q) if plan else None
        status = boundary.status(self.ranker, found, top, hits[0].score, curated, closest_plan)
        covered = status != "not_covered"
        stance = self.claims.match(q, int(self.corpus.sentence_section[top])) if plan else None
        return Answer(
            question=question,
            status=status,
            owner=hits[0].owner if covered else None,
            hits=tuple(hits),
            suggestions=() if covered else tuple(self._closest(q, SUGGESTIONS)),
            stance=stance.stance if covered and stance else None,
            stance_quote=self.corpus.sentence_text(stance.row) if covered and stance else None,
            stance_condition=stance.condition if covered and stance else None,
        )

    def _hit(self, rows: list[int], score: float, q: np.ndarray) -> Hit:
        passage, quote = quoted(self.corpus, rows)
        document = self.knowledge.document(passage.document_id)
        return Hit(
            passage=passage,
            quote=quote,
            owner=verdict(self.corpus, self.ranker, rows, q),
            score=score,
            document_title=document.title,
            source=document.source,
        )

    # --- what else a surface shows ------------------------------------------------------------
    def example_questions(self) -> list[str]:
        """One curated question per section, in article order."""
        return [s.questions[0] for s in self.knowledge.sections() if s.questions]

    def closest_questions(self, question: str, n: int = SUGGESTIONS) -> list[str]:
        """The curated questions (ones the knowledge answers) nearest in meaning to
        ``question``, best first and without repeats; the example questions if it has no words."""
        text = self.prepare(question)
        if not has_words(text):
            return self.example_questions()[:n]
        return self._closest(self.embed(text)[0], n)

    def _closest(self, q: np.ndarray, n: int) -> list[str]:
        # The sections' curated questions: whole questions a reader would ask (the sentences'
        # questions are narrower keys, some of them terse paraphrases).
        texts = self.corpus.curated_questions
        if not texts:
            return self.example_questions()[:n]
        similarity = self.corpus.curated_question_vectors @ q
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
            (self.index.passages[p].section, self.corpus.sentence_text(row))
            for row, (p, _s) in enumerate(self.corpus.rows)
        ]
