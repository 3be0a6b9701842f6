"""Measure: a database stall under the whole served bot, with its default lease times.

For each backend, starts the fake Slack in this process, a throwaway database (a SQLite file,
or a PostgreSQL server of its own via tests/pg.py) and ``--bots`` ``python -m bot serve --http``
processes on it; asks ``--questions`` signed mentions, a third before, a third during and a
third after a ``--stall``-second stall (SQLite: another connection holds the write lock;
PostgreSQL: the server and its backends stopped with SIGSTOP), begun while answers are being
posted (each post takes 0.3 s at the fake). Prints, per backend, the acknowledgements, answers,
duplicates and jobs taken over (tests/stall_harness.py). Not a test: it takes minutes.

    .venv/bin/python scripts/stall_run.py [--backend sqlite|postgresql|both] [--stall 20]
        [--questions 30] [--bots 2] [--index data/index] [--log /tmp/stall]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.slack_harness import REPO  # noqa: E402
from tests.stall_harness import postgres_stall, run_stall, sqlite_stall  # noqa: E402


def data_dir(index: Path) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="advisor-stall-"))
    if index.is_dir():
        shutil.copytree(index, directory / "index")
    return directory


def run_sqlite(args) -> dict:
    directory = data_dir(args.index)
    url = f"sqlite:///{directory / 'advisor.sqlite3'}"
    try:
        return run_stall(
            database_url=url,
            stall=sqlite_stall(url),
            stall_seconds=args.stall,
            data_dir=directory,
            questions=args.questions,
            bots=args.bots,
            log=args.log and args.log.with_suffix(".sqlite.log"),
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_postgresql(args) -> dict:
    from tests.pg import PG_CTL, PgServer

    base = Path(tempfile.mkdtemp(prefix="advisor-stall-pg-"))
    server = PgServer(base, PG_CTL or "pg_ctl").start()
    directory = data_dir(args.index)
    try:
        with server.connect() as connection:
            connection.autocommit = True
            connection.execute("CREATE DATABASE advisor_stall")
        url = f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/advisor_stall"
        return run_stall(
            database_url=url,
            stall=postgres_stall(server),
            stall_seconds=args.stall,
            data_dir=directory,
            questions=args.questions,
            bots=args.bots,
            log=args.log and args.log.with_suffix(".postgresql.log"),
        )
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(directory, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--stall", type=float, default=20.0, help="seconds the database stalls")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--bots", type=int, default=2, help="serving processes sharing the database")
    parser.add_argument("--index", type=Path, default=REPO / "data" / "index", help="a built index to copy")
    parser.add_argument("--log", type=Path, help="write the bots' logs beside this path, one per backend")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = {}
    for backend in backends:
        results[backend] = run_sqlite(args) if backend == "sqlite" else run_postgresql(args)
        print(json.dumps({backend: results[backend]}, indent=2), flush=True)
    return 0 if all(r["duplicates"] == 0 and not r["unanswered"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
