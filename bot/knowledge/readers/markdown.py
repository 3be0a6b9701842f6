"""The Markdown reader: a company playbook as people write it (exported from Notion, Google Docs
or Confluence) into the document model (``bot.knowledge.model``), parsed by markdown-it-py.

The H1 is the document's title and the text under it, before the first H2, its introduction.
Each H2 with text of its own is a section; each H3 is a section that knows its H2 (``parent``),
which is how a question set names it (``[H3, H2]``). Deeper headings stay inside their H3.
Every list item, table row and paragraph is a paragraph of its section (so a passage never runs
across two list items); a table row reads as its header names and cells ("Discount: 10.1–20%;
Approver: Sales Manager"). Bold, emphasis and links are read as their words, inline code keeps
its backticks. Each paragraph keeps the line it starts on, for errors and for tracing a quote.

Nobody curated a playbook: it has no owners, topics or questions. Its sections compete on
their own text (bot.search.fitting keys an uncurated section by its sentences).
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ..model import INTRODUCTION, KINDS, Document, KnowledgeError, KnowledgeFile, Paragraph, Section

# A playbook is tens of kilobytes; a file this large is not one (a mis-saved export, a data
# dump) and would hold the index build for minutes. Checked before the file is read.
MAX_BYTES = 2 * 1024 * 1024
_EMPTY_CELL = {"", "-", "—", "–", "n/a"}
_SLUG = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def _fail(path: Path, line: int, problem: str) -> KnowledgeError:
    return KnowledgeError(f"{path}:{line}: {problem}")


def _text_of(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            limit = MAX_BYTES // 2**20
            problem = f"file is too large for a playbook ({size / 1e6:.1f} MB; at most {limit} MB)"
            raise _fail(path, 1, problem)
        data = path.read_bytes()
    except OSError as exc:  # unreadable (permissions, removed meanwhile): left out like any bad file
        raise _fail(path, 1, f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if b"\0" in data[:8192]:
        raise _fail(path, 1, "not a Markdown text file (binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _fail(path, line, "file is not UTF-8 text") from None
    if not text.strip():
        raise _fail(path, 1, "file is empty")
    return text


def inline_text(token: Token) -> str:
    """An inline token's words: markup dropped, links as their text, inline code in backticks."""
    parts = []
    for child in token.children or ():
        if child.type in ("text", "html_inline"):
            parts.append(child.content if child.type == "text" else "")
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return _SPACES.sub(" ", "".join(parts)).strip()


def _row_text(header: list[str], cells: list[str]) -> str:
    """A table row as a sentence: each filled cell after its column's name."""
    named = [
        f"{name}: {cell}" if name and name.lower() != cell.lower() else cell
        for name, cell in zip(header + [""] * len(cells), cells, strict=False)
        if cell.strip().lower() not in _EMPTY_CELL
    ]
    text = "; ".join(named)
    return text if not text or text[-1] in ".!?" else text + "."


class _Builder:
    """Sections in reading order, as the headings open them."""

    def __init__(self, path: Path, document_id: str):
        self.path, self.document_id = path, document_id
        self.title: str | None = None
        self.title_line = 1
        self.h2 = ""
        self.open: list[tuple[str, str, int]] = []  # (heading, parent, line) of each section
        self.paragraphs: list[list[Paragraph]] = []
        self.intro: list[Paragraph] = []

    def heading(self, level: int, text: str, line: int) -> None:
        if level == 1 and self.title is None and not self.open:
            self.title, self.title_line = text, line
            return
        if level > 3:  # a deeper heading is a line of its section's text
            self.add(text, line)
            return
        if level <= 2:
            self.h2 = text
        self.open.append((text, self.h2 if level == 3 else "", line))
        self.paragraphs.append([])

    def add(self, text: str, line: int) -> None:
        if not text:
            return
        paragraph = Paragraph(text=text, owner="both", line=line)
        (self.paragraphs[-1] if self.open else self.intro).append(paragraph)

    def document(self) -> Document:
        if self.title is None and not self.open:
            raise _fail(self.path, 1, "no headings: a playbook needs a '# Title' and '## Section' headings")
        title = self.title or self.path.stem.replace("-", " ").replace("_", " ").strip()
        sections, ids = [], set()
        for (heading, parent, line), paragraphs in zip(self.open, self.paragraphs, strict=True):
            if not paragraphs:
                continue  # an H2 whose text is all in its H3s
            base = _SLUG.sub("-", f"{parent} {heading}".lower()).strip("-") or "section"
            section_id, n = base, 2
            while section_id in ids or section_id == "introduction":
                section_id, n = f"{base}-{n}", n + 1
            ids.add(section_id)
            sections.append(self._section(section_id, heading, parent, line, paragraphs, len(sections)))
        introduction = (
            self._section("introduction", title, "", self.title_line, self.intro, INTRODUCTION)
            if self.intro
            else None
        )
        if not sections and introduction is None:
            raise _fail(self.path, self.title_line, "no text under any heading")
        return Document(
            id=self.document_id,
            title=title,
            source=None,
            introduction=introduction,
            sections=tuple(sections),
            path=self.path,
        )

    def _section(self, section_id, heading, parent, line, paragraphs, index) -> Section:
        return Section(
            id=section_id,
            heading=heading,
            takeaway="",
            owner="both",
            topics=(),
            questions=(),
            paragraphs=tuple(paragraphs),
            assignments=(),
            document_id=self.document_id,
            index=index,
            parent=parent,
            line=line,
        )


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


def parse(path: Path, text: str) -> Document:
    """``text`` (the Markdown of ``path``) as a document."""
    document_id = _SLUG.sub("-", path.stem.lower()).strip("-") or "playbook"
    builder = _Builder(path, document_id)
    tokens = _parser().parse(text)
    header: list[str] = []
    row: list[str] | None = None
    in_head = False
    for i, token in enumerate(tokens):
        line = token.map[0] + 1 if token.map else 0
        if token.type == "heading_open":
            builder.heading(int(token.tag[1]), inline_text(tokens[i + 1]), line)
        elif token.type == "thead_open":
            in_head, header = True, []
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row, row_line = [], line
        elif token.type in ("th_open", "td_open"):
            (header if in_head else row).append(inline_text(tokens[i + 1]))
        elif token.type == "tr_close" and not in_head and row is not None:
            builder.add(_row_text(header, row), row_line)
            row = None
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            builder.add(inline_text(token), line or (tokens[i - 1].map or [0])[0] + 1)
        elif token.type in ("fence", "code_block"):
            builder.add(_SPACES.sub(" ", token.content).strip(), line)
    return builder.document()


def read(path: Path, kinds: tuple[str, ...] = KINDS) -> KnowledgeFile:
    """A Markdown file is always a document (kind ``article``): a company's playbook."""
    if "article" not in kinds:
        return KnowledgeFile(path=path, kind="article")
    return KnowledgeFile(path=path, kind="article", document=parse(path, _text_of(path)))
