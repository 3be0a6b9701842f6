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


def postgres_url(request: pytest.FixtureRequest):
    """A context manager giving the URL of a fresh PostgreSQL database (skips if unavailable)."""
    if PG_SKIP_REASON:
        if os.environ.get("ADVISOR_TEST_POSTGRES", "").lower() == "required":
            pytest.fail(f"ADVISOR_TEST_POSTGRES=required, but: {PG_SKIP_REASON}")
        pytest.skip(PG_SKIP_REASON)
    proc = request.getfixturevalue("pg_server")
    dbname = f"advisor_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(
        user=proc.user, host=proc.host, port=proc.port, dbname=dbname, password=proc.password
    )
    password = f":{proc.password}" if proc.password else ""
    url = f"postgresql+psycopg://{proc.user}{password}@{proc.host}:{proc.port}/{dbname}"
    return janitor, url


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh database on each backend: a SQLite file in tmp_path, a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'advisor.sqlite3'}"
        return
    janitor, url = postgres_url(request)
    with janitor:
        yield url
