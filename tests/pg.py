"""A real PostgreSQL server for the storage and scheduling tests (pytest-postgresql's executor).

``database_url`` is parametrized over a SQLite file and a fresh PostgreSQL database. The
server is started once per session (per xdist worker) by ``pg_server`` from the local binaries
(Debian's ``postgresql`` package puts them in /usr/lib/postgresql/<version>/bin). It counts as
up only when a real connection answers: an open port is not enough, since a server still
"starting up" (or dying) listens but refuses every connection. One that does not come up is
started once more on a fresh directory and port; if that fails too, every test asking for it
fails at once with the reason and the server's log tail, instead of each waiting a minute on a
dead port. A server that dies later is noticed by the first test that cannot connect (within
seconds), and the ones after it fail at once the same way. Without pg_ctl the
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
import signal
import socket
import sqlite3
import stat
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql.executors import PostgreSQLExecutor
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

START_SECONDS = 120  # a start on a loaded machine may be slow; a dead server is noticed at once
CONNECT_SECONDS = 5  # each connection try: a server that accepts nothing does not hang a test
JANITOR_SECONDS = 15  # a test's database: retried this long (a crashed server's recovery), no more
LOG_TAIL_LINES = 30


class ServerDown(Exception):
    """This worker's PostgreSQL server is not usable; the message says why."""


class PgServer:
    """This worker's throwaway PostgreSQL server, ready when a real connection answers."""

    user = "postgres"
    host = "127.0.0.1"
    password = None

    def __init__(self, base: Path, executable: str, *, postgres_options: str = ""):
        self.base = base
        self.executable = executable
        self.postgres_options = postgres_options
        self.port = 0
        self.executor: PostgreSQLExecutor | None = None
        self.logfile: Path | None = None
        self.problem: str | None = None  # set once the server is known to be unusable

    def start(self) -> PgServer:
        """Start and wait for readiness; on failure start once more from scratch, then give up
        for the session naming both failures (ServerDown)."""
        failures = []
        for attempt in (1, 2):
            try:
                self._start(attempt)
                return self
            except Exception as exc:  # initdb, pg_ctl or readiness: all mean "not up"
                failures.append(f"attempt {attempt} (port {self.port}): {exc}\n{self.log_tail()}")
                self.stop()
        self.problem = "PostgreSQL did not come up in two attempts:\n" + "\n".join(failures)
        raise ServerDown(self.problem)

    def _start(self, attempt: int) -> None:
        directory = self.base / f"attempt-{attempt}"
        directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.logfile = directory / "postgresql.log"
        self.executor = PostgreSQLExecutor(
            executable=self.executable,
            host=self.host,
            port=self.port,
            datadir=str(directory / "data"),
            unixsocketdir=tempfile.gettempdir(),
            logfile=str(self.logfile),
            startparams=f"-w -t {START_SECONDS}",
            postgres_options=self.postgres_options,
            dbname="tests",
            user=self.user,
            timeout=START_SECONDS,
        )
        self.executor.start()  # returns once pg_ctl is waiting and the port is open: not enough
        self.wait_ready(time.monotonic() + START_SECONDS)

    def wait_ready(self, deadline: float) -> None:
        """Until a real connection answers (pg_isready's test), the server exits, or the deadline."""
        while True:
            try:
                self.connect().close()
                return
            except psycopg.OperationalError as exc:
                last = str(exc).strip()
            if self.executor is None or not self.executor.running():
                raise ServerDown(f"the server exited before it took a connection ({last})")
            if time.monotonic() > deadline:
                raise ServerDown(f"no connection within {START_SECONDS} s ({last})")
            time.sleep(0.2)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, connect_timeout=CONNECT_SECONDS
        )

    def freeze(self) -> list[int]:
        """SIGSTOP the postmaster and every backend it forked (a pool's connections are
        backends: stopping only the postmaster would not stall them): a frozen server. Returns
        the pids, for ``thaw``."""
        assert self.executor is not None
        postmaster = int((Path(self.executor.datadir) / "postmaster.pid").read_text().split()[0])
        pids = [postmaster]
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                pids.append(int(status.parent.name))
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    def answers(self) -> bool:
        """Whether a fresh connection to the server succeeds now."""
        try:
            self.connect().close()
        except psycopg.OperationalError:
            return False
        return True

    def require(self) -> None:
        """Fail the calling test at once if the server is known to be down."""
        if self.problem:
            pytest.fail(self.problem, pytrace=False)

    def went_down(self, exc: BaseException) -> None:
        """A test could not reach the server: fail it, and every later test at once, saying why."""
        alive = self.executor is not None and self.executor.running()
        state = "still running but refusing connections" if alive else "no longer running"
        self.problem = f"PostgreSQL on port {self.port} stopped answering ({state}): {exc}\n{self.log_tail()}"
        pytest.fail(self.problem, pytrace=False)

    def log_tail(self) -> str:
        if self.logfile is None or not self.logfile.exists():
            return "(no server log)"
        lines = self.logfile.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        return f"last lines of {self.logfile}:\n" + "\n".join(f"  {line}" for line in lines)

    def stop(self) -> None:
        if self.executor is None:
            return
        try:
            self.executor.stop()
        except Exception:
            pass  # never started, or already gone: the directory goes with the session's tmp
        self.executor = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """This worker's server. If it cannot be started (twice), this fixture's error, naming why
    with the server's log, is what every PostgreSQL test of the session gets, at once.

    Its data directory is not under pytest's temporary root: every pytest process that starts
    (another xdist worker, a helper's run, a test's subprocess) takes group and other access
    away from /tmp/pytest-of-<user> again, and a server running as the postgres user (under
    root) then cannot reach its own files: it PANICs at its next checkpoint ("could not open
    file .../global/pg_control: Permission denied"), seconds or minutes into a run."""
    base = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
    server = PgServer(base, PG_CTL or "pg_ctl")
    try:
        server.start()
    except ServerDown as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


TEMPLATE_DB = "advisor_migrated"  # on each worker's own server: its newest schema, made once


def postgres_url(request: pytest.FixtureRequest, *, migrated: bool = False):
    """A context manager giving the URL of a fresh PostgreSQL database (skips if unavailable):
    empty, or (``migrated``) a copy of a database at the newest schema (see migrated_postgres)."""
    if PG_SKIP_REASON:
        if os.environ.get("ADVISOR_TEST_POSTGRES", "").lower() == "required":
            pytest.fail(f"ADVISOR_TEST_POSTGRES=required, but: {PG_SKIP_REASON}")
        pytest.skip(PG_SKIP_REASON)
    proc = request.getfixturevalue("pg_server")
    proc.require()
    template = request.getfixturevalue("migrated_postgres") if migrated else None
    dbname = f"advisor_{uuid.uuid4().hex[:12]}"
    return _janitor(proc, dbname, template), _url(proc, dbname)


class _Janitor(DatabaseJanitor):
    """Creates a database on this worker's server and drops it at exit; a server that does not
    answer fails the test within seconds, naming why, and marks the server down."""

    def __init__(self, server: PgServer, **kwargs):
        super().__init__(connection_timeout=JANITOR_SECONDS, **kwargs)
        self.server = server

    def init(self) -> None:
        self.server.require()
        try:
            super().init()
        except (psycopg.OperationalError, TimeoutError) as exc:
            if self.server.answers():
                raise  # this test's trouble (a template still in use, say), not the server's
            self.server.went_down(exc)

    def drop(self) -> None:
        if self.server.problem:
            return  # the server is gone, and its databases with it
        try:
            super().drop()
        except (psycopg.OperationalError, TimeoutError) as exc:
            if self.server.answers():
                raise
            self.server.went_down(exc)


def _janitor(proc: PgServer, dbname: str, template: str | None = None) -> DatabaseJanitor:
    """Creates ``dbname`` (from ``template``) on the server ``proc``, and drops it at exit."""
    return _Janitor(
        proc,
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
