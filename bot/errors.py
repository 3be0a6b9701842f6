"""One error model: every expected failure is an ``AdvisorError`` with a one-line message.

The core, storage, tips and Slack layers raise subclasses (``ConfigError``, ``KnowledgeError``,
``ModelError``, ``IndexUnavailable``, ``StoreError``, ``ScheduleError``, ``StartupError``);
the edges (every CLI command, ``serve``) turn them into one line and an exit code with
``explain``. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import sys


class AdvisorError(Exception):
    """An expected failure; ``str()`` is one line saying what is wrong and how to fix it."""

    exit_code = 1


def first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


_DISK_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC})


def explain(exc: BaseException) -> tuple[str, int] | None:
    """``(one-line message, exit code)`` for an expected error, None for anything else."""
    if isinstance(exc, AdvisorError):
        # Several problems (bad settings) are one line each; any other message its first line.
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        several = getattr(exc, "one_line_each", False) and len(lines) > 1
        return ("\n".join(lines) if several else first_line(str(exc))) or type(exc).__name__, exc.exit_code
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
        # A read-only data directory (an index to build, a SQLite file to create), a full disk.
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc} (check that the data directory is writable)", 1
    # A database failure in the middle of a command (the server went away). Looked up in
    # sys.modules so the CLI never imports SQLAlchemy only to find it was not involved.
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.SQLAlchemyError):
        # str(exc.orig) names the problem without echoing the URL (and its password).
        return f"database error: {first_line(str(getattr(exc, 'orig', None) or exc))}", 1
    return None
