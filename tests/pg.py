"""A real PostgreSQL server for the storage and scheduling tests (pytest-postgresql).

``database_url`` is parametrized over a SQLite file and a fresh PostgreSQL database. The
server is started once per session by ``postgresql_proc`` from the local binaries (Debian's
``postgresql`` package puts them in /usr/lib/postgresql/<version>/bin). Without pg_ctl the
PostgreSQL cases skip with the reason (as they do with ``ADVISOR_TEST_POSTGRES=off``; with
``ADVISOR_TEST_POSTGRES=required``, as in CI, they fail instead);
everything else runs.

PostgreSQL refuses to run as root (CI containers often are), so as root the factory is given
a small pg_ctl shim that runs the real one as the ``postgres`` user and hands it the data
directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import sqlite3
import stat
import tempfile
import uuid
from pathlib import Path

import pytest
from pytest_postgresql import factories
from pytest_postgresql.janitor import DatabaseJanitor

_SHIM = """#!/bin/sh
# pg_ctl refuses to run as root: run the real one as {user}, owning the data directory.
prev=""; data=""; log=""
for arg in "$@"; do
  case "$prev" in -D|--pgdata) data="$arg" ;; -l) log="$arg" ;; esac
  prev="$arg"
done
for path in "$data" "$log"; do
  [ -n "$path" ] || continue
  parent=$(dirname "$path")
  mkdir -p "$parent" && chown {user} "$parent"
  [ -e "$path" ] && chown -R {user} "$path"
  dir="$parent"
  while [ "$dir" != "/" ]; do chmod o+x "$dir" 2>/dev/null; dir=$(dirname "$dir"); done
done
exec runuser -u {user} -- {pg_ctl} "$@"
"""


def find_pg_ctl() -> str | None:
    """pg_ctl on PATH, else the newest /usr/lib/postgresql/<version>/bin/pg_ctl."""
    found = shutil.which("pg_ctl")
    if found:
        return found
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    candidates.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def _executable() -> tuple[str | None, str | None]:
    """(pg_ctl to give the factory, or None; why PostgreSQL tests must skip, or None)."""
    if os.environ.get("ADVISOR_TEST_POSTGRES", "").lower() in ("0", "off", "no", "false"):
        return None, "PostgreSQL tests turned off (ADVISOR_TEST_POSTGRES=off)"
    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        return None, "PostgreSQL not available: pg_ctl not found (apt-get install postgresql)"
    if os.geteuid() != 0:
        return pg_ctl, None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None, "PostgreSQL cannot run as root and there is no 'postgres' user to run it as"
    if shutil.which("runuser") is None:
        return None, "PostgreSQL cannot run as root and runuser is not available"
    shim_dir = Path(tempfile.gettempdir()) / f"advisor-pg-shim-{os.getpid()}"
    shim_dir.mkdir(exist_ok=True)
    shim = shim_dir / "pg_ctl"
    shim.write_text(_SHIM.format(user="postgres", pg_ctl=os.path.realpath(pg_ctl)))
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return str(shim), None


PG_CTL, PG_SKIP_REASON = _executable()

pg_server = factories.postgresql_proc(executable=PG_CTL or "pg_ctl", port=None)


TEMPLATE_DB = "advisor_migrated"  # on each worker's own server: its newest schema, made once


def postgres_url(request: pytest.FixtureRequest, *, migrated: bool = False):
    """A context manager giving the URL of a fresh PostgreSQL database (skips if unavailable):
    empty, or (``migrated``) a copy of a database at the newest schema (see migrated_postgres)."""
    if PG_SKIP_REASON:
        if os.environ.get("ADVISOR_TEST_POSTGRES", "").lower() == "required":
            pytest.fail(f"ADVISOR_TEST_POSTGRES=required, but: {PG_SKIP_REASON}")
        pytest.skip(PG_SKIP_REASON)
    proc = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("migrated_postgres") if migrated else None
    dbname = f"advisor_{uuid.uuid4().hex[:12]}"
    return _janitor(proc, dbname, template), _url(proc, dbname)


def _janitor(proc, dbname: str, template: str | None = None) -> DatabaseJanitor:
    """Creates ``dbname`` (from ``template``) on the server ``proc``, and drops it at exit."""
    return DatabaseJanitor(
        user=proc.user,
        host=proc.host,
        port=proc.port,
        dbname=dbname,
        password=proc.password,
        template_dbname=template,
    )


def _url(proc, dbname: str) -> str:
    password = f":{proc.password}" if proc.password else ""
    return f"postgresql+psycopg://{proc.user}{password}@{proc.host}:{proc.port}/{dbname}"


# A fresh database for a test is a copy of one migrated once a session, not migrated again in
# every test (137 upgrades of about 60 ms each in a run of the 18 oldest files): the same
# schema, made by the same migrations. test_storage's migration test asks for an empty one.


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite file at the newest schema, checkpointed (no WAL beside it): copy it."""
    from bot.storage.engine import open_engine

    path = tmp_path_factory.mktemp("migrated") / "advisor.sqlite3"
    open_engine(f"sqlite:///{path}").dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or not wal.stat().st_size, "the whole schema is in the file copied"
    return path


@pytest.fixture(scope="session")
def migrated_postgres(pg_server) -> str:
    """The name of a database at the newest schema on this worker's server (a template)."""
    from bot.storage.engine import open_engine

    _janitor(pg_server, TEMPLATE_DB).init()  # kept: the server is the session's, thrown away after
    engine = open_engine(_url(pg_server, TEMPLATE_DB))
    engine.dispose()  # a template must have no connections when it is copied
    return TEMPLATE_DB


def migrated_sqlite_copy(template: Path, path: Path) -> str:
    """The URL of a fresh SQLite database at ``path``: a copy of the migrated template."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh database at the newest schema on each backend: a SQLite file in tmp_path, a new
    PostgreSQL database (each a copy of one migrated once a session)."""
    if request.param == "sqlite":
        template = request.getfixturevalue("migrated_sqlite")
        yield migrated_sqlite_copy(template, tmp_path / "db" / "advisor.sqlite3")
        return
    janitor, url = postgres_url(request, migrated=True)
    with janitor:
        yield url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty database on each backend (no schema): for the migrations' own tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'advisor.sqlite3'}"
        return
    janitor, url = postgres_url(request)
    with janitor:
        yield url
