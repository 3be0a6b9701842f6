"""What the question side reads of a loaded index, arranged once for array lookups: every
sentence row's passage, section, paragraph and neighbours, its curated keys, the word pieces,
and the answer-type cues each sentence carries. Built when an Advisor is made; read-only after.
"""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from ..knowledge import Knowledge
from ..passages import TAKEAWAY
from .schema import PLAN, SearchIndex, common_pieces, is_curated, section_ref

# Answer-type cue: a question asking for an amount, a size, a time or a rate wants the sentence
# that states one ("how quickly" -> "within two business days", "at what revenue" -> "100 million").
ASKS_AMOUNT = re.compile(
    r"\b(how (much|many|long|quickly|fast|soon|often|big|large|old|far)"
    r"|at what (point|stage|size|revenue|level)|what (revenue|size|percentage|percent|number|amount|age)"
    r"|how \w+ (years|months|weeks|days))\b",
    re.IGNORECASE,
)
STATES_AMOUNT = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|fifty|hundred|thousand"
    r"|million|billion|dozen|half|twice|percent)\b",
    re.IGNORECASE,
)
# A question asking which department does something: the sentences that give a job answer it.
ASKS_OWNER = re.compile(
    r"\b(who|whom|whose|which (department|dept|team|group|function|side|one)|what (department|dept|team))\b",
    re.IGNORECASE,
)


_NUMBERING = re.compile(r"^\s*(?:§\s*)?\d+(?:\.\d+)*\.?\s+")


def heading_question(section) -> str:
    """A question a playbook's section answers, from its heading: "What does the Acme
    Analytics GTM Playbook say about discount approval matrix?" (numbering left out)."""
    heading = _NUMBERING.sub("", section.heading).strip().rstrip(":?.")
    if heading[:1].isupper() and not heading[1:2].isupper():
        heading = heading[0].lower() + heading[1:]
    return f"What does the playbook say about {heading}?"


# An out-of-scope example whose closest sentence of a playbook is at least this close (cosine)
# is a topic that playbook covers (fitted on the tuning playbook's set: docs/retrieval.md).
SCOPE_COVERED = 0.62


def scope_covered(examples: np.ndarray, playbook_sentences: np.ndarray) -> np.ndarray:
    """Which out-of-scope examples a loaded playbook covers (bool per example): the scope is
    relative to what is loaded. With no playbook, none."""
    if not len(examples) or not len(playbook_sentences):
        return np.zeros(len(examples), dtype=bool)
    return (examples @ playbook_sentences.T).max(axis=1) >= SCOPE_COVERED


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices ``starts[i] .. starts[i] + counts[i] - 1`` of every i, concatenated."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total)


def stored_vectors(index) -> np.ndarray:
    """The vectors a FAISS index holds, as an array over its own memory (no copy); an index
    over a graph (HNSW) holds them in its ``storage``."""
    import faiss

    flat = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    if flat.ntotal == 0:
        return np.zeros((0, flat.d), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)


def scope_covered_chunked(examples: np.ndarray, vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`scope_covered` against ``vectors[rows]``, a block of rows at a time (a large
    knowledge's playbook sentences are never copied out at once)."""
    block = 8192
    covered = np.zeros(len(examples), dtype=bool)
    for start in range(0, len(rows), block):
        covered |= scope_covered(examples, vectors[rows[start : start + block]])
    return covered


class Grouped:
    """Item indices grouped by an owner index (a section's keys, a sentence's keys), in index
    order within each group: ``table(owners)`` pads each owner's items with -1."""

    def __init__(self, owner_of: np.ndarray, n_owners: int):
        self.order = np.argsort(owner_of, kind="stable")
        self.counts = np.bincount(owner_of, minlength=n_owners).astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def table(self, owners: np.ndarray, width: int | None = None) -> np.ndarray:
        counts = self.counts[owners]
        width = max(int(counts.max(initial=0)), 1) if width is None else width
        at = self.starts[owners][:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < counts[:, None]
        return np.where(valid, self.order[np.minimum(at, max(len(self.order) - 1, 0))], -1)


class Corpus:
    """The index's sentences, passages and sections as aligned arrays (one row per sentence)."""

    def __init__(self, knowledge: Knowledge, index: SearchIndex):
        self.index = index
        self.sections = {section_ref(s.document_id, s.id): s for s in knowledge.retrievable_sections()}
        section_row = {ref: i for i, ref in enumerate(index.section_refs)}
        self.rows = index.sentence_rows  # (passage, sentence) of each sentence row
        n = self.n = len(self.rows)
        self.n_sections = len(index.section_refs)
        # Exact inner products over the vectors the FAISS indexes hold, read in place (one copy
        # in memory): every row's on a small knowledge, the candidates' on a large one.
        self.sentence_vectors = stored_vectors(index.sentence_index)
        self.passage_vectors = stored_vectors(index.passage_index)
        self.sentence_passage = np.array([p for p, _s in self.rows], dtype=np.int64)
        passage_section = [section_row[section_ref(p.document_id, p.section_id)] for p in index.passages]
        self.sentence_section = np.array(passage_section, dtype=np.int64)[self.sentence_passage]
        # Out-of-scope examples speak for the curated knowledge (the article): an answer from a
        # section nobody curated (a company playbook) is judged by its score alone.
        curated = [is_curated(self.sections[ref]) for ref in index.section_refs]
        self.sentence_curated = np.array(curated, dtype=bool)[self.sentence_section]
        self.sentence_key_rows = np.array([k.sentence for k in index.sentence_keys], dtype=np.int64)
        self.takeaway = np.array(
            [index.passages[p].paragraph == TAKEAWAY for p, _s in self.rows], dtype=np.float32
        )
        self.states_amount = np.array(
            [bool(STATES_AMOUNT.search(self.sentence_text(row))) for row in range(n)], dtype=np.float32
        )
        self.assigns = np.array([self.has_assignment(row) for row in range(n)], dtype=np.float32)
        # The sentence keys that are claims' plans (bot.search.stance), and their sentences.
        self.plan_keys = np.array(
            [i for i, k in enumerate(index.sentence_keys) if k.kind.startswith(PLAN)], dtype=np.int64
        )
        self.plan_key_rows = self.sentence_key_rows[self.plan_keys]
        self.has_keys = np.zeros(n, dtype=bool)
        self.has_keys[self.sentence_key_rows] = True
        # The sentences with curated keys, and each one's keys padded with -1 (few: curated).
        self.keyed_rows = np.unique(self.sentence_key_rows)
        self.keys_of_keyed = Grouped(self.sentence_key_rows, n).table(self.keyed_rows)
        section_key_rows = np.array([section_row[k.section] for k in index.section_keys], dtype=np.int64)
        self.section_keys = Grouped(section_key_rows, self.n_sections)
        # The section keys that are not an uncurated section's own sentences (headings,
        # takeaways, curated topics and questions): few, searched whole by the candidate stage.
        self.named_keys = np.array(
            [i for i, k in enumerate(index.section_keys) if k.kind != "sentence"], dtype=np.int64
        )
        self.named_key_vectors = np.asarray(index.section_key_vectors[self.named_keys], dtype=np.float32)
        self.named_key_sections = section_key_rows[self.named_keys]
        # Each section's sentence rows (in order): the candidate stage takes sections whole.
        self.section_rows = Grouped(self.sentence_section, self.n_sections)
        # Each sentence's paragraph, the paragraph's sentence rows in order, and the sentence's
        # offsets in its paragraph's text (quotes run across passages, never across paragraphs).
        self.paragraph_of: list[tuple[str, str, int]] = []
        self.paragraph_rows: dict[tuple[str, str, int], list[int]] = {}
        self.offsets: list[tuple[int, int]] = []
        for row, (p, s) in enumerate(self.rows):
            passage = index.passages[p]
            key = (passage.document_id, passage.section_id, passage.paragraph)
            self.paragraph_of.append(key)
            self.paragraph_rows.setdefault(key, []).append(row)
            sentence = passage.sentences[s]
            self.offsets.append((passage.start + sentence.start, passage.start + sentence.end))
        # The sentence before and after each one in its paragraph (-1: none), and each
        # section's key rows padded with -1: the per-question signals are then array lookups.
        self.before = np.full(n, -1, dtype=np.int64)
        self.after = np.full(n, -1, dtype=np.int64)
        for rows in self.paragraph_rows.values():
            self.before[rows[1:]] = rows[:-1]
            self.after[rows[:-1]] = rows[1:]
        # Word-piece vectors of the sentences (late interaction: each question piece is matched
        # to its closest piece of each sentence), where each sentence's run starts, the pieces
        # left out (common_pieces) and the inverse document frequency of each over the sentences.
        self.token_vectors = index.sentence_tokens
        self.token_projection = index.token_projection
        token_rows = index.sentence_token_pieces[:, 0]
        self.token_starts = np.searchsorted(token_rows, np.arange(n))
        self.token_counts = np.bincount(token_rows, minlength=n).astype(np.float32)
        self.common_pieces = common_pieces(index.piece_frequency, n)
        self.idf = {int(i): float(np.log((n + 1) / (f + 0.5))) for i, f in index.piece_frequency}
        self.unseen_idf = float(np.log((n + 1) / 0.5))
        self.scope_covered = scope_covered_chunked(
            index.scope_vectors, self.sentence_vectors, np.flatnonzero(~self.sentence_curated)
        )
        classifier = index.scope_classifier  # weights then bias, or empty (no out-of-scope examples)
        self.scope_weights = classifier[:-1] if len(classifier) else None
        self.scope_bias = float(classifier[-1]) if len(classifier) else 0.0
        # The sections' curated questions and their vectors, for a refusal's suggestions.
        rows = [i for i, key in enumerate(index.section_keys) if key.kind == "question"]
        self.curated_questions = [index.section_keys[i].text for i in rows]
        self.curated_question_vectors = index.section_key_vectors[rows]
        # What a refusal suggests: those questions, and for each section nobody curated (a
        # playbook's) a question about its heading, found by the heading key's vector.
        headings = [
            i
            for i, key in enumerate(index.section_keys)
            if key.kind == "heading" and not is_curated(self.sections[key.section])
        ]
        self.suggestion_texts = self.curated_questions + [
            heading_question(self.sections[index.section_keys[i].section]) for i in headings
        ]
        self.suggestion_documents = [index.section_keys[i].section.split("/")[0] for i in rows + headings]
        self.suggestion_vectors = index.section_key_vectors[rows + headings]
        self.assignment_keys: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(index.assignment_keys):
            self.assignment_keys.setdefault((key.passage, key.span), []).append(i)

    @cached_property
    def keys_of_section(self) -> np.ndarray:
        """Every section's key rows padded with -1 (sections x the most keys of one)."""
        return self.section_keys.table(np.arange(self.n_sections))

    def keys_of_sections(self, sections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The key rows of ``sections`` (padded with -1), and which are keys."""
        keys = self.section_keys.table(sections)
        return keys, keys >= 0

    def rows_of_sections(self, sections: np.ndarray) -> np.ndarray:
        """Every sentence row of ``sections``, sorted."""
        g = self.section_rows
        return np.sort(g.order[ranges(g.starts[sections], g.counts[sections])])

    @cached_property
    def _token_vectors(self) -> np.ndarray:
        return np.asarray(self.token_vectors, dtype=np.float32)

    def token_vectors_float(self, at: np.ndarray | None = None) -> np.ndarray:
        """The word-piece vectors (stored as float16, memory-mapped) in float32: all of them
        (kept once converted), or those at ``at``."""
        if at is None:
            return self._token_vectors
        return self.token_vectors[at].astype(np.float32)

    def sentence_text(self, row: int) -> str:
        p, s = self.rows[row]
        passage = self.index.passages[p]
        return passage.sentence_text(passage.sentences[s])

    def has_assignment(self, row: int) -> bool:
        """Whether the sentence ``row`` gives a job to a department (a curated assignment)."""
        p, s = self.rows[row]
        passage = self.index.passages[p]
        sentence = passage.sentences[s]
        return any(a.start < sentence.end and a.end > sentence.start for a in passage.assignments)
