"""``advisor knowledge add/list/remove``: the documents the advisor answers from.

A file is checked before anything changes (one line naming FILE:LINE and the problem), copied
into the knowledge directory, and the index updated: only the new document's texts are
embedded (bot.search.vectors), with the index's ONNX export when it has one (no torch).
Dropping a file into the directory by hand does the same at the next start.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from ..config import Settings
from ..knowledge import KnowledgeError, load_knowledge, read_file
from ..knowledge.readers import READERS


def _settings() -> Settings:
    return click.get_current_context().find_object(Settings)


def _update_index(settings: Settings, knowledge) -> str:
    """Bring the index up to date with ``knowledge``; what it cost, in one line."""
    from ..search.backend import load_model_and_index

    started = time.perf_counter()
    embedder, index = load_model_and_index(settings, knowledge)
    m = index.manifest
    return (
        f"index updated: {m.passage_count} passages, {m.sentence_count} sentences"
        f" ({embedder.backend}) in {time.perf_counter() - started:.1f}s"
    )


@click.group()
def knowledge() -> None:
    """Add, list or remove the documents the advisor answers from (Markdown or YAML)."""


@knowledge.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace a file of the same name already there.")
def add(file: Path, replace: bool) -> None:
    """Check FILE, copy it into the knowledge directory and update the index."""
    settings = _settings()
    directory = Path(settings.knowledge_dir)
    if file.suffix not in READERS:
        raise KnowledgeError(f"{file}:1: not a knowledge file (use {', '.join(sorted(READERS))})")
    read = read_file(file)  # the file's own problems, before anything changes
    if read.document is None:
        raise KnowledgeError(f"{file}:1: holds no document (kind: {read.kind})")
    target = directory / file.name
    if target.exists() and not replace and target.resolve() != file.resolve():
        raise KnowledgeError(f"{target}: already in the knowledge directory (add --replace to change it)")
    backup = target.read_bytes() if target.exists() else None
    if target.resolve() != file.resolve():
        shutil.copyfile(file, target)
    try:
        loaded = load_knowledge(directory)  # problems across files (the same document id twice)
    except KnowledgeError:
        if backup is None:
            target.unlink()
        else:
            target.write_bytes(backup)
        raise
    document = loaded.document(read.document.id)
    click.echo(
        f"added {target.name}: {document.title!r}, {len(document.sections)} sections"
        f", {_passage_count(document)} passages"
    )
    click.echo(_update_index(settings, loaded))


def _passage_count(document) -> int:
    from ..passages import split_section

    parts = [document.introduction] if document.introduction else []
    return sum(len(split_section(s)) for s in [*parts, *document.sections])


@knowledge.command("list")
@click.option("--sections/--no-sections", default=True, help="List each document's sections.")
def list_documents(sections: bool) -> None:
    """The documents (file, title, sections, passages) and each section's passage count."""
    from ..passages import split_section

    loaded = load_knowledge(_settings().knowledge_dir)
    for document in loaded.documents:
        kind = "article (curated)" if document.curated else "playbook"
        parts = [document.introduction] if document.introduction else []
        parts += list(document.sections)
        counts = [len(split_section(s)) for s in parts]
        click.echo(
            f"{document.path.name}  {document.title!r}  [{kind}]  {len(document.sections)} sections,"
            f" {sum(counts)} passages"
        )
        if sections:
            for section, count in zip(parts, counts, strict=True):
                where = f" < {section.parent}" if section.parent else ""
                line = f" (line {section.line})" if section.line else ""
                click.echo(f"    {count:>3}  {section.heading}{where}{line}")
    for problem in loaded.skipped:
        click.echo(f"left out: {problem}")


@knowledge.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove a document (its file name, file stem or document id) and update the index."""
    settings = _settings()
    directory = Path(settings.knowledge_dir)
    loaded = load_knowledge(directory)
    matches = [
        d for d in loaded.documents if name in (d.path.name, d.path.stem, d.id) and d.path.parent == directory
    ]
    if not matches:
        known = ", ".join(d.path.name for d in loaded.documents)
        raise KnowledgeError(f"{directory}: no document named {name!r} (documents: {known})")
    document = matches[0]
    if len(loaded.documents) == 1:
        raise KnowledgeError(f"{document.path}: the only document; the advisor needs one to answer from")
    kept = document.path.read_bytes()
    document.path.unlink()
    try:
        after = load_knowledge(directory)
    except KnowledgeError:
        document.path.write_bytes(kept)
        raise
    click.echo(f"removed {document.path.name}: {document.title!r}")
    click.echo(_update_index(settings, after))
