"""Engine set-up: SQLite (a file, WAL, ``BEGIN IMMEDIATE``) or PostgreSQL (psycopg 3), and the
schema upgrade at open. Every per-area store shares the one engine made here.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..errors import AdvisorError, first_line
from . import migrate

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: every wait on the server is bounded, so a database that accepts connections but
# never answers (a frozen server, a black-holed proxy) ends in an error, not a hang. Connecting
# (TCP and the start-up exchange, per address tried) gives up after CONNECT_TIMEOUT_SECONDS;
# a statement the server runs longer than STATEMENT_TIMEOUT_MS is cancelled by the server;
# an open connection whose server stopped acknowledging is dropped by the kernel after
# TCP_USER_TIMEOUT_MS (keepalives find it when idle).
# libpq applies it to each attempt: with sslmode=prefer an unanswered server is tried twice
# (SSL, then plain; measured: 2 x 5 s), and once more per address a host name resolves to.
CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 30_000
TCP_USER_TIMEOUT_MS = 15_000


class StoreError(AdvisorError):
    """The database cannot be opened or upgraded; the message is one line."""


def _sqlite_engine(url, pool: dict) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        directory = Path(database).expanduser().parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission, a read-only disk
            problem = exc.strerror or exc
            raise StoreError(
                f"cannot create the SQLite directory {directory}: {problem} "
                "(check that the data directory is writable)"
            ) from None
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Take the write lock up front: a deferred transaction that reads and then writes can
        # fail with "database is locked" at once instead of waiting out busy_timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def postgresql_connect_args() -> dict:
    """libpq's connection parameters: the session's time zone and the bounded waits above."""
    return {
        # Sessions in UTC: slack_sdk's stores write UTC as naive datetimes, which PostgreSQL
        # reads in the session's time zone when it stores them in a timestamptz column.
        "options": f"-c timezone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS}",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    }


def create_store_engine(database_url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``database_url``; ``pool_size`` connections are kept open (SQLAlchemy's
    default 5 if None), and up to 10 more are opened, then closed, under a burst."""
    url = make_url(database_url)
    pool = {"pool_size": pool_size} if pool_size else {}
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, pool_pre_ping=True, connect_args=postgresql_connect_args(), **pool)
    raise StoreError(f"unsupported DATABASE_URL scheme {url.drivername!r} (use sqlite or postgresql)")


def open_engine(database_url: str, *, upgrade: bool = True, pool_size: int | None = None) -> Engine:
    """The engine for ``database_url``, its schema upgraded to the newest revision; StoreError
    (one line, never the URL's password) when it cannot be opened or upgraded."""
    # Imported here, after ``migrate`` has quieted alembic's logger (alembic logs as it imports).
    from alembic.util import CommandError

    try:
        engine = create_store_engine(database_url, pool_size=pool_size)
    except (ArgumentError, ValueError, ImportError):
        # The parser's message quotes the URL, password included: say only what is wrong.
        raise StoreError("invalid DATABASE_URL: cannot be parsed (scheme://user:password@host/db)") from None
    try:
        if upgrade:
            migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        # str(exc.orig) names the problem without echoing the URL (and its password).
        problem = first_line(str(getattr(exc, "orig", None) or exc))
        raise StoreError(f"cannot open the database ({engine.url.get_backend_name()}): {problem}") from None
    except CommandError as exc:  # e.g. a schema newer than this code (after a rollback)
        engine.dispose()
        raise StoreError(
            f"cannot upgrade the database schema to {migrate.head_revision()}: {first_line(str(exc))}"
        ) from None
    return engine
