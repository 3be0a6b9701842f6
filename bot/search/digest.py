"""SHA-256 of the files the core checks: the model's weights, the index's files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..filememo import FileMemo


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Every index load verifies every file, the 90 MB export among them (0.07 s): a file this
# process has hashed and that has not changed since is not hashed again (bot/filememo.py).
file_sha256 = FileMemo(_sha256, size=1024)
