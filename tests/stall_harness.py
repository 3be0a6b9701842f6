"""A database stall under the whole served bot: ``serve --http`` processes sharing one database,
the fake Slack, signed mentions, the database stalled while answers are being posted.

Used by the suite (tests/test_slack_outages.py: shortened lease times, a short stall) and by
scripts/stall_run.py (default lease times, the issue's 20 s stalls). Each question is asked in
a channel of its own, so the fake Slack's messages per channel count the answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.storage import open_store
from tests.fake_slack import FakeSlack, wait_until
from tests.slack_harness import BotServer, bot_env, event_body, mention

QUESTION = "who should set next year's sales quota?"


def log_bytes(servers: list[BotServer]) -> int:
    return sum(len(server.log.encode()) for server in servers)


def sqlite_stall(database_url: str) -> Callable[[float], None]:
    """A stall of a SQLite database: another connection holds its write lock."""
    import sqlite3

    def stall(seconds: float) -> None:
        lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)  # the stall itself
        lock.execute("COMMIT")
        lock.close()

    return stall


def postgres_stall(server) -> Callable[[float], None]:
    """A stall of a PostgreSQL server (tests.pg.PgServer): stopped with SIGSTOP, then resumed."""

    def stall(seconds: float) -> None:
        pids = server.freeze()
        try:
            time.sleep(seconds)  # the stall itself
        finally:
            server.thaw(pids)

    return stall


def run_stall(
    *,
    database_url: str,
    stall: Callable[[float], None],
    stall_seconds: float,
    data_dir: Path,
    questions: int = 30,
    bots: int = 2,
    module: str = "bot",
    env: dict | None = None,
    finish_seconds: float = 600,
    log: Path | None = None,
) -> dict:
    """Ask ``questions`` questions of ``bots`` served bots on ``database_url``, a third before
    the stall, a third during it (their acknowledgements wait for the database), a third after;
    the stall (``stall(seconds)``, blocking) begins once answers are being posted. Returns the
    figures: acknowledgements, answers per channel, duplicates, jobs taken over."""
    fake = FakeSlack().start()
    fake.delay("chat.postMessage", 0.3, times=10**9)  # posts in flight when the stall begins
    servers: list[BotServer] = []
    store = None
    figures: dict = {"questions": questions, "bots": bots, "stall_seconds": stall_seconds}
    # ``log``: where the bots' output is written, one after the other.
    try:
        environment = bot_env(fake.url, data_dir, DATABASE_URL=database_url, **(env or {}))
        servers = [BotServer(environment, module=module) for _ in range(bots)]
        with ThreadPoolExecutor(bots) as pool:  # the bots start side by side
            list(pool.map(lambda server: server.start(), servers))
        store = open_store(database_url)
        channels = [f"CSTALL{n}" for n in range(questions)]
        acks: list[int] = []

        def ask(n: int) -> None:
            sender = servers[n % bots].sender()
            try:
                reply = sender.event(event_body(mention(QUESTION, channel=channels[n])), timeout=120)
                acks.append(reply.status)
            except OSError:
                acks.append(0)

        thirds = [range(0, questions // 3), range(questions // 3, 2 * questions // 3)]
        thirds.append(range(2 * questions // 3, questions))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(ask, thirds[0]))
            wait_until(lambda: len(fake.posts()) >= 2, timeout=300, what="answers being posted")
            log_before = log_bytes(servers)
            stalling = threading.Thread(target=stall, args=(stall_seconds,))
            began = time.monotonic()
            stalling.start()
            during = [pool.submit(ask, n) for n in thirds[1]]
            stalling.join()
            figures["stall_measured_seconds"] = round(time.monotonic() - began, 1)
            figures["log_bytes_during_stall"] = log_bytes(servers) - log_before
            for future in during:
                future.result()
            list(pool.map(ask, thirds[2]))
        wait_until(
            lambda: store.job_counts().get("done", 0) + store.job_counts().get("failed", 0) >= questions,
            timeout=finish_seconds,
            what=lambda: f"{questions} finished jobs, got {store.job_counts()}",
        )
        figures["seconds_to_all_answered_after_stall"] = round(time.monotonic() - began - stall_seconds, 1)
        answers = {c: len(fake.messages_in(c)) for c in channels}
        figures.update(
            acks={str(status): acks.count(status) for status in sorted(set(acks))},
            jobs=store.job_counts(),
            answered=sum(1 for n in answers.values() if n),
            duplicates=sum(n - 1 for n in answers.values() if n > 1),
            unanswered=[c for c, n in answers.items() if not n],
            posts=len(fake.posts()),
            taken_over_and_read_back=sum(1 for job in store.jobs() if job.verify),
            read_backs=len(fake.calls_to("conversations.replies")),
        )
        return figures
    finally:
        if store is not None:
            store.close()
        for server in servers:
            server.stop()
        figures["tracebacks"] = sum(server.log.count("Traceback") for server in servers)
        figures["taken_over_warnings"] = sum(server.log.count("was taken over") for server in servers)
        if log is not None:
            log.write_text("".join(f"--- bot {n}\n{server.log}" for n, server in enumerate(servers)))
        fake.stop()
