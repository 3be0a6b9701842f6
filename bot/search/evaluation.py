"""Score retrieval on a YAML question set: hit@1, hit@3, MRR, answer and refusal rates.

The set's format::

    in_domain:
      - question: "who should set next year's sales quota?"
        sections: ["Which is more important between efficiency and stability?"]
        quote_has: ["who has the final say on the sales quota"]   # optional
        detail: true                                                # optional
        document: playbook      # optional: which document answers it (playbook or article)
        disagrees: true         # optional: the playbook and the article give different owners
        stance: warns     # optional, for a plan: backs | warns | depends
      - question: "who approves a 25% discount?"
        sections: ["5.2 Discount approval matrix", "5. Pricing and Discounting"]  # [H3, its H2]
    language: zh   # optional: the questions' language (else the one most of them are in)
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
from .language import detect_language
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
    document: str = ""  # playbook | article, when the set says which answers it
    disagrees: bool = False  # the playbook's owner differs from the article's
    stance: str | None = None  # a plan's gold stance: backs | warns | depends


@dataclass(frozen=True)
class OffTopic:
    question: str
    near_miss: bool = False


@dataclass(frozen=True)
class EvalSet:
    in_domain: tuple[EvalQuestion, ...]
    off_topic: tuple[OffTopic, ...]
    language: str = "en"  # the set's ``language:``, else the one most of its questions are in

    def by_language(self) -> dict[str, EvalSet]:
        """The set split by each question's detected language (one entry for a one-language set)."""
        languages = {detect_language(q.question) for q in (*self.in_domain, *self.off_topic)}
        if len(languages) <= 1:
            return {self.language: self}
        return {
            language: EvalSet(
                tuple(q for q in self.in_domain if detect_language(q.question) == language),
                tuple(q for q in self.off_topic if detect_language(q.question) == language),
                language,
            )
            for language in sorted(languages)
        }


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
    # The in-domain figures of each ``document`` the set names: {document: {n, hit1, quote, replied}}.
    by_document: dict = field(default_factory=dict)
    language: str = "en"

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def load_eval_set(path: Path, knowledge: Knowledge) -> EvalSet:
    """Load a question set; every section must be a heading of the knowledge."""
    path = Path(path)
    node = compose_file(path)
    r = NodeReader(path)
    top = r.mapping(node, "", ("in_domain",), ("off_topic", "language"))
    sections_by_heading: dict[str, list] = {}
    for section in knowledge.retrievable_sections():
        sections_by_heading.setdefault(section.heading, []).append(section)
    texts = [
        t for s in knowledge.retrievable_sections() for t in (s.takeaway, *(p.text for p in s.paragraphs))
    ]
    questions = []
    for i, item in enumerate(r.items(top["in_domain"], "in_domain")):
        f = f"in_domain[{i}]"
        m = r.mapping(
            item, f, ("question", "sections"), ("quote_has", "detail", "document", "disagrees", "stance")
        )
        sections = _gold_labels(r, m["sections"], f"{f}.sections", sections_by_heading)
        quote_has = r.texts(m["quote_has"], f"{f}.quote_has") if "quote_has" in m else ()
        for j, phrase in enumerate(quote_has):
            if not any(phrase in text for text in texts):
                raise r.fail(
                    m["quote_has"].value[j], f"{f}.quote_has[{j}]", "not found verbatim in the knowledge"
                )
        detail = r.choice(m["detail"], f"{f}.detail", ("true", "false")) == "true" if "detail" in m else False
        document = r.choice(m["document"], f"{f}.document", DOCUMENTS) if "document" in m else ""
        flag = m.get("disagrees")
        disagrees = flag is not None and r.choice(flag, f"{f}.disagrees", ("true", "false")) == "true"
        stance = r.choice(m["stance"], f"{f}.stance", STANCES) if "stance" in m else None
        questions.append(
            EvalQuestion(
                r.text(m["question"], f"{f}.question"),
                sections,
                quote_has,
                detail,
                document,
                disagrees,
                stance=stance,
            )
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
    if "language" in top:
        language = r.text(top["language"], "language").lower()
        if not (len(language) == 2 and language.isalpha()):
            raise r.fail(
                top["language"], "language", f"expected a two-letter ISO 639-1 code, not {language!r}"
            )
    else:
        detected = [detect_language(q.question) for q in questions]
        language = max(sorted(set(detected)), key=detected.count) if detected else "en"
    return EvalSet(tuple(questions), tuple(off_topic), language)


DOCUMENTS = ("playbook", "article")
_PER_DOCUMENT = ("n", "hit1", "quoted", "with_phrases", "replied")


def section_label(section) -> str:
    """How the evaluation names a section: its heading, and its parent's for a subsection
    (two playbook H2s may each have an H3 "Ownership")."""
    return f"{section.heading} < {section.parent}" if getattr(section, "parent", "") else section.heading


def _gold_labels(r: NodeReader, node, field: str, by_heading: dict[str, list]) -> tuple[str, ...]:
    """A set's ``sections``: alternatives, each a heading; a heading followed by its parent's
    (``[H3, H2]``, as a playbook's subsections are named) is that one subsection."""
    headings = r.texts(node, field)
    labels: list[str] = []
    j = 0
    while j < len(headings):
        heading = headings[j]
        found = by_heading.get(heading, [])
        nxt = headings[j + 1] if j + 1 < len(headings) else None
        child = [s for s in found if nxt is not None and getattr(s, "parent", "") == nxt]
        if child:
            labels.append(section_label(child[0]))
            j += 2
            continue
        if not found:
            raise r.fail(node.value[j], f"{field}[{j}]", f"no section is headed {heading!r}")
        labels.extend(section_label(s) for s in found)
        j += 1
    return tuple(dict.fromkeys(labels))


def evaluate(name: str, ranker: Ranker, eval_set: EvalSet) -> Report:
    hit1 = hit3 = rr = 0.0
    answered = replied = quoted = with_phrases = 0
    has_status = has_quote = False
    misses = []
    per: dict[str, dict] = {}
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
        if item.document:
            d = per.setdefault(item.document, dict.fromkeys(_PER_DOCUMENT, 0))
            d["n"] += 1
            d["hit1"] += rank == 1
            d["replied"] += status in ("answered", "low_confidence")
            d["with_phrases"] += bool(item.quote_has)
            d["quoted"] += bool(quote_ok)
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
        language=eval_set.language,
        n_in_domain=n,
        n_off_topic=m,
        hit1=hit1 / n if n else 0.0,
        hit3=hit3 / n if n else 0.0,
        mrr=rr / n if n else 0.0,
        answer_rate=answered / n if has_status and n else None,
        reply_rate=replied / n if has_status and n else None,
        refusal_rate=(refused / m if m else None) if has_status else None,
        quote_precision=quoted / with_phrases if has_quote and with_phrases else None,
        near_miss_refusal=near_refused / n_near if has_status and n_near else None,
        n_near_miss=n_near,
        stance_accuracy=right / n_stance if n_stance else None,
        stance_confusion=confusion,
        misses=misses,
        by_document={
            doc: {
                "n": d["n"],
                "hit1": d["hit1"] / d["n"],
                "quote": d["quoted"] / d["with_phrases"] if d["with_phrases"] and has_quote else None,
                "replied": d["replied"] / d["n"] if has_status else None,
            }
            for doc, d in per.items()
        },
    )


def _distinct(sections: list[str]) -> list[str]:
    return list(dict.fromkeys(sections))


def advisor_ranker(advisor: Advisor) -> Ranker:
    def rank(question: str) -> tuple[list[str], str | None, str | None, str | None]:
        answer = advisor.ask(question, k=len(advisor.index.passages))
        quote = answer.hits[0].quote if answer.hits else None
        labels = [section_label(advisor.corpus.sections[h.section_ref]) for h in answer.hits]
        return _distinct(labels), answer.status, quote, answer.stance

    return rank


def _paragraphs(knowledge: Knowledge) -> tuple[list[str], list[str]]:
    texts, headings = [], []
    for section in knowledge.retrievable_sections():
        for paragraph in section.paragraphs:
            texts.append(paragraph.text)
            headings.append(section_label(section))
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

    # The language beside the name when it is not English ("advisor[zh]").
    label = report.name if report.language == "en" else f"{report.name}[{report.language}]"

    return (
        f"{label:<10} n={report.n_in_domain}+{report.n_off_topic}  "
        f"hit@1 {pct(report.hit1)}  "
        f"hit@3 {pct(report.hit3)}  MRR {pct(report.mrr)}  answered {pct(report.answer_rate)}  "
        f"replied {pct(report.reply_rate)}  refused(off-topic) {pct(report.refusal_rate)}  "
        f"quote {pct(report.quote_precision)}  refused(near-miss, n={report.n_near_miss}) "
        f"{pct(report.near_miss_refusal)}"
        + (f"  stance {pct(report.stance_accuracy)}" if report.stance_accuracy is not None else "")
    ) + "".join(
        f"\n  {doc:<10} n={d['n']}  hit@1 {pct(d['hit1'])}  quote {pct(d['quote'])}"
        f"  replied {pct(d['replied'])}"
        for doc, d in report.by_document.items()
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
