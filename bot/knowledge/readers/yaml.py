"""The YAML reader: a ``*.yaml`` / ``*.yml`` knowledge file in the project's schema (see
``knowledge/article.yaml``) into the document model (``bot.knowledge.model``).

The file's ``kind`` says what it holds: ``article`` (a document), ``scope`` (questions the
knowledge does not answer), ``glossary`` (abbreviations spelled out), ``translation`` (curated
questions in another language, checked against the documents by the loader) or ``tips`` (read here,
checked against the documents by ``bot.tips.catalog``). Validation walks YAML nodes, so every
error names the file, the line and the field (``FILE:LINE: FIELD: problem``, with a
did-you-mean for a misspelled field).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ...filememo import FileMemo
from ..model import (
    INTRODUCTION,
    KINDS,
    OWNERS,
    STANCES,
    Assignment,
    Claim,
    Document,
    GlossaryTerm,
    KnowledgeError,
    KnowledgeFile,
    Located,
    Paragraph,
    Section,
    SentenceQuestions,
    Source,
    TipEntry,
    TranslatedSection,
)


class NodeReader:
    """Validating accessors over a composed YAML node tree."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, node: Node | None, field: str, problem: str) -> KnowledgeError:
        line = node.start_mark.line + 1 if node is not None else 1
        return KnowledgeError(f"{self.path}:{line}: {field}: {problem}")

    def mapping(
        self, node: Node, field: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, field, "expected a mapping of fields")
        allowed = required + optional
        result: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            name = f"{field}.{key}" if field else str(key)
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
                raise self.fail(key_node, name, f"unknown field{hint}")
            if key in result:
                raise self.fail(key_node, name, "field given twice")
            result[key] = value_node
        for key in required:
            if key not in result:
                raise self.fail(node, f"{field}.{key}" if field else key, "required field is missing")
        return result

    def text(self, node: Node, field: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, field, "expected text")
        value = str(node.value).strip()
        if not value:
            raise self.fail(node, field, "must not be empty")
        return value

    def choice(self, node: Node, field: str, choices: tuple[str, ...]) -> str:
        value = self.text(node, field).lower()
        if value not in choices:
            raise self.fail(node, field, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def texts(self, node: Node, field: str) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field, "expected a list")
        return tuple(self.text(item, f"{field}[{i}]") for i, item in enumerate(node.value))

    def items(self, node: Node, field: str) -> list[Node]:
        if not isinstance(node, SequenceNode) or not node.value:
            raise self.fail(node, field, "expected a non-empty list")
        return list(node.value)

    def located(self, node: Node, field: str, value: str) -> Located:
        """``value``, read from ``node``, with where it was (for a check made after reading)."""
        return Located(value=value, path=self.path, line=node.start_mark.line + 1, field=field)


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> Node | None:
    """libyaml composes the same nodes and marks fifteen times faster (0.2 s of every start-up,
    for the article); a text it rejects is read again by the pure-Python parser, whose
    messages say more."""
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader)


def _compose_file(path: Path) -> Node:
    """Parse a YAML file into nodes; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KnowledgeError(f"{path}:1: file is not UTF-8 text") from None
    try:
        node = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark and context_mark.line + 1 != line:
            # e.g. an unclosed quote: say where it opened, not only where the parser gave up
            problem += f" ({context} at line {context_mark.line + 1})"
        raise KnowledgeError(f"{path}:{line}: invalid YAML: {problem}") from None
    if node is None:
        raise KnowledgeError(f"{path}:1: file is empty")
    return node


# The nodes of a file this process has parsed and that has not changed since (bot/filememo.py):
# a tips command or a reload reads every knowledge file again. The nodes are only read.
compose_file = FileMemo(_compose_file, size=64)


def file_kind(path: Path, node: Node) -> str:
    reader = NodeReader(path)
    if not isinstance(node, MappingNode):
        raise reader.fail(node, "(top level)", "expected a mapping with a 'kind' field")
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "kind":
            return reader.choice(value_node, "kind", KINDS)
    raise reader.fail(node, "kind", f"required field is missing (one of {', '.join(KINDS)})")


def _assignments(r: NodeReader, node: Node, f: str, texts: list[str]) -> tuple[Assignment, ...]:
    assignments = []
    for j, a_node in enumerate(r.items(node, f)):
        af = f"{f}[{j}]"
        am = r.mapping(a_node, af, ("quote", "owner"), ("topics",))
        quote = r.text(am["quote"], f"{af}.quote")
        if not any(quote in text for text in texts):
            raise r.fail(am["quote"], f"{af}.quote", "not found verbatim in this section's text")
        assignments.append(
            Assignment(
                quote=quote,
                owner=r.choice(am["owner"], f"{af}.owner", OWNERS),
                topics=r.texts(am["topics"], f"{af}.topics") if "topics" in am else (),
            )
        )
    return tuple(assignments)


def _sentence_questions(r: NodeReader, node: Node, f: str, texts: list[str]) -> tuple[SentenceQuestions, ...]:
    items = []
    for j, item in enumerate(r.items(node, f)):
        sf = f"{f}[{j}]"
        m = r.mapping(item, sf, ("quote", "questions"), ())
        quote = r.text(m["quote"], f"{sf}.quote")
        found = sum(text.count(quote) for text in texts)
        if found != 1:
            problem = "not found verbatim in this section's text" if not found else "found more than once"
            raise r.fail(m["quote"], f"{sf}.quote", problem)
        items.append(SentenceQuestions(quote, r.texts(m["questions"], f"{sf}.questions")))
    return tuple(items)


def _claims(r: NodeReader, node: Node, f: str, texts: list[str]) -> tuple[Claim, ...]:
    claims = []
    for j, item in enumerate(r.items(node, f)):
        cf = f"{f}[{j}]"
        m = r.mapping(item, cf, ("quote", "stance", "plans"), ("condition",))
        quote = r.text(m["quote"], f"{cf}.quote")
        found = sum(text.count(quote) for text in texts)
        if found != 1:
            problem = "not found verbatim in this section's text" if not found else "found more than once"
            raise r.fail(m["quote"], f"{cf}.quote", problem)
        stance = r.choice(m["stance"], f"{cf}.stance", STANCES)
        if (stance == "depends") != ("condition" in m):
            problem = "a 'depends' claim needs its condition" if stance == "depends" else "only for 'depends'"
            raise r.fail(m.get("condition", m["stance"]), f"{cf}.condition", problem)
        condition = r.text(m["condition"], f"{cf}.condition") if "condition" in m else None
        plans = r.texts(m["plans"], f"{cf}.plans")
        if not plans:
            raise r.fail(m["plans"], f"{cf}.plans", "expected a non-empty list")
        claims.append(Claim(quote, stance, plans, condition))
    return tuple(claims)


def _curated(r: NodeReader, m: dict[str, Node], f: str, texts: list[str]) -> dict:
    """The optional curated fields that a section and an introduction share (``texts``: a
    section's takeaway, then its paragraphs; an introduction's one text)."""
    return {
        "topics": r.texts(m["topics"], f"{f}.topics") if "topics" in m else (),
        "questions": r.texts(m["questions"], f"{f}.questions") if "questions" in m else (),
        "assignments": _assignments(r, m["assignments"], f"{f}.assignments", texts)
        if "assignments" in m
        else (),
        "sentence_questions": _sentence_questions(
            r, m["sentence_questions"], f"{f}.sentence_questions", texts
        )
        if "sentence_questions" in m
        else (),
        # A claim is found in the paragraphs: a takeaway restates one of their sentences.
        "claims": _claims(r, m["claims"], f"{f}.claims", texts[1:] or texts) if "claims" in m else (),
    }


_CURATED = ("topics", "questions", "assignments", "sentence_questions", "claims")


def _introduction(r: NodeReader, node: Node, document_id: str, title: str) -> Section:
    """The text before the first section: a plain string, or a mapping with curated fields."""
    if isinstance(node, ScalarNode):
        text, curated, owner = r.text(node, "introduction"), {}, "both"
    else:
        m = r.mapping(node, "introduction", ("text",), ("owner", *_CURATED))
        text = r.text(m["text"], "introduction.text")
        owner = r.choice(m["owner"], "introduction.owner", OWNERS) if "owner" in m else "both"
        curated = _curated(r, m, "introduction", [text])
    return Section(
        id="introduction",
        heading=title,
        takeaway="",
        owner=owner,
        paragraphs=(Paragraph(text=text, owner=owner),),
        document_id=document_id,
        index=INTRODUCTION,
        **{
            "topics": (),
            "questions": (),
            "assignments": (),
            "sentence_questions": (),
            "claims": (),
            **curated,
        },
    )


def _parse_document(path: Path, node: Node) -> Document:
    r = NodeReader(path)
    top = r.mapping(node, "", ("kind", "id", "title", "sections"), ("source", "introduction"))
    document_id = r.text(top["id"], "id")
    title = r.text(top["title"], "title")
    source = None
    if "source" in top:
        s = r.mapping(top["source"], "source", ("publisher", "date"), ("attribution", "url"))
        url = r.text(s["url"], "source.url") if "url" in s else None
        if url and not url.startswith(("http://", "https://")):
            raise r.fail(s["url"], "source.url", "must be an http(s) URL")
        source = Source(
            publisher=r.text(s["publisher"], "source.publisher"),
            date=r.text(s["date"], "source.date"),
            attribution=r.text(s["attribution"], "source.attribution") if "attribution" in s else None,
            url=url,
        )
    sections: list[Section] = []
    seen_ids: dict[str, int] = {}
    for i, section_node in enumerate(r.items(top["sections"], "sections")):
        f = f"sections[{i}]"
        m = r.mapping(section_node, f, ("id", "heading", "takeaway", "owner", "paragraphs"), _CURATED)
        section_id = r.text(m["id"], f"{f}.id")
        if section_id in seen_ids:
            raise r.fail(m["id"], f"{f}.id", f"duplicate section id (also sections[{seen_ids[section_id]}])")
        if section_id == "introduction":
            raise r.fail(m["id"], f"{f}.id", "'introduction' is the id of the text before the sections")
        seen_ids[section_id] = i
        owner = r.choice(m["owner"], f"{f}.owner", OWNERS)
        paragraphs = []
        for j, p_node in enumerate(r.items(m["paragraphs"], f"{f}.paragraphs")):
            pf = f"{f}.paragraphs[{j}]"
            if isinstance(p_node, ScalarNode):
                paragraphs.append(Paragraph(text=r.text(p_node, pf), owner=owner))
                continue
            pm = r.mapping(p_node, pf, ("text",), ("owner",))
            p_owner = r.choice(pm["owner"], f"{pf}.owner", OWNERS) if "owner" in pm else owner
            paragraphs.append(
                Paragraph(text=r.text(pm["text"], f"{pf}.text"), owner=p_owner, owner_given="owner" in pm)
            )
        takeaway = r.text(m["takeaway"], f"{f}.takeaway")
        sections.append(
            Section(
                id=section_id,
                heading=r.text(m["heading"], f"{f}.heading"),
                takeaway=takeaway,
                owner=owner,
                paragraphs=tuple(paragraphs),
                document_id=document_id,
                index=i,
                **_curated(r, m, f, [takeaway, *(p.text for p in paragraphs)]),
            )
        )
    introduction = (
        _introduction(r, top["introduction"], document_id, title) if "introduction" in top else None
    )
    return Document(
        id=document_id,
        title=title,
        source=source,
        introduction=introduction,
        sections=tuple(sections),
        path=path,
    )


def _scope(r: NodeReader, node: Node) -> tuple[str, tuple[str, ...]]:
    """The language ("" for the knowledge's own, English) and the out-of-scope examples."""
    top = r.mapping(node, "", ("kind", "out_of_scope"), ("language",))
    return _language(r, top) if "language" in top else "", r.texts(top["out_of_scope"], "out_of_scope")


def _language(r: NodeReader, top) -> str:
    language = r.text(top["language"], "language")
    if not (len(language) == 2 and language.isascii() and language.isalpha() and language.islower()):
        raise r.fail(top["language"], "language", f"expected a two-letter ISO 639-1 code, not {language!r}")
    return language


def _glossary(r: NodeReader, node: Node) -> tuple[GlossaryTerm, ...]:
    top = r.mapping(node, "", ("kind", "terms"), ())
    terms = top["terms"]
    if not isinstance(terms, MappingNode):
        raise r.fail(terms, "terms", "expected a mapping of term: meaning")
    read = []
    for key_node, value_node in terms.value:
        term = r.text(key_node, "terms")
        read.append(
            GlossaryTerm(r.located(key_node, f"terms.{term}", term), r.text(value_node, f"terms.{term}"))
        )
    return tuple(read)


def _tips(r: NodeReader, node: Node) -> tuple[TipEntry, ...]:
    top = r.mapping(node, "", ("kind", "tips"), ())
    entries = []
    for i, tip_node in enumerate(r.items(top["tips"], "tips")):
        f = f"tips[{i}]"
        m = r.mapping(tip_node, f, ("id", "title", "quote", "section"), ())
        fields = {name: r.located(m[name], f"{f}.{name}", r.text(m[name], f"{f}.{name}")) for name in m}
        entries.append(TipEntry(**fields))
    return tuple(entries)


def _translation(r: NodeReader, node: Node) -> tuple[str, tuple[TranslatedSection, ...]]:
    top = r.mapping(node, "", ("kind", "language", "document", "sections"), ())
    language = _language(r, top)
    document = r.located(top["document"], "document", r.text(top["document"], "document"))
    sections = []
    for i, item in enumerate(r.items(top["sections"], "sections")):
        f = f"sections[{i}]"
        m = r.mapping(item, f, ("section",), ("questions", "sentence_questions", "sentences"))
        quotes, glosses = [], []
        if "sentences" in m:
            for j, s_node in enumerate(r.items(m["sentences"], f"{f}.sentences")):
                sf = f"{f}.sentences[{j}]"
                sm = r.mapping(s_node, sf, ("quote", "text"), ())
                quote = r.located(sm["quote"], f"{sf}.quote", r.text(sm["quote"], f"{sf}.quote"))
                glosses.append((quote, r.text(sm["text"], f"{sf}.text")))
        if "sentence_questions" in m:
            for j, q_node in enumerate(r.items(m["sentence_questions"], f"{f}.sentence_questions")):
                qf = f"{f}.sentence_questions[{j}]"
                qm = r.mapping(q_node, qf, ("quote", "questions"), ())
                quote = r.located(qm["quote"], f"{qf}.quote", r.text(qm["quote"], f"{qf}.quote"))
                quotes.append((quote, r.texts(qm["questions"], f"{qf}.questions")))
        sections.append(
            TranslatedSection(
                document=document,
                section=r.located(m["section"], f"{f}.section", r.text(m["section"], f"{f}.section")),
                questions=r.texts(m["questions"], f"{f}.questions") if "questions" in m else (),
                quotes=tuple(quotes),
                sentences=tuple(glosses),
            )
        )
    return language, tuple(sections)


def read(path: Path, kinds: tuple[str, ...] = KINDS) -> KnowledgeFile:
    """The file read as its kind. A file of a kind not in ``kinds`` comes back with only its
    kind, not looked inside (the article loader does not check the tips file)."""
    node = compose_file(path)
    kind = file_kind(path, node)
    if kind not in kinds:
        return KnowledgeFile(path=path, kind=kind)
    r = NodeReader(path)
    if kind == "scope":
        language, examples = _scope(r, node)
        return KnowledgeFile(path=path, kind=kind, language=language, out_of_scope=examples)
    if kind == "glossary":
        return KnowledgeFile(path=path, kind=kind, terms=_glossary(r, node))
    if kind == "tips":
        return KnowledgeFile(path=path, kind=kind, tips=_tips(r, node))
    if kind == "translation":
        language, sections = _translation(r, node)
        return KnowledgeFile(path=path, kind=kind, language=language, translations=sections)
    return KnowledgeFile(path=path, kind=kind, document=_parse_document(path, node))
