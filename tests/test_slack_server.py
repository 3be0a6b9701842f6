"""Serving: Slack's signing example, start-up failures in one line, two processes sharing a DB."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.fake_slack import wait_until
from tests.helpers import invoke
from tests.slack_harness import (
    BOT_TOKEN,
    REPO,
    BotServer,
    bot_env,
    event_body,
    mention,
    message,
    message_ts,
    sign,
    unique_id,
)

# Slack's published example ("Verifying requests from Slack").
SLACK_EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_EXAMPLE_TIMESTAMP = "1531420618"
SLACK_EXAMPLE_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_signing_matches_slacks_published_example():
    assert sign(SLACK_EXAMPLE_SECRET, SLACK_EXAMPLE_BODY, SLACK_EXAMPLE_TIMESTAMP) == SLACK_EXAMPLE_SIGNATURE
    verifier = SignatureVerifier(SLACK_EXAMPLE_SECRET)
    assert (
        verifier.generate_signature(timestamp=SLACK_EXAMPLE_TIMESTAMP, body=SLACK_EXAMPLE_BODY)
        == SLACK_EXAMPLE_SIGNATURE
    )
    assert not verifier.is_valid(
        body=SLACK_EXAMPLE_BODY.replace("roadrunner", "coyote"),
        timestamp=SLACK_EXAMPLE_TIMESTAMP,
        signature=SLACK_EXAMPLE_SIGNATURE,
    )


# --- start-up failures ----------------------------------------------------------------------------


def run_serve(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert BOT_TOKEN not in result.stderr + result.stdout
    return errors[0]


@pytest.fixture
def serve_in_process(monkeypatch):
    """``advisor serve ARGS`` in this process with ``env``'s settings, for start-up checks that
    fail before anything is served (serving itself would be a test failure)."""

    def never(*_args, **_kwargs):
        raise AssertionError("start-up checks passed: the bot would have started serving")

    monkeypatch.setattr("bot.serve.AdvisorHTTP.run", never)
    monkeypatch.setattr("bot.serve._serve_socket", never)

    def run(env: dict, *args: str) -> str:
        result = invoke("serve", *args, env=env)
        assert result.exit_code == 1, (result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output and BOT_TOKEN not in result.output
        (line,) = [x for x in result.stderr.splitlines() if x.strip()]
        assert line.startswith("Error: ")
        return line

    return run


@pytest.mark.parametrize(
    ("unset", "args", "named"),
    [
        (("SLACK_SIGNING_SECRET",), ("--http",), "SLACK_SIGNING_SECRET"),
        (("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"), ("--http",), "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET"),
        (("SLACK_APP_TOKEN",), ("--socket",), "SLACK_APP_TOKEN"),
    ],
)
def test_missing_settings_stop_start_up_with_one_line(
    fake_slack, tmp_path, serve_in_process, unset, args, named
):
    env = bot_env(fake_slack.url, tmp_path)
    for name in unset:
        env.pop(name, None)
    line = serve_in_process(env, *args, "--port", "0")
    assert named in line and "missing" in line
    assert fake_slack.calls == []  # nothing reached Slack


@pytest.mark.parametrize(
    ("platform", "database_url", "warned"),
    [
        ({"PORT": "5000"}, None, "PORT"),
        ({"DYNO": "web.1", "PORT": "5000"}, None, "DYNO"),
        ({"PORT": "5000"}, "sqlite:///{tmp}/shared.sqlite3", None),  # DATABASE_URL chosen: no warning
        ({}, None, None),  # not on a platform
    ],
)
def test_sqlite_on_a_platform_warns_that_state_is_ephemeral(
    fake_slack, tmp_path, serve_in_process, caplog, platform, database_url, warned
):
    env = bot_env(fake_slack.url, tmp_path, **platform)
    if database_url:
        env["DATABASE_URL"] = database_url.format(tmp=tmp_path)
    env.pop("SLACK_SIGNING_SECRET")  # stop right after the start-up warnings
    serve_in_process(env, "--http", "--port", "0")
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.serve" and r.levelname == "WARNING"]
    if warned is None:
        assert warnings == []
        return
    (warning,) = warnings
    assert f"{warned} is set (a hosting platform?) but DATABASE_URL is not" in warning
    assert str(tmp_path / "advisor.sqlite3") in warning
    assert "will not survive a restart" in warning and "do not share it" in warning


def test_rejected_token_stops_start_up_with_one_line(fake_slack, tmp_path, serve_in_process):
    fake_slack.fail("auth.test", "invalid_auth")
    line = serve_in_process(bot_env(fake_slack.url, tmp_path), "--http", "--port", "0")
    assert "SLACK_BOT_TOKEN" in line and "invalid_auth" in line


def test_broken_knowledge_stops_start_up_with_one_line(fake_slack, tmp_path, serve_in_process):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "article.yaml").write_text("kind: article\nid: x\ntitle: [unclosed\n")
    env = bot_env(fake_slack.url, tmp_path, ADVISOR_KNOWLEDGE_DIR=str(knowledge))
    line = serve_in_process(env, "--http", "--port", "0")
    assert "article.yaml" in line


def test_an_unreachable_database_stops_start_up_with_one_line(fake_slack, tmp_path, serve_in_process):
    env = bot_env(fake_slack.url, tmp_path, DATABASE_URL="postgresql://advisor:pw@127.0.0.1:1/advisor")
    line = serve_in_process(env, "--http", "--port", "0")
    assert line.startswith("Error: cannot open the database (postgresql): ")
    assert fake_slack.calls == []


def test_a_model_that_fails_to_load_in_the_worker_stops_the_server_with_one_line(fake_slack, tmp_path):
    env = bot_env(
        fake_slack.url, tmp_path, ADVISOR_MODEL=str(tmp_path / "no-model"), ADVISOR_MODEL_SHA256="off"
    )
    result = run_serve(env, "--http", "--port", "0")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    (line,) = [x for x in output.splitlines() if x.startswith("advisor: cannot start:")]
    assert "no-model" in line
    assert fake_slack.calls_to("chat.postMessage") == []


# --- the serving process's database connections ----------------------------------------------------


def test_every_thread_that_uses_the_database_at_once_has_a_pooled_connection(tmp_path):
    from bot.config import Settings
    from bot.serve import open_serving_store
    from bot.slack.app import LISTENER_THREADS

    store = open_serving_store(Settings(data_dir=tmp_path))
    users = LISTENER_THREADS + 1  # every listener thread and the tip scheduler, all at once
    barrier = threading.Barrier(users + 1)
    seen: list[tuple[int, int]] = []

    def use():
        with store.engine.connect():
            barrier.wait(timeout=10)  # all connected
            barrier.wait(timeout=10)  # counted

    threads = [threading.Thread(target=use) for _ in range(users)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=10)
    seen.append((store.engine.pool.checkedout(), store.engine.pool.overflow()))
    barrier.wait(timeout=10)
    for thread in threads:
        thread.join()
    store.close()
    (checked_out, overflow) = seen[0]
    assert checked_out == users
    assert overflow <= 0, f"{overflow} connection(s) opened beyond the pool for one burst"


# --- two processes, one database ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_bots(bot, bot_environment, tmp_path_factory):
    """The session's bot and a second process started on the same database."""
    data = tmp_path_factory.mktemp("bot-b")
    shutil.copytree(bot_environment["ADVISOR_DATA_DIR"] + "/index", data / "index")
    second = BotServer(
        {**bot_environment, "ADVISOR_DATA_DIR": str(data), "ADVISOR_RUN_SCHEDULER": "false"}
    ).start()
    yield [bot, second]
    second.stop()
    assert BOT_TOKEN not in second.log


def deliver_all(deliveries):
    """Send (sender, body, retry) deliveries at the same moment; every one must get a 200."""
    replies = []
    barrier = threading.Barrier(len(deliveries))

    def send(sender, body, retry):
        barrier.wait()
        replies.append(sender.event(body, retry=retry).status)

    threads = [threading.Thread(target=send, args=d) for d in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == [200] * len(deliveries)


def posts_to(fake, channel):
    return [c for c in fake.posts() if c.body.get("channel") == channel]


def answered_once(store, channel) -> None:
    """Every delivery was acknowledged, and each claimed the event (or found it claimed) before
    its 200: so the jobs queued for ``channel`` are all there is. Wait until they are done: no
    delivery, in either process, can post after this."""
    jobs = [j for j in store.jobs() if j.channel == channel]
    assert len(jobs) == 1, f"one answer queued, got {len(jobs)}"
    wait_until(
        lambda: store.job(jobs[0].key).status == "done",
        timeout=30,
        what=lambda: f"the answer's job done, got {store.job(jobs[0].key).status}",
    )


def test_same_event_to_two_processes_four_times_each_gives_one_post(fake, two_bots, bot_store):
    channel = unique_id("C")
    body = event_body(mention("who should set next year's sales quota?", channel=channel))
    senders = [s.sender() for s in two_bots]
    deliver_all([(sender, body, retry) for sender in senders for retry in range(4)])
    answered_once(bot_store, channel)
    posts = posts_to(fake, channel)
    assert len(posts) == 1
    assert posts[0].body["thread_ts"] == body["event"]["ts"]


def test_mention_and_message_for_one_message_on_two_processes_give_one_post(fake, two_bots, bot_store):
    dm = unique_id("D")
    ts = message_ts()
    a, b = (s.sender() for s in two_bots)
    deliver_all(
        [
            (a, event_body(mention("who generates leads?", channel=dm, ts=ts)), 0),
            (b, event_body(message("<@UBOT> who generates leads?", channel=dm, channel_type="im", ts=ts)), 0),
        ]
    )
    answered_once(bot_store, dm)
    assert len(posts_to(fake, dm)) == 1


# --- Socket Mode ----------------------------------------------------------------------------------


def test_socket_mode_checks_the_app_token_loads_then_keeps_trying_to_connect(
    fake_slack, bundled_index, tmp_path
):
    """The token is checked before the model loads; a first connection that fails (nothing
    listens at the URL) is retried with a fresh URL, not fatal, and SIGTERM still stops the
    process cleanly. (Connections that work: tests/test_slack_socket_mode.py.)"""
    fake_slack.answers["apps.connections.open"] = lambda body: {"ok": True, "url": "ws://127.0.0.1:9/"}
    shutil.copytree(bundled_index, tmp_path / "index")
    env = bot_env(fake_slack.url, tmp_path, SLACK_APP_TOKEN="xapp-test-app-token")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--socket"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        check, first, retry = fake_slack.wait_for("apps.connections.open", 3, timeout=120)[:3]
        assert all(c.headers["Authorization"] == "Bearer xapp-test-app-token" for c in (check, first, retry))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0  # SIGTERM: a clean stop, even while still connecting
    assert "advisor ready: model and index loaded; connecting to Slack in Socket Mode" in output
    assert BOT_TOKEN not in output and "xapp-test-app-token" not in output


# --- start-up: a database that takes no writes, Slack's outages, a bad tips file -------------------


def test_a_read_only_database_stops_start_up_with_one_line(fake_slack, tmp_path, serve_in_process):
    from bot.storage import open_store

    path = tmp_path / "ro.sqlite3"
    open_store(f"sqlite:///{path}").close()  # schema current: opening it needs no write
    env = bot_env(fake_slack.url, tmp_path, DATABASE_URL=f"sqlite:///file:{path}?mode=ro&uri=true")
    line = serve_in_process(env, "--http", "--port", "0")
    assert line.startswith("Error: the database is not writable (sqlite): ")
    assert "readonly" in line
    assert fake_slack.calls == []


@pytest.mark.parametrize("outage", ["http_500", "fatal_error"])
def test_slacks_outage_at_start_up_is_retried_and_reported_as_an_outage(fake_slack, tmp_path, outage):
    from bot.config import Settings
    from bot.serve import StartupError, check_slack

    def fail(times: int) -> None:
        if outage == "http_500":
            fake_slack.http_error("auth.test", 500, times=times)
        else:
            fake_slack.fail("auth.test", "fatal_error", times=times)

    settings = Settings(slack_api_url=fake_slack.url, slack_bot_token=BOT_TOKEN, data_dir=tmp_path)
    fail(2)
    check_slack(settings, (0.01, 0.01))  # two failures, then Slack answers: started
    assert len(fake_slack.calls_to("auth.test")) == 3
    fail(3)
    with pytest.raises(StartupError) as raised:
        check_slack(settings, (0.01, 0.01))
    message = str(raised.value)
    assert "outage" in message and "not rejected" in message and "\n" not in message
    assert len(fake_slack.calls_to("auth.test")) == 6


def test_a_tip_that_misquotes_the_article_stops_start_up_with_one_line(
    fake_slack, tmp_path, serve_in_process
):
    from bot.config import DEFAULT_KNOWLEDGE_DIR

    knowledge = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge)
    tips = (knowledge / "tips.yaml").read_text(encoding="utf-8")
    (knowledge / "tips.yaml").write_text(
        tips.replace(
            "We can compare the marketing department to a scout", "We compare marketing to a spy", 1
        ),
        encoding="utf-8",
    )
    env = bot_env(
        fake_slack.url, tmp_path, ADVISOR_KNOWLEDGE_DIR=str(knowledge), ADVISOR_RUN_SCHEDULER="true"
    )
    line = serve_in_process(env, "--http", "--port", "0")
    assert "tips.yaml" in line
