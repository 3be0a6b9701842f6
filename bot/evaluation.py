"""Score retrieval on a YAML question set: hit@1, hit@3, MRR, answer and refusal rates.

The set's format::

    in_domain:
      - question: "who should set next year's sales quota?"
        sections: ["Which is more important between efficiency and stability?"]
    off_topic:
      - "What's the weather in Paris?"

Ranks are over distinct sections, in the order their passages come back. Baselines rank
the article's paragraphs with plain BM25 or plain all-MiniLM-L6-v2 cosine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .index import import_bm25s
from .knowledge import Knowledge, NodeReader, compose_file
from .retrieval import Advisor

Ranker = Callable[[str], tuple[list[str], str | None]]  # question -> (section headings, status)


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    sections: tuple[str, ...]


@dataclass(frozen=True)
class EvalSet:
    in_domain: tuple[EvalQuestion, ...]
    off_topic: tuple[str, ...]


@dataclass
class Report:
    name: str
    n_in_domain: int
    n_off_topic: int
    hit1: float
    hit3: float
    mrr: float
    answer_rate: float | None  # in-domain questions whose status is "answered"
    reply_rate: float | None  # in-domain questions not refused (answered or low_confidence)
    refusal_rate: float | None  # off-topic questions whose status is "not_covered"
    misses: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def load_eval_set(path: Path, knowledge: Knowledge) -> EvalSet:
    """Load a question set; every section must be a heading of the knowledge."""
    path = Path(path)
    node = compose_file(path)
    r = NodeReader(path)
    top = r.mapping(node, "", ("in_domain",), ("off_topic",))
    headings = {s.heading for s in knowledge.sections()}
    questions = []
    for i, item in enumerate(r.items(top["in_domain"], "in_domain")):
        f = f"in_domain[{i}]"
        m = r.mapping(item, f, ("question", "sections"), ())
        sections = r.texts(m["sections"], f"{f}.sections")
        for j, heading in enumerate(sections):
            if heading not in headings:
                raise r.fail(
                    m["sections"].value[j], f"{f}.sections[{j}]", f"no section is headed {heading!r}"
                )
        questions.append(EvalQuestion(r.text(m["question"], f"{f}.question"), sections))
    off_topic = r.texts(top["off_topic"], "off_topic") if "off_topic" in top else ()
    return EvalSet(tuple(questions), off_topic)


def evaluate(name: str, ranker: Ranker, eval_set: EvalSet) -> Report:
    hit1 = hit3 = rr = 0.0
    answered = replied = 0
    has_status = False
    misses = []
    for item in eval_set.in_domain:
        ranked, status = ranker(item.question)
        has_status = has_status or status is not None
        rank = next((i + 1 for i, s in enumerate(ranked) if s in item.sections), None)
        hit1 += rank == 1
        hit3 += rank is not None and rank <= 3
        rr += 1.0 / rank if rank else 0.0
        answered += status == "answered"
        replied += status in ("answered", "low_confidence")
        if rank != 1 or (status is not None and status != "answered"):
            misses.append(
                {
                    "question": item.question,
                    "expected": list(item.sections),
                    "got": ranked[:3],
                    "rank": rank,
                    "status": status,
                }
            )
    refused = 0
    for question in eval_set.off_topic:
        ranked, status = ranker(question)
        refused += status == "not_covered"
        if status is not None and status != "not_covered":
            misses.append(
                {"question": question, "expected": "not_covered", "got": ranked[:1], "status": status}
            )
    n, m = len(eval_set.in_domain), len(eval_set.off_topic)
    return Report(
        name=name,
        n_in_domain=n,
        n_off_topic=m,
        hit1=hit1 / n,
        hit3=hit3 / n,
        mrr=rr / n,
        answer_rate=answered / n if has_status else None,
        reply_rate=replied / n if has_status else None,
        refusal_rate=(refused / m if m else None) if has_status else None,
        misses=misses,
    )


def _distinct(sections: list[str]) -> list[str]:
    return list(dict.fromkeys(sections))


def advisor_ranker(advisor: Advisor) -> Ranker:
    def rank(question: str) -> tuple[list[str], str | None]:
        answer = advisor.ask(question, k=len(advisor.index.passages))
        return _distinct([h.passage.section for h in answer.hits]), answer.status

    return rank


def _paragraphs(knowledge: Knowledge) -> tuple[list[str], list[str]]:
    texts, headings = [], []
    for section in knowledge.sections():
        for paragraph in section.paragraphs:
            texts.append(paragraph.text)
            headings.append(section.heading)
    return texts, headings


def bm25_baseline(knowledge: Knowledge) -> Ranker:
    """Plain BM25 (bm25s defaults, English stop words) over whole paragraphs."""
    bm25s = import_bm25s()
    texts, headings = _paragraphs(knowledge)
    model = bm25s.BM25()
    model.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def rank(question: str) -> tuple[list[str], str | None]:
        tokens = bm25s.tokenize([question], stopwords="en", show_progress=False, return_ids=False)[0]
        scores = model.get_scores(tokens) if tokens else np.zeros(len(texts))
        return _distinct([headings[i] for i in np.argsort(-scores, kind="stable")]), None

    return rank


def dense_baseline(knowledge: Knowledge, advisor: Advisor) -> Ranker:
    """Plain all-MiniLM-L6-v2 cosine over whole paragraphs (truncated at 256 word pieces)."""
    texts, headings = _paragraphs(knowledge)
    vectors = advisor.embedder.encode(texts)

    def rank(question: str) -> tuple[list[str], str | None]:
        scores = vectors @ advisor.embedder.encode_one(question)
        return _distinct([headings[i] for i in np.argsort(-scores, kind="stable")]), None

    return rank


def format_report(report: Report) -> str:
    def pct(value: float | None) -> str:
        return "   n/a" if value is None else f"{value:6.3f}"

    return (
        f"{report.name:<10} n={report.n_in_domain}+{report.n_off_topic}  hit@1 {pct(report.hit1)}  "
        f"hit@3 {pct(report.hit3)}  MRR {pct(report.mrr)}  answered {pct(report.answer_rate)}  "
        f"replied {pct(report.reply_rate)}  refused(off-topic) {pct(report.refusal_rate)}"
    )
