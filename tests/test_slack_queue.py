"""The durable answer queue over the real server: crashes, shutdowns, bursts, slow channels and
slow clients. Each test that needs Slack slow (posts taking 1 s) runs its own fake Slack and
bot; the crash tests run on SQLite and on PostgreSQL (``database_url``).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from bot.storage import open_store
from bot.storage.rows import utcnow
from tests.fake_slack import FakeSlack, wait_until
from tests.slack_harness import (
    BotServer,
    bot_env,
    command_form,
    event_body,
    mention,
    unique_id,
)

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database

QUESTIONS = 20
POST_SECONDS = 1.0
QUOTA = "who should set next year's sales quota?"


@pytest.fixture
def slow_slack():
    """A fake Slack whose every post takes POST_SECONDS (the message is Slack's on arrival)."""
    fake = FakeSlack().start()
    fake.delay("chat.postMessage", POST_SECONDS, times=10**9)
    yield fake
    fake.stop()


@pytest.fixture
def data_dir(tmp_path, bundled_index):
    shutil.copytree(bundled_index, tmp_path / "data" / "index")
    return tmp_path / "data"


def ask_all(server: BotServer, channels: list[str]) -> None:
    """One mention in each channel, all acknowledged with 200."""
    sender = server.sender()
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda c: sender.event(event_body(mention(QUOTA, channel=c))), channels))
    assert [r.status for r in replies] == [200] * len(channels)


def answered_once_each(fake: FakeSlack, channels: list[str], timeout: float) -> None:
    wait_until(
        lambda: all(fake.messages_in(c) for c in channels),
        timeout=timeout,
        what=lambda: (
            f"answers in {sum(1 for c in channels if fake.messages_in(c))} of {len(channels)} channels"
        ),
    )
    counts = {c: len(fake.messages_in(c)) for c in channels}
    assert counts == dict.fromkeys(channels, 1), counts


def all_done(store, count: int, timeout: float = 60) -> None:
    wait_until(
        lambda: store.job_counts().get("done", 0) == count,
        timeout=timeout,
        what=lambda: f"{count} done jobs, got {store.job_counts()}",
    )


def test_sigkill_mid_post_then_a_new_process_answers_each_question_once(slow_slack, data_dir, database_url):
    env = bot_env(slow_slack.url, data_dir, DATABASE_URL=database_url)
    store = open_store(database_url)
    channels = [unique_id("CK") for _ in range(QUESTIONS)]
    first = BotServer(env).start()
    try:
        ask_all(first, channels)
        # Acknowledged means recorded: every question is a job before its 200.
        assert sum(store.job_counts().values()) == QUESTIONS
        # Kill the whole bot while posts are in flight (Slack has them, the bot has no answer yet).
        wait_until(lambda: len(slow_slack.posts()) >= 3, timeout=30, what="posts in flight")
        first.kill_group()
    finally:
        first.stop()
    in_slack = sum(1 for c in channels if slow_slack.messages_in(c))
    assert 3 <= in_slack < QUESTIONS
    assert store.job_counts().get("posting", 0) >= 1  # left mid-post by the dead process

    second = BotServer(env).start()
    try:
        answered_once_each(slow_slack, channels, timeout=90)
        all_done(store, QUESTIONS)
        # The jobs that were posting were read back, not posted again.
        assert slow_slack.calls_to("conversations.replies")
        assert "was already posted" in second.log
    finally:
        second.stop()
        store.close()
    posted_threads = {(p.body["channel"], p.body.get("thread_ts")) for p in slow_slack.posts()}
    assert len(posted_threads) == QUESTIONS


def test_sigterm_with_questions_in_flight_loses_none(slow_slack, data_dir, database_url):
    env = bot_env(slow_slack.url, data_dir, DATABASE_URL=database_url)
    store = open_store(database_url)
    channels = [unique_id("CT") for _ in range(QUESTIONS)]
    first = BotServer(env).start()
    try:
        ask_all(first, channels)
        wait_until(lambda: slow_slack.posts(), timeout=30, what="a post in flight")
        first.process.terminate()
        assert first.wait_exit(40) == 0
    finally:
        first.stop()
    assert "answer queue stopped" in first.log
    left = QUESTIONS - sum(1 for c in channels if slow_slack.messages_in(c))
    assert left > 0  # the next process has work to do
    assert store.job_counts().get("pending", 0) == left  # queued, nothing in limbo

    second = BotServer(env).start()
    try:
        answered_once_each(slow_slack, channels, timeout=60)
        all_done(store, QUESTIONS)
    finally:
        second.stop()
        store.close()


# --- one slow-Slack bot for the burst, slow-client, rate-limit and junk tests ----------------------


@pytest.fixture(scope="module")
def slow_bot(tmp_path_factory, bundled_index):
    fake = FakeSlack().start()
    fake.delay("chat.postMessage", POST_SECONDS, times=10**9)
    data = tmp_path_factory.mktemp("slow-bot")
    shutil.copytree(bundled_index, data / "index")
    server = BotServer(bot_env(fake.url, data)).start()
    store = open_store(f"sqlite:///{data / 'advisor.sqlite3'}")
    yield server, fake, store
    server.stop()
    store.close()
    fake.stop()


def test_advisor_and_60_mentions_are_acked_while_no_answer_can_be_given(slow_bot):
    """Acknowledging never waits for answering: with every one of these answers held back by
    Slack (the workers stuck in those calls), all 63 requests are still acknowledged. (Slack
    wants its ack within 3 s; how soon is the machine's, what the ack waits for is the code's.)"""
    server, fake, _ = slow_bot
    sender = server.sender()
    channels = [unique_id("CB") for _ in range(60)]
    names = [unique_id("burst") for _ in range(3)]
    held = [fake.hold("chat.postMessage", channel=c) for c in channels]
    held += [fake.hold("response_url", path=f"/response_url/{name}") for name in names]
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            mentions = [pool.submit(sender.event, event_body(mention(QUOTA, channel=c))) for c in channels]
            commands = [
                pool.submit(
                    sender.command, command_form(QUOTA, fake.response_url(name), channel=unique_id("CC"))
                )
                for name in names
            ]
            command_replies = [c.result() for c in commands]
            mention_replies = [m.result() for m in mentions]
        assert [r.status for r in command_replies] == [200] * 3
        assert [r.status for r in mention_replies] == [200] * 60
    finally:
        for release in held:
            release.set()
    for name in names:  # and each command is answered, in its turn
        assert fake.reply_to(name, timeout=60)["blocks"][1]["block_id"] == "verdict"  # after the question


def test_slow_clients_do_not_starve_health_or_acks(slow_bot):
    server, fake, _ = slow_bot
    sender = server.sender()
    host, port = sender.host, sender.port
    stop = threading.Event()
    trickles = []
    for _ in range(24):
        conn = socket.create_connection((host, port))
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        trickles.append(conn)

    def trickle():
        while not stop.is_set():
            for conn in trickles:
                try:
                    conn.sendall(b"a")
                except OSError:
                    pass
            stop.wait(1.0)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        stop.wait(1.0)  # the slow requests are open and being fed
        # Answered while all 24 are still open (they are fed until the end of the test): a
        # server whose threads they had taken would answer only once they stopped, after the
        # request's time-out (no time limit on the answer itself: a busy machine is slow).
        health = sender.request("GET", "/healthz", timeout=60)
        assert health.status == 200
        channel = unique_id("CS")
        acked = sender.event(event_body(mention(QUOTA, channel=channel)), timeout=60)
        assert acked.status == 200
        fake.wait_for_call("chat.postMessage", timeout=60, channel=channel)
    finally:
        stop.set()
        thread.join()
        for conn in trickles:
            conn.close()


def test_a_long_retry_after_reschedules_and_other_channels_are_answered(slow_bot):
    server, fake, store = slow_bot
    sender = server.sender()
    limited = [unique_id("CR") for _ in range(5)]
    before = utcnow()
    for channel in limited:
        fake.rate_limit("chat.postMessage", retry_after=30, times=1, channel=channel)
        assert sender.event(event_body(mention(QUOTA, channel=channel))).status == 200
    for channel in limited:
        fake.wait_for_call("chat.postMessage", timeout=30, channel=channel)
    healthy = unique_id("CH")
    assert sender.event(event_body(mention(QUOTA, channel=healthy))).status == 200
    fake.wait_for_call("chat.postMessage", timeout=60, channel=healthy)
    # Answered before any limited channel was tried again: not queued behind their Retry-After.
    assert [len(fake.matching("chat.postMessage", channel=c)) for c in limited] == [1] * 5
    # The limited ones wait in the database, not on a thread: back in the queue for the cap (20 s)
    # from when they were refused (between two readings of the clock around it).
    for channel in limited:
        job = wait_until(lambda c=channel: _job_in(store, c, "pending"), timeout=10, what="a rescheduled job")
        assert "Retry-After 30" in job.last_error
        assert before + timedelta(seconds=20) <= job.run_after + timedelta(seconds=1)
        assert job.run_after <= utcnow() + timedelta(seconds=20)


def _job_in(store, channel: str, status: str):
    return next((j for j in store.jobs(status=status) if j.channel == channel), None)


def test_junk_gets_4xx_short_logs_and_no_traceback(fake_slack, tmp_path, bundled_index):
    # A bot of its own, stopped before its log is read: then the log is all it wrote about the
    # junk (no waiting for a line to show up).
    shutil.copytree(bundled_index, tmp_path / "data" / "index")
    server = BotServer(bot_env(fake_slack.url, tmp_path / "data")).start()
    try:
        send_junk(server.sender())
    finally:
        server.stop()
    assert "invalid or missing signature" in server.log
    assert len(server.log) < 200_000
    assert "Traceback" not in server.log and "xxxxxxxxxx" not in server.log


def send_junk(sender) -> None:
    big = b"x" * 5_000_000
    for _ in range(2):
        assert _status_of_big_post(sender, big, {"Content-Type": "application/json"}) in (413, 401)
    ts = str(int(time.time()))
    signed = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign_bytes(sender.secret, big, ts)}
    assert _status_of_big_post(sender, big, {"Content-Type": "application/json", **signed}) == 413
    assert (
        sender.request("POST", "/slack/events", "{nope", {"Content-Type": "application/json"}).status == 401
    )
    assert sender.post("{nope", "application/json").status == 400
    assert sender.post("[1, 2]", "application/json").status == 400
    assert sender.post("payload=%7Bnope", "application/x-www-form-urlencoded").status == 400
    raw = b'{"a": "\xff"}'  # signed, but not UTF-8
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign_bytes(sender.secret, raw, ts),
    }
    assert _raw_post(sender, raw, headers) == 400


def sign_bytes(secret: str, body: bytes, timestamp: str) -> str:
    import hashlib
    import hmac

    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _status_of_big_post(sender, body: bytes, headers: dict) -> int:
    """The status the bot answers a big body with; it may answer (and close) before the body
    is all sent, as a server refusing a body should."""
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": len(body)}.items())
    with socket.create_connection((sender.host, sender.port), timeout=10) as conn:
        conn.sendall(f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        try:
            conn.sendall(body)
        except OSError:
            pass  # refused mid-body
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def _raw_post(sender, body: bytes, headers: dict) -> int:
    import http.client

    connection = http.client.HTTPConnection(sender.host, sender.port, timeout=10)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_health_says_503_once_the_database_stops_taking_writes(tmp_path, bundled_index, fake_slack, request):
    """A PostgreSQL database turned read-only under the running bot."""
    from tests.pg import postgres_url

    janitor, url = postgres_url(request)
    with janitor:
        data = tmp_path / "data"
        shutil.copytree(bundled_index, data / "index")
        server = BotServer(bot_env(fake_slack.url, data, DATABASE_URL=url)).start()
        try:
            sender = server.sender()
            assert sender.request("GET", "/healthz").status == 200
            dbname = url.rsplit("/", 1)[1]
            admin = open_store(url.rsplit("/", 1)[0] + "/postgres", upgrade=False)
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"ALTER DATABASE {dbname} SET default_transaction_read_only = on")
                conn.exec_driver_sql(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
                )
            reply = wait_until(
                lambda: (r := sender.request("GET", "/healthz")).status == 503 and r,
                timeout=20,
                what="/healthz to turn 503",
            )
            assert "not writable" in json.loads(reply.body)["problems"][0]
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"ALTER DATABASE {dbname} SET default_transaction_read_only = off")
                conn.exec_driver_sql(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
                )
            admin.close()
            wait_until(lambda: sender.request("GET", "/healthz").status == 200, timeout=20, what="recovery")
        finally:
            server.stop()


def test_health_names_a_worker_stuck_on_one_job(tmp_path, monkeypatch):
    """In-process: a handler that never returns makes /healthz's check fail, naming it."""
    from bot.slack import jobs
    from bot.slack.client import SingleWorkspace
    from bot.slack.queue import Handler, JobQueue
    from bot.storage import NewJob

    store = open_store(f"sqlite:///{tmp_path / 'stuck.sqlite3'}")
    queue = JobQueue(store)
    release = threading.Event()
    started = threading.Event()

    def hang(work):
        started.set()
        release.wait(30)

    queue.register("hang", Handler(run=hang, verifiable=False))
    workers = jobs.JobWorkers(queue, SingleWorkspace(None), threads=2)
    workers.start()
    try:
        assert workers.health()[0] is True
        queue.submit(NewJob(key="hang:1", kind="hang", team="T1", channel="C1", payload={}))
        assert started.wait(10)
        monkeypatch.setattr(jobs, "STUCK_AFTER", 0.2)
        healthy, details = wait_until(lambda: (h := workers.health()) and not h[0] and h, what="stuck")
        assert "stuck on a job" in details["problems"][0]
    finally:
        release.set()
        workers.drain(5)
        store.close()
