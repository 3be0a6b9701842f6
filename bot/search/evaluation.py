"""Score retrieval on a YAML question set: hit@1, hit@3, MRR, answer and refusal rates.

The set's format::

    in_domain:
      - question: "who should set next year's sales quota?"
        sections: ["Which is more important between efficiency and stability?"]
        quote_has: ["who has the final say on the sales quota"]   # optional
        detail: true                                                # optional
        stance: warns     # optional, for a plan: backs | warns | depends
    off_topic:
      - "What's the weather in Paris?"
      - question: "How should we split the events budget?"
        near_miss: true   # in the article's vocabulary, yet not answered by it

Ranks are over distinct sections, in the order their passages come back. Quote precision
is the share of in-domain items with ``quote_has`` whose top section is right and whose top
quote contains one of those phrases (short verbatim words of the answering sentence).
Stance accuracy is over the items with a gold ``stance`` (plans), per gold stance as a
confusion table (gold rows, the answer's stance in columns; "none" for no stance).
Baselines rank the article's paragraphs with plain BM25 or plain all-MiniLM-L6-v2 cosine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from yaml.nodes import ScalarNode

from ..knowledge import Knowledge, NodeReader, compose_file
from .advisor import Advisor
from .schema import import_bm25s

# question -> (section headings best first, status or None, top quote or None[, stance])
Ranker = Callable[[str], tuple]
STANCES = ("backs", "warns", "depends")


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    sections: tuple[str, ...]
    quote_has: tuple[str, ...] = ()
    detail: bool = False
    stance: str | None = None  # a plan's gold stance: backs | warns | depends


@dataclass(frozen=True)
class OffTopic:
    question: str
    near_miss: bool = False


@dataclass(frozen=True)
class EvalSet:
    in_domain: tuple[EvalQuestion, ...]
    off_topic: tuple[OffTopic, ...]


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
    quote_precision: float | None = None  # of items with quote_has: right section and phrase in quote
    near_miss_refusal: float | None = None  # off-topic near misses refused
    n_near_miss: int = 0
    stance_accuracy: float | None = None  # of items with a gold stance, answered with that stance
    # gold stance -> the answer's stance ("none" for none) -> count
    stance_confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    misses: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def load_eval_set(path: Path, knowledge: Knowledge) -> EvalSet:
    """Load a question set; every section must be a heading of the knowledge."""
    path = Path(path)
    node = compose_file(path)
    r = NodeReader(path)
    top = r.mapping(node, "", ("in_domain",), ("off_topic",))
    headings = {s.heading for s in knowledge.retrievable_sections()}
    texts = [
        t for s in knowledge.retrievable_sections() for t in (s.takeaway, *(p.text for p in s.paragraphs))
    ]
    questions = []
    for i, item in enumerate(r.items(top["in_domain"], "in_domain")):
        f = f"in_domain[{i}]"
        m = r.mapping(item, f, ("question", "sections"), ("quote_has", "detail", "stance"))
        sections = r.texts(m["sections"], f"{f}.sections")
        for j, heading in enumerate(sections):
            if heading not in headings:
                raise r.fail(
                    m["sections"].value[j], f"{f}.sections[{j}]", f"no section is headed {heading!r}"
                )
        quote_has = r.texts(m["quote_has"], f"{f}.quote_has") if "quote_has" in m else ()
        for j, phrase in enumerate(quote_has):
            if not any(phrase in text for text in texts):
                raise r.fail(
                    m["quote_has"].value[j], f"{f}.quote_has[{j}]", "not found verbatim in the knowledge"
                )
        detail = r.choice(m["detail"], f"{f}.detail", ("true", "false")) == "true" if "detail" in m else False
        stance = r.choice(m["stance"], f"{f}.stance", STANCES) if "stance" in m else None
        questions.append(
            EvalQuestion(r.text(m["question"], f"{f}.question"), sections, quote_has, detail, stance)
        )
    off_topic = []
    if "off_topic" in top:
        for i, item in enumerate(r.items(top["off_topic"], "off_topic")):
            f = f"off_topic[{i}]"
            if isinstance(item, ScalarNode):
                off_topic.append(OffTopic(r.text(item, f)))
                continue
            m = r.mapping(item, f, ("question",), ("near_miss",))
            near = (
                r.choice(m["near_miss"], f"{f}.near_miss", ("true", "false")) == "true"
                if "near_miss" in m
                else False
            )
            off_topic.append(OffTopic(r.text(m["question"], f"{f}.question"), near))
    return EvalSet(tuple(questions), tuple(off_topic))


def evaluate(name: str, ranker: Ranker, eval_set: EvalSet) -> Report:
    hit1 = hit3 = rr = 0.0
    answered = replied = quoted = with_phrases = 0
    has_status = has_quote = False
    misses = []
    confusion: dict[str, dict[str, int]] = {}
    for item in eval_set.in_domain:
        ranked, status, quote, *more = ranker(item.question)
        stance = more[0] if more else None
        stance_ok = None
        if item.stance is not None:
            row = confusion.setdefault(item.stance, {})
            row[stance or "none"] = row.get(stance or "none", 0) + 1
            stance_ok = stance == item.stance
        has_status = has_status or status is not None
        has_quote = has_quote or quote is not None
        rank = next((i + 1 for i, s in enumerate(ranked) if s in item.sections), None)
        hit1 += rank == 1
        hit3 += rank is not None and rank <= 3
        rr += 1.0 / rank if rank else 0.0
        answered += status == "answered"
        replied += status in ("answered", "low_confidence")
        quote_ok = None
        if item.quote_has:
            with_phrases += 1
            quote_ok = rank == 1 and quote is not None and any(p in quote for p in item.quote_has)
            quoted += quote_ok
        if rank != 1 or (status is not None and status != "answered") or False in (quote_ok, stance_ok):
            misses.append(
                {
                    "question": item.question,
                    "expected": list(item.sections),
                    "got": ranked[:3],
                    "rank": rank,
                    "status": status,
                    **({"quote": quote, "quote_has": list(item.quote_has)} if quote_ok is False else {}),
                    **({"stance": stance, "gold_stance": item.stance} if stance_ok is False else {}),
                }
            )
    refused = near_refused = n_near = 0
    for item in eval_set.off_topic:
        ranked, status, *_rest = ranker(item.question)
        refused += status == "not_covered"
        n_near += item.near_miss
        near_refused += item.near_miss and status == "not_covered"
        if status is not None and status != "not_covered":
            misses.append(
                {
                    "question": item.question,
                    "expected": "not_covered",
                    "got": ranked[:1],
                    "status": status,
                    "near_miss": item.near_miss,
                }
            )
    n, m = len(eval_set.in_domain), len(eval_set.off_topic)
    n_stance = sum(sum(row.values()) for row in confusion.values())
    right = sum(row.get(gold, 0) for gold, row in confusion.items())
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
        quote_precision=quoted / with_phrases if has_quote and with_phrases else None,
        near_miss_refusal=near_refused / n_near if has_status and n_near else None,
        n_near_miss=n_near,
        stance_accuracy=right / n_stance if n_stance else None,
        stance_confusion=confusion,
        misses=misses,
    )


def _distinct(sections: list[str]) -> list[str]:
    return list(dict.fromkeys(sections))


def advisor_ranker(advisor: Advisor) -> Ranker:
    def rank(question: str) -> tuple[list[str], str | None, str | None, str | None]:
        answer = advisor.ask(question, k=len(advisor.index.passages))
        quote = answer.hits[0].quote if answer.hits else None
        return _distinct([h.passage.section for h in answer.hits]), answer.status, quote, answer.stance

    return rank


def _paragraphs(knowledge: Knowledge) -> tuple[list[str], list[str]]:
    texts, headings = [], []
    for section in knowledge.retrievable_sections():
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

    def rank(question: str) -> tuple[list[str], None, None]:
        tokens = bm25s.tokenize([question], stopwords="en", show_progress=False, return_ids=False)[0]
        scores = model.get_scores(tokens) if tokens else np.zeros(len(texts))
        return _distinct([headings[i] for i in np.argsort(-scores, kind="stable")]), None, None

    return rank


def dense_baseline(knowledge: Knowledge, advisor: Advisor) -> Ranker:
    """Plain all-MiniLM-L6-v2 cosine over whole paragraphs (truncated at 256 word pieces)."""
    texts, headings = _paragraphs(knowledge)
    vectors = advisor.embedder.encode(texts)

    def rank(question: str) -> tuple[list[str], None, None]:
        scores = vectors @ advisor.embedder.encode_one(question)
        return _distinct([headings[i] for i in np.argsort(-scores, kind="stable")]), None, None

    return rank


def format_report(report: Report) -> str:
    def pct(value: float | None) -> str:
        return "   n/a" if value is None else f"{value:6.3f}"

    return (
        f"{report.name:<10} n={report.n_in_domain}+{report.n_off_topic}  hit@1 {pct(report.hit1)}  "
        f"hit@3 {pct(report.hit3)}  MRR {pct(report.mrr)}  answered {pct(report.answer_rate)}  "
        f"replied {pct(report.reply_rate)}  refused(off-topic) {pct(report.refusal_rate)}  "
        f"quote {pct(report.quote_precision)}  refused(near-miss, n={report.n_near_miss}) "
        f"{pct(report.near_miss_refusal)}"
        + (f"  stance {pct(report.stance_accuracy)}" if report.stance_accuracy is not None else "")
    )


def format_confusion(report: Report) -> str:
    """The stance confusion table: one row per gold stance, its accuracy, then the answers'
    stances in columns (empty without gold stances)."""
    if not report.stance_confusion:
        return ""
    columns = [*STANCES, "none"]
    lines = ["  " + "gold / answer".ljust(15) + "".join(f"{c:>9}" for c in columns) + "   accuracy"]
    for gold in STANCES:
        row = report.stance_confusion.get(gold)
        if not row:
            continue
        total = sum(row.values())
        cells = "".join(f"{row.get(c, 0):>9}" for c in columns)
        lines.append(f"  {gold:<15}{cells}   {row.get(gold, 0) / total:.3f} (n={total})")
    return "\n".join(lines)
