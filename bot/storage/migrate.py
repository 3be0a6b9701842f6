"""Run the schema migrations in this package programmatically (any cwd, installed or not).

``upgrade(engine)`` brings the database to the newest revision. Several processes may start
at once, so the upgrade holds a lock: PostgreSQL's advisory lock, SQLite's write lock
(``BEGIN IMMEDIATE``). A database already at the newest revision is not locked at all.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, text

logger = logging.getLogger(__name__)
# Alembic logs its plugin set-up and context at INFO on every start; keep only its warnings.
# (Set before alembic is imported: it logs while importing.)
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant naming this app's migration lock among PostgreSQL advisory locks.
_PG_LOCK_ID = 724_150_001


# alembic is imported inside the functions below: after the logger above is set, and only by
# a process that opens a database (the CLI's other commands never pay for it).


def alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (default: the newest), holding a migration lock."""
    from alembic import command

    if revision == "head" and current_revision(engine) == head_revision():
        return
    config = alembic_config()
    logger.info("upgrading the %s database schema to %s", engine.dialect.name, revision)
    # engine.begin() issues BEGIN IMMEDIATE on SQLite (see engine._sqlite_engine), so concurrent
    # upgrades wait for each other and the second one finds the schema already current.
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
