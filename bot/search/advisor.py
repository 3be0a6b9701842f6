"""Answer a question: the pipeline over the search core's parts.

The question is cleaned of Slack markup, its abbreviations spelled out (curated glossary)
and its typos fixed against the knowledge's words. The candidates of :mod:`bot.search.candidates`
(every sentence of a small knowledge; the sections found by a FAISS search, BM25 and the curated
keys in a large one) are then scored from the signals of :mod:`bot.search.signals` by the linear
ranker of :mod:`bot.search.ranker`. Sections rank by their best sentence. Each hit's quote comes from
:mod:`bot.search.quote`, its verdict from :mod:`bot.search.verdict`, and the answer's status
from :mod:`bot.search.boundary`; a refusal carries the curated questions closest to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..config import Settings
from ..knowledge import Knowledge, load_knowledge
from ..spelling import SpellFixer
from ..text import Glossary, clean_question, has_words
from . import boundary
from .answer import Answer, Hit, Query
from .backend import load_model_and_index
from .candidates import candidate_rows
from .company import company_owner
from .corpus import Corpus
from .crosslingual import CrossLingual, load_crosslingual
from .embedder import Embedder, Tokens, default_threads
from .language import ENGLISH, detect_language
from .quote import quote_rows, quoted, trimmed
from .ranker import FROM_RANKER, Ranker
from .schema import SearchIndex
from .signals import Question, Signals, compute
from .stance import Claims, asks_judgement, conditions_of, is_plan
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
        crosslingual: CrossLingual | None = None,
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
        self.documents = tuple(d.name for d in knowledge.documents)
        self.claims = Claims(self.corpus, conditions_of(knowledge))
        self._model_lock = threading.Lock()
        # Questions in other languages (None: English only, the multilingual model not loaded).
        self.crosslingual = crosslingual

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
        advisor = cls(knowledge, embedder, index, top_k=settings.top_k, adapter=adapter)
        if settings.multilingual:
            advisor.crosslingual = load_crosslingual(
                knowledge,
                advisor.corpus,
                threads=settings.model_threads or default_threads(),
                cache_dir=settings.data_dir / "multilingual",
            )
        return advisor

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
    def signals(
        self, text: str, embedded: tuple[np.ndarray, Tokens] | None = None, *, every_row: bool = False
    ) -> Signals:
        """Every signal of the candidate sentences (bot.search.candidates: every sentence of a
        small knowledge; ``every_row``: of every sentence, whatever the size) for the prepared
        question ``text``.

        ``embedded``: the vector of ``text`` (1 x dimension) and its word pieces, as
        :meth:`embedding` returns them (embedded here when not given)."""
        question = self.question(text, embedded)
        question.rows = None if every_row else candidate_rows(question)
        return compute(question)

    def question(self, text: str, embedded: tuple[np.ndarray, Tokens] | None = None) -> Question:
        """``text`` (prepared) as the signals read it, with this index's ranker settings."""
        vectors, pieces = embedded or self.embedding(text)
        return Question(
            text=text,
            vector=vectors[0],
            pieces=pieces,
            corpus=self.corpus,
            adapter=self.adapter,
            lexical_scale=self.ranker.lexical_scale,
            uncurated_key_shift=self.ranker.uncurated_key_shift,
            plan_floor=self.ranker.plan_floor,
        )

    def score(self, signals: Signals) -> np.ndarray:
        """The ranker's score of every sentence row (-inf for a row that was no candidate)."""
        scores = signals.matrix() @ self.ranker.vector()
        if signals.rows is None:
            return scores
        every = np.full(self.corpus.n, -np.inf, dtype=scores.dtype)
        every[signals.rows] = scores
        return every

    def rank(self, scores: np.ndarray, rows: np.ndarray | None = None) -> list[int]:
        """Sentence rows (``rows``, sorted; None: all) best first: the best of each section
        before any second of a section."""
        if rows is None:
            order = np.argsort(-scores, kind="stable")
        else:  # ties in row order, as over every row
            order = rows[np.argsort(-scores[rows], kind="stable")]
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
        language = detect_language(question)
        if language != ENGLISH and self.crosslingual is not None:
            return self._ask_across(question, language, k)
        text = self.prepare(question)
        if not has_words(text):
            suggestions = tuple(self.example_questions()[:SUGGESTIONS])
            return Answer(
                question=question,
                status="not_covered",
                owner=None,
                hits=(),
                suggestions=suggestions,
                documents=self.documents,
                language=language,
            )
        embedded = self.embedding(text)
        q = embedded[0][0]
        found = self.signals(text, embedded)
        scores = self.score(found)
        ranked = self.rank(scores, found.rows)
        hits = self._hits(ranked, scores, k, lambda _row: q)
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
        status = boundary.status(
            self.ranker, found, top, hits[0].score, curated, closest_plan, corpus=self.corpus
        )
        covered = status != "not_covered"
        # The stance of the principle the plan was routed to: the claims stated in the top quote.
        quote = quote_rows(self.corpus, self.ranker, top, scores)
        judged = len(self.claims) > 0 and asks_judgement(text)
        stance = self.claims.match(q, int(self.corpus.sentence_section[top]), quote) if judged else None
        article_view = self._article_view(hits[0], ranked, scores, found, q) if covered else None
        return Answer(
            question=question,
            status=status,
            owner=hits[0].owner if covered else None,
            hits=tuple(hits),
            suggestions=() if covered else tuple(self._closest(q, SUGGESTIONS)),
            documents=self.documents,
            article_view=article_view,
            language=language,
            stance=stance.stance if covered and stance else None,
            stance_quote=self.corpus.sentence_text(stance.row) if covered and stance else None,
            stance_condition=stance.condition if covered and stance else None,
            query=Query(text, q, embedded[1]),
        )

    def _hits(
        self, ranked: list[int], scores: np.ndarray, k: int, question_at: Callable[[int], np.ndarray]
    ) -> list[Hit]:
        """The top ``k`` hits, one a passage, each quoted from its best sentence;
        ``question_at(row)``: the question's English-model vector for the verdict there."""
        hits: list[Hit] = []
        taken: set[int] = set()  # passage rows already quoted: each passage is one hit at most
        rows_of = self.corpus.rows
        for row in ranked:
            if len(hits) == k:
                break
            if rows_of[row][0] in taken:
                continue
            rows = quote_rows(self.corpus, self.ranker, row, scores, frozenset(taken))
            taken.update(rows_of[r][0] for r in rows)
            hits.append(self._hit(rows, float(scores[row]), question_at(row)))
        return hits

    def _ask_across(self, question: str, language: str, k: int) -> Answer:
        """A question in another language: ranked by the multilingual signals
        (bot/search/crosslingual.py), quoted and given its verdict as in English; a refusal
        suggests curated questions in the asker's language where the knowledge has them."""
        across = self.crosslingual
        text = self.glossary.expand(clean_question(question))
        if not has_words(text):
            suggestions = across.closest_questions(None, language, SUGGESTIONS) or self.example_questions()
            return Answer(
                question=question,
                status="not_covered",
                owner=None,
                hits=(),
                suggestions=tuple(suggestions[:SUGGESTIONS]),
                documents=self.documents,
                language=language,
            )
        found = across.score(text, language)
        ranked = self.rank(found.scores)
        hits = self._hits(ranked, found.scores, k, lambda row: across.english_proxy(row, found.vector))
        status = across.status(found, hits[0].score)
        covered = status != "not_covered"
        suggestions: list[str] = []
        if not covered:
            suggestions = across.closest_questions(found.vector, language, SUGGESTIONS)
            suggestions = suggestions or self._closest(
                across.english_proxy(ranked[0], found.vector), SUGGESTIONS
            )
        return Answer(
            question=question,
            status=status,
            owner=hits[0].owner if covered else None,
            hits=tuple(hits),
            suggestions=tuple(suggestions),
            documents=self.documents,
            language=language,
        )

    def _hit(self, rows: list[int], score: float, q: np.ndarray) -> Hit:
        passage, quote = quoted(self.corpus, rows)
        document = self.knowledge.document(passage.document_id)
        section = self.corpus.sections[f"{passage.document_id}/{passage.section_id}"]
        company = not self.corpus.sentence_curated[rows[0]]
        paragraph = section.paragraphs[passage.paragraph] if passage.paragraph >= 0 else None
        owner = verdict(self.corpus, self.ranker, rows, q)
        if company and owner is None:
            # A playbook's quote carries no curated assignment: the team it names stands in, or
            # its list item's ("Sales Enablement sits inside Sales. Owns ... battlecards.").
            owner = company_owner(quote) or (company_owner(paragraph.text) if paragraph else None)
        return Hit(
            passage=passage,
            quote=quote,
            owner=owner,
            score=score,
            document_title=document.title,
            source=document.source,
            document_file=document.path.name,
            section_parent=section.parent,
            line=paragraph.line if paragraph is not None else section.line,
            company=company,
        )

    def _article_view(self, top: Hit, ranked: list[int], scores, found: Signals, q) -> Hit | None:
        """Where a company playbook answers with an owner and the article, answering too, gives
        the job to another: the article's best quote (its verdict beside the company's rule)."""
        if not top.company or top.owner is None:
            return None
        row = next((r for r in ranked if self.corpus.sentence_curated[r]), None)
        if row is None:
            return None
        score = float(scores[row])
        if boundary.status(self.ranker, found, row, score, True) == "not_covered":
            return None
        view = self._hit(quote_rows(self.corpus, self.ranker, row, scores), score, q)
        return view if view.owner is not None and view.owner != top.owner else None

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
        # questions are narrower keys, some of them terse paraphrases); a playbook nobody
        # curated offers a question about each of its sections' headings.
        texts, documents = self.corpus.suggestion_texts, self.corpus.suggestion_documents
        if not texts:
            return self.example_questions()[:n]
        similarity = self.corpus.suggestion_vectors @ q
        order = [int(row) for row in np.argsort(-similarity, kind="stable")]
        # Every loaded document's closest question first (best first), then the next closest.
        firsts = list({documents[row]: row for row in reversed(order)}.values())
        firsts.sort(key=lambda row: -similarity[row])
        result: list[str] = []
        for row in firsts + order:
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
