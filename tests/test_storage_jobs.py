"""The answer queue's table on SQLite and PostgreSQL: enqueue with claims, one taker per job,
takeover of a dead process's jobs (verified), fencing of a stale owner, the busy limit."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.storage import NewJob, open_store
from bot.storage.jobs import STALE_AFTER
from bot.storage.rows import utcnow

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database


def job(key: str, **extra) -> NewJob:
    return NewJob(key=key, kind="answer", team="T1", channel="C1", payload={"text": key}, **extra)


def test_a_job_and_its_claims_are_one_transaction(database_url):
    store = open_store(database_url)
    assert store.enqueue_job(job("a"), claims=("event:E1", "message:T1:C1:1")).status == "queued"
    again = store.enqueue_job(job("a"), claims=("event:E2", "message:T1:C1:1"))
    assert (again.status, again.taken) == ("duplicate", "message:T1:C1:1")
    retry = store.enqueue_job(job("b"), claims=("event:E1",))
    assert (retry.status, retry.taken) == ("duplicate", "event:E1")
    assert [j.key for j in store.jobs()] == ["a"]
    assert store.jobs()[0].payload == {"text": "a"} and store.jobs()[0].status == "pending"
    store.close()


def test_a_full_queue_says_busy_and_keeps_the_claim(database_url):
    store = open_store(database_url)
    assert store.enqueue_job(job("a"), limit=1).status == "queued"
    assert store.enqueue_job(job("b"), claims=("event:E9",), limit=1).status == "busy"
    assert store.enqueue_job(job("b"), claims=("event:E9",), limit=1).status == "duplicate"
    assert [j.key for j in store.jobs()] == ["a"]
    store.close()


def test_each_job_is_taken_by_one_of_many_workers(database_url):
    store = open_store(database_url, pool_size=10)
    for n in range(30):
        store.enqueue_job(job(f"j{n}"))
    taken: list[str] = []
    barrier = threading.Barrier(8)

    def work(owner: str) -> None:
        barrier.wait()
        while (record := store.take_job(owner)) is not None:
            taken.append(record.key)
            assert store.finish_job(record.id, owner, status="done", message_ts="1.0")

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(f"j{n}" for n in range(30))
    assert store.job_counts() == {"done": 30}
    store.close()


def test_a_dead_owners_job_is_taken_over_verified_and_the_dead_owner_is_fenced(database_url):
    store = open_store(database_url)
    store.enqueue_job(job("a"))
    first = store.take_job("dead")
    assert (first.status, first.attempts, first.verify) == ("posting", 1, False)
    assert store.take_job("alive") is None  # held, heartbeat fresh
    # The lease runs out on the database's clock: a threshold already passed stands in for waiting.
    assert store.take_job("alive", stale_after=STALE_AFTER) is None
    second = store.take_job("alive", stale_after=timedelta(seconds=-1))
    assert (second.key, second.attempts, second.verify) == ("a", 2, True)  # look before posting
    assert not store.finish_job(first.id, "dead", status="done")  # the old owner cannot overwrite
    assert store.finish_job(second.id, "alive", status="done", message_ts="2.0")
    assert store.job("a").message_ts == "2.0"
    store.close()


def test_rescheduled_jobs_wait_and_shutdown_hands_over_at_once(database_url):
    store = open_store(database_url)
    store.enqueue_job(job("a"))
    store.enqueue_job(job("b"))
    a = store.take_job("p1")
    assert store.reschedule_job(a.id, "p1", run_after=utcnow() + timedelta(seconds=20), error="ratelimited")
    b = store.take_job("p1")
    assert b.key == "b" and store.take_job("p2") is None  # a waits; b is held
    store.beat("p1", utcnow())
    assert store.release_jobs("p1") == 1  # p1 shuts down with b in flight
    handed = store.take_job("p2")
    assert (handed.key, handed.verify) == ("b", True)
    assert store.finish_job(handed.id, "p2", status="done")
    assert store.take_job("p2", now=utcnow() + timedelta(seconds=21)).key == "a"
    store.close()


def test_a_read_only_sqlite_file_fails_the_write_check(tmp_path):
    """(PostgreSQL turned read-only: tests/test_slack_queue.py, under a running bot.)"""
    import pytest
    from sqlalchemy.exc import SQLAlchemyError

    path = tmp_path / "advisor.sqlite3"
    store = open_store(f"sqlite:///{path}")
    store.check_writable()
    store.close()
    read_only = open_store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(SQLAlchemyError):
        read_only.check_writable()
    read_only.close()
