"""Slack outages and database stalls under the answer queue (issue 28, items 1 and 2).

In-process: the real queue, workers, store (SQLite file or PostgreSQL) and Web API client,
against the HTTP fake Slack; retry and lease times shortened through the workers' settings so
that an outage longer than the old one-minute give-up takes seconds.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.slack.client import SingleWorkspace, make_client
from bot.slack.jobs import JobWorkers
from bot.slack.messaging import post
from bot.slack.queue import BUSY_TEXT, IN_CONVERSATION, Handler, JobQueue, Request
from bot.slack.retry import FIRST_BACKOFF, RetryPolicy
from bot.storage import open_store
from tests.fake_slack import FakeSlack, wait_until

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database

OLD_MAX_ATTEMPTS = 6  # the old give-up: six attempts, about a minute


def answer_handler(told: list[str] | None = None, work_seconds: float = 0.0, store=None) -> Handler:
    def run(work):
        if work_seconds:
            time.sleep(work_seconds)  # the answer's computation, between taking the job and posting
        if store is not None:
            store.job_counts()  # and its database work (the real one logs the question): stalls too
        text = f"answer to {work.job.key}"
        message = {"text": text, "blocks": None}
        return post(work.client, work.job.channel, message, thread_ts=work.job.thread_ts).get("ts")

    def tell(work):
        if told is not None:
            told.append(work.job.key)

    return Handler(run=run, tell_failure=tell)


def mention_request(n: int) -> Request:
    channel = f"COUT{n}"
    return Request(
        kind="answer",
        team="T1",
        id=f"{channel}:1.0",
        channel=channel,
        thread_ts="1.0",
        payload={},
        busy=IN_CONVERSATION,
    )


def workers_for(store, fake_url: str, *, limit: int = 500, told=None, work_seconds=0.0, **options):
    queue = JobQueue(store, limit=limit)
    queue.register("answer", answer_handler(told, work_seconds, store if work_seconds else None))
    client = make_client(Settings(slack_api_url=fake_url, slack_bot_token="xoxb-outage-test"))
    workers = JobWorkers(queue, SingleWorkspace(client), threads=4, **options)
    return queue, workers


def attempts_within(seconds: float) -> int:
    """The most attempts the default policy can make in ``seconds`` of outage (each wait the
    shortest its jitter allows): a job tried more often has waited out at least that long."""
    policy, waited, attempts = RetryPolicy(), 0.0, 0
    while waited <= seconds:
        waited += min(policy.cap, FIRST_BACKOFF * 2.0**attempts) * 0.5
        attempts += 1
    return attempts


@pytest.mark.parametrize("outage", [90, 600], ids=["90 s", "10 minutes"])
def test_slack_refusing_connections_is_waited_out_busy_notices_included(tmp_path, outage):
    """Slack refuses connections for the equivalent of 90 s and of 10 minutes at the default
    backoff (every job tried more often than the default policy could in that time; the test's
    backoff is capped at 0.05 s so that this takes seconds), both longer than the old give-up:
    nothing fails, /healthz reports the backlog and stays healthy, and once Slack is back every
    acknowledged question is answered once and every busy notice sent."""
    tries = max(attempts_within(outage), OLD_MAX_ATTEMPTS + 1)
    fake = FakeSlack().start()
    port = fake.server.server_address[1]
    url = fake.url
    fake.stop()  # nothing listens on the port: every call is refused
    store = open_store(f"sqlite:///{tmp_path / 'outage.sqlite3'}")
    queue, workers = workers_for(store, url, limit=5, retry=RetryPolicy(budget=600, cap=0.05))
    client = make_client(Settings(slack_api_url=url, slack_bot_token="xoxb-outage-test"))
    workers.start()
    back = None
    try:
        outcomes = [queue.enqueue(mention_request(n), client=client).status for n in range(8)]
        assert outcomes == ["queued"] * 5 + ["busy"] * 3
        assert len(store.jobs()) == 8  # five answers and three busy notices
        wait_until(
            lambda: all(j.attempts >= tries for j in store.jobs()),
            timeout=120,
            what=lambda: f"every job tried {tries} times: {[j.attempts for j in store.jobs()]}",
        )
        assert store.job_counts().get("failed", 0) == 0
        healthy, details = workers.health()
        assert healthy, details
        assert details["waiting_on_slack"]["jobs"] == 8
        assert details["waiting_on_slack"]["oldest_seconds"] >= 0

        back = FakeSlack(port).start()  # Slack is back on the same address
        wait_until(
            lambda: store.job_counts() == {"done": 8},
            timeout=120,
            what=lambda: f"8 done jobs, got {store.job_counts()}",
        )
        for n in range(8):
            texts = [m["text"] for m in back.messages_in(f"COUT{n}")]
            expected = f"answer to answer:T1:COUT{n}:1.0" if n < 5 else BUSY_TEXT
            assert texts == [expected], (n, texts)
        assert workers.health()[1]["waiting_on_slack"]["jobs"] == 0
    finally:
        workers.drain(5)
        store.close()
        if back is not None:
            back.stop()


def test_a_request_error_fails_at_once_and_the_asker_is_told_only_when_telling_can_work(tmp_path):
    fake = FakeSlack().start()
    store = open_store(f"sqlite:///{tmp_path / 'errors.sqlite3'}")
    told: list[str] = []
    queue, workers = workers_for(store, fake.url, told=told, retry=RetryPolicy(budget=600, cap=0.05))
    try:
        fake.fail("chat.postMessage", "invalid_blocks", channel="COUT1")
        fake.fail("chat.postMessage", "channel_not_found", channel="COUT2")
        queue.submit(mention_request(1).job())
        queue.submit(mention_request(2).job())
        workers.run_due()
        assert store.job_counts() == {"failed": 2}
        # invalid_blocks: Slack answered, a plain message can still be posted; channel_not_found:
        # telling would fail the same way.
        assert told == ["answer:T1:COUT1:1.0"]
    finally:
        fake.stop()
        store.close()


def test_an_outage_longer_than_the_budget_fails_the_job_without_telling(tmp_path):
    fake = FakeSlack().start()
    url = fake.url
    fake.stop()
    store = open_store(f"sqlite:///{tmp_path / 'budget.sqlite3'}")
    told: list[str] = []
    queue, workers = workers_for(store, url, told=told, retry=RetryPolicy(budget=8.0, cap=0.05))
    workers.start()
    try:
        queue.submit(mention_request(1).job())
        wait_until(lambda: store.job_counts() == {"failed": 1}, timeout=60, what=lambda: store.job_counts())
        job = store.jobs()[0]
        assert job.attempts > 1 and "cannot reach Slack" in job.last_error
        assert told == []  # Slack was unreachable: telling could not work either
    finally:
        workers.drain(5)
        store.close()


# --- database stalls: leases on the database's clock, held over each post ---------------------


def _stall(database_url: str, request, seconds: float) -> None:
    """Stall the database for ``seconds``: SQLite's write lock held, PostgreSQL stopped."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        lock = sqlite3.connect(path, timeout=30, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)  # the stall itself (what is under test is after it)
        lock.execute("COMMIT")
        lock.close()
        return
    server = request.getfixturevalue("pg_server")
    pids = server.freeze()
    try:
        time.sleep(seconds)
    finally:
        server.thaw(pids)


def test_a_database_stall_longer_than_the_lease_posts_nothing_twice(database_url, request):
    """Two processes' workers (two owners, two stores) answer 30 questions while the database
    stalls twice, each time for several times the stale threshold: every question answered
    once, and the jobs taken over during the stalls were read back, not posted again."""
    fake = FakeSlack().start()
    fake.delay("chat.postMessage", 0.3, times=10**9)  # posts in flight when the stall begins
    options = dict(
        retry=RetryPolicy(budget=600, cap=0.2),
        stale_after=timedelta(seconds=1.0),
        heartbeat=0.2,
        post_hold=timedelta(seconds=2.0),
    )
    stores = [open_store(database_url), open_store(database_url)]
    pairs = [workers_for(store, fake.url, work_seconds=0.5, **options) for store in stores]
    channels = [f"COUT{n}" for n in range(30)]
    try:
        for n in range(30):
            pairs[n % 2][0].submit(mention_request(n).job())
        for _, workers in pairs:
            workers.start()
        wait_until(lambda: len(fake.posts()) >= 3, timeout=60, what="posts in flight")
        _stall(database_url, request, 4.0)
        wait_until(lambda: len(fake.posts()) >= 15, timeout=120, what="half the posts")
        _stall(database_url, request, 4.0)
        wait_until(
            lambda: stores[0].job_counts() == {"done": 30},
            timeout=180,
            what=lambda: f"30 done jobs, got {stores[0].job_counts()}",
        )
        counts = {c: len(fake.messages_in(c)) for c in channels}
        assert counts == dict.fromkeys(channels, 1), counts  # 0 duplicates
        retaken = sum(1 for job in stores[0].jobs() if job.verify)
        print(  # the figures of docs/reliability.md (shown with -s)
            f"stall figures: {len(fake.posts())} posts for 30 questions, {retaken} jobs taken over "
            f"verified, {len(fake.calls_to('conversations.replies'))} read-backs"
        )
    finally:
        for _, workers in pairs:
            workers.drain(5)
        for store in stores:
            store.close()
        fake.stop()


def test_a_process_never_retakes_its_own_job_and_a_hold_outlasts_the_heartbeat(database_url):
    from bot.storage.jobs import NewJob

    store = open_store(database_url)
    store.enqueue_job(NewJob(key="a", kind="answer", team="T1", channel="C1", payload={}))
    first = store.take_job("p1")
    assert first.locked_at is not None
    # Long past any stale threshold: still never retaken by its own process.
    assert store.take_job("p1", stale_after=timedelta(seconds=-3600)) is None
    # Held over a post for an hour: the heartbeat does not shorten it, nobody takes it.
    assert store.hold_job(first.id, "p1", for_=timedelta(hours=1))
    store.beat("p1", first.created_at)
    assert store.take_job("p2", stale_after=timedelta(0)) is None
    assert store.release_jobs("p1") == 0  # in flight: kept held, not handed over at once
    # Another process that took over makes the first one's hold fail: it must not post.
    store.hold_job(first.id, "p1", for_=timedelta(seconds=-7200))
    second = store.take_job("p2", stale_after=timedelta(0))
    assert (second.key, second.verify) == ("a", True)
    assert not store.hold_job(first.id, "p1", for_=timedelta(seconds=60))
    assert store.hold_job(second.id, "p2", for_=timedelta(seconds=60))
    store.close()


def test_a_holder_that_lost_its_job_mid_answer_does_not_post_it(tmp_path, caplog):
    """Deterministic form of the stall: process A takes a job and is still computing the answer
    when process B takes it over (A's lease looks run out: B's threshold is set in the past)
    and, reading back nothing, posts it. A then finishes computing: its hold before the post
    fails, and it posts nothing. (Without the hold, A posted a second answer.)"""
    from bot.storage.jobs import NewJob

    fake = FakeSlack().start()
    store_a = open_store(f"sqlite:///{tmp_path / 'lost.sqlite3'}")
    store_b = open_store(f"sqlite:///{tmp_path / 'lost.sqlite3'}")
    computing, finish = threading.Event(), threading.Event()
    client = make_client(Settings(slack_api_url=fake.url, slack_bot_token="xoxb-outage-test"))

    def slow_run(work):
        computing.set()
        finish.wait(30)
        return answer_handler().run(work)

    queue_a = JobQueue(store_a)
    queue_a.register("answer", Handler(run=slow_run))
    a = JobWorkers(queue_a, SingleWorkspace(client), threads=1)
    _, b = workers_for(store_b, fake.url, stale_after=timedelta(seconds=-3600))
    try:
        queue_a.submit(
            NewJob(
                key="answer:T1:CLOST:1.0",
                kind="answer",
                team="T1",
                channel="CLOST",
                thread_ts="1.0",
                payload={},
            )
        )
        a.start()
        assert computing.wait(30)
        assert b.run_due() == 1  # taken over, read back (nothing there yet), posted
        assert len(fake.messages_in("CLOST")) == 1
        with caplog.at_level(logging.WARNING):
            finish.set()
            wait_until(
                lambda: any("taken over by another process" in r.getMessage() for r in caplog.records),
                timeout=30,
                what="A to find its job taken over",
            )
        assert len(fake.messages_in("CLOST")) == 1
        assert store_a.job("answer:T1:CLOST:1.0").status == "done"
        assert fake.calls_to("conversations.replies")  # B read back before posting
    finally:
        finish.set()
        a.drain(5)
        store_a.close()
        store_b.close()
        fake.stop()


def test_the_served_bot_answers_every_acknowledged_question_once_after_slack_returns(tmp_path, bundled_index):
    """The whole bot (``serve --http``), its Slack refusing connections after start-up while 10
    mentions are acknowledged, for longer than the old give-up (every job tried more than six
    times, with a 0.2 s retry cap): /healthz stays 200 reporting the backlog; Slack returns on
    the same port and each question is answered exactly once."""
    import json
    import shutil
    from urllib.request import urlopen

    from tests.slack_harness import BotServer, bot_env, event_body, mention

    data = tmp_path / "data"
    shutil.copytree(bundled_index, data / "index")
    fake = FakeSlack().start()
    port = fake.server.server_address[1]
    env = bot_env(fake.url, data, ADVISOR_SLACK_RETRY_CAP_SECONDS="0.2")
    server = BotServer(env).start()
    store = open_store(f"sqlite:///{data / 'advisor.sqlite3'}")
    back = None
    channels = [f"CSRV{n}" for n in range(10)]
    try:
        fake.stop()
        sender = server.sender()
        question = "who should set next year's sales quota?"
        replies = [sender.event(event_body(mention(question, channel=c))).status for c in channels]
        assert replies == [200] * 10
        wait_until(
            lambda: len(store.jobs()) == 10 and all(j.attempts > OLD_MAX_ATTEMPTS for j in store.jobs()),
            timeout=180,
            what=lambda: f"every job past {OLD_MAX_ATTEMPTS} attempts: {[j.attempts for j in store.jobs()]}",
        )
        with urlopen(server.url + "/healthz", timeout=30) as reply:
            health = json.loads(reply.read())
            assert reply.status == 200
        assert health["waiting_on_slack"]["jobs"] == 10, health
        assert store.job_counts().get("failed", 0) == 0

        back = FakeSlack(port).start()
        wait_until(
            lambda: store.job_counts() == {"done": 10},
            timeout=180,
            what=lambda: f"10 done jobs, got {store.job_counts()}",
        )
        answers = {c: len(back.messages_in(c)) for c in channels}
        assert answers == dict.fromkeys(channels, 1), answers
    finally:
        server.stop()
        store.close()
        if back is not None:
            back.stop()


def test_the_database_out_of_reach_mid_attempt_is_retried_and_looked_for_first():
    """A stall or restart of the database during an attempt (the handler logs the question; the
    lease is held before a post) is waited out like a Slack outage, never failed or told to the
    asker: the attempt may have posted first, so the next one looks before posting."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from bot.slack.retry import RetryPolicy, classify

    stalled = OperationalError("SELECT 1", {}, ConnectionError("connection timeout expired"))
    for exc in (stalled, PoolTimeout("QueuePool limit reached")):
        retry = classify(exc, attempts=3, policy=RetryPolicy(budget=600, cap=2.0))
        assert retry is not None and retry.verify and 1.0 <= retry.after <= 2.0
        assert retry.why.startswith("database unavailable")
    assert classify(ValueError("a bug"), attempts=1) is None  # a defect still fails the job


def test_a_job_whose_outcome_could_not_be_recorded_is_handed_back_and_answered_once(tmp_path):
    """The database fails exactly when a posted answer is recorded as done: the job goes back to
    the queue (looked for first) once the database answers, is found posted, and finishes
    without a second post. Before, it stayed ``posting`` under this process, its lease renewed
    by the heartbeat and never taken over: unanswered until a restart."""
    from sqlalchemy.exc import OperationalError

    fake = FakeSlack().start()
    store = open_store(f"sqlite:///{tmp_path / 'record.sqlite3'}")
    finish = store.finish_job
    failures = []

    def finish_failing_once(job_id, owner, **values):
        if values.get("status") == "done" and not failures:
            failures.append(job_id)
            raise OperationalError("UPDATE answer_jobs", {}, ConnectionError("connection timeout expired"))
        return finish(job_id, owner, **values)

    store.finish_job = finish_failing_once
    queue, workers = workers_for(store, fake.url, retry=RetryPolicy(budget=600, cap=0.05))
    try:
        queue.submit(mention_request(0).job())
        workers.start()
        wait_until(lambda: store.job_counts() == {"done": 1}, timeout=60, what=lambda: store.job_counts())
        assert failures, "the database failure was never injected"
        assert len(fake.posts()) == 1  # answered once: the second attempt found the first post
    finally:
        workers.stop_taking()
        workers.drain(5)
        fake.stop()


def test_the_served_bot_through_a_database_stall_answers_each_question_once(
    database_url, request, tmp_path, bundled_index
):
    """The whole bot: two ``serve --http`` processes on one database (tests.stall_bot: lease
    times shortened to a 1 s stale threshold, a 0.2 s heartbeat, a 2 s hold), 12 signed
    mentions, the database stalled 4 s while answers are being posted (SQLite's write lock
    held by another connection; PostgreSQL stopped with SIGSTOP), a third of the mentions
    acknowledged during it: each question answered once. scripts/stall_run.py runs the same
    with the default lease times through 20 s stalls (docs/reliability.md)."""
    import shutil

    from tests.stall_harness import postgres_stall, run_stall, sqlite_stall

    data = tmp_path / "data"
    shutil.copytree(bundled_index, data / "index")
    if database_url.startswith("sqlite"):
        stall = sqlite_stall(database_url)
    else:
        stall = postgres_stall(request.getfixturevalue("pg_server"))
    figures = run_stall(
        database_url=database_url,
        stall=stall,
        stall_seconds=4.0,
        data_dir=data,
        questions=12,
        bots=2,
        module="tests.stall_bot",
        env={
            "ADVISOR_TEST_STALE_SECONDS": "1",
            "ADVISOR_TEST_HEARTBEAT_SECONDS": "0.2",
            "ADVISOR_TEST_HOLD_SECONDS": "2",
            "ADVISOR_SLACK_RETRY_CAP_SECONDS": "0.2",
        },
        finish_seconds=300,
    )
    print("served-bot stall figures:", figures)  # shown with -s
    assert figures["acks"] == {"200": 12}, figures
    assert figures["jobs"] == {"done": 12}, figures
    assert figures["duplicates"] == 0 and not figures["unanswered"], figures
