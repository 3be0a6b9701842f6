"""The readers of knowledge files, one module per format, picked by the file's suffix.

Each reader module has ``read(path, kinds) -> KnowledgeFile`` and turns a file into the same
document model (``bot.knowledge.model``), with errors that read ``FILE:LINE: FIELD: problem``.
A new format is one new module here and one row in :data:`READERS`.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..model import KINDS, KnowledgeError, KnowledgeFile
from . import markdown, yaml

# The one table: a file's suffix -> the module that reads it. The knowledge directory's
# files are those with a suffix listed here.
READERS: dict[str, ModuleType] = {
    ".yaml": yaml,
    ".yml": yaml,
    ".md": markdown,
    ".markdown": markdown,
}
# Formats a company exports its own documents in: a malformed one is left out with one line
# (logged, and listed by ``advisor knowledge list``) and the rest keeps serving, where a bad
# YAML file (the project's own schema) stops the load.
LENIENT = frozenset({markdown})


def knowledge_files(directory: Path) -> list[Path]:
    """The knowledge directory's files that a reader reads, in name order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError(f"{directory}: knowledge directory not found")
    return sorted(p for p in directory.iterdir() if p.suffix in READERS and p.is_file())


def read_file(path: Path, kinds: tuple[str, ...] = KINDS) -> KnowledgeFile:
    """``path`` read by its format's reader; a kind not in ``kinds`` is named, not read."""
    reader = READERS.get(Path(path).suffix)
    if reader is None:
        raise KnowledgeError(
            f"{path}:1: no reader for {Path(path).suffix or 'files without a suffix'!r} files"
        )
    return reader.read(Path(path), kinds)


def is_lenient(path: Path) -> bool:
    """Whether a malformed ``path`` is left out of the knowledge rather than stopping the load."""
    return READERS.get(Path(path).suffix) in LENIENT
