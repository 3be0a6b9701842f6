"""What this process computed from a file, kept while the file is unchanged.

An index load verifies every file's SHA-256 (90 MB of model export among them) and a tips
command parses every knowledge file: the same unchanged bytes, again and again in one serving
process. A :class:`FileMemo` remembers a result by the file's stat stamp (path, device, inode,
size, modification and change times in nanoseconds): a write changes the stamp, so a changed
file is read again. A file changed in the last :data:`RACY_SECONDS` is not remembered, since a
filesystem with a coarse clock could give its next change the same stamp (git's "racily
clean" rule). Nothing is kept across processes: each one reads a file once.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
RACY_SECONDS = 2.0


def stamp(path: Path) -> tuple | None:
    """The file's stamp, or None while it is too fresh to trust one (see the module's text)."""
    status = os.stat(path)
    if time.time() - max(status.st_mtime, status.st_ctime) < RACY_SECONDS:
        return None
    return (
        os.path.abspath(path),
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


class FileMemo(Generic[T]):
    """``compute(path)``, remembered for the ``size`` most recently used stamps."""

    def __init__(self, compute: Callable[[Path], T], size: int):
        self._compute = compute
        self._size = size
        self._results: OrderedDict[tuple, T] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> T:
        key = stamp(path)
        if key is not None:
            with self._lock:
                if key in self._results:
                    self._results.move_to_end(key)
                    return self._results[key]
        result = self._compute(path)
        if key is not None:
            with self._lock:
                self._results[key] = result
                while len(self._results) > self._size:
                    self._results.popitem(last=False)
        return result
