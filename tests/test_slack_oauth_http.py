"""OAuth mode through the real server process: ``python -m bot serve --http`` (gunicorn) with
SLACK_CLIENT_ID / SLACK_CLIENT_SECRET and no bot token, against the fake Slack.

Two workspaces install the app through /slack/install and /slack/oauth_redirect, each is
answered with its own token and gets its tips from the scheduler inside the server; after
``app_uninstalled`` one of them gets nothing more.
"""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from bot.storage import open_store
from bot.storage.installations import InstallationStore
from tests.fake_slack import FakeSlack, wait_until
from tests.slack_harness import BotServer, bot_env, event_body, mention, unique_id

CLIENT_ID = "3333.4444"
CLIENT_SECRET = "oauth-secret-that-must-never-be-logged"
QUOTA = "who should set next year's sales quota?"


@pytest.fixture(scope="module")
def fake():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('oauth-db') / 'advisor.sqlite3'}"


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory, bundled_index, database_url):
    data = tmp_path_factory.mktemp("oauth-bot")
    shutil.copytree(bundled_index, data / "index")
    env = bot_env(
        fake.url,
        data,
        DATABASE_URL=database_url,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        ADVISOR_RUN_SCHEDULER="true",
        ADVISOR_TIPS_CHECK_SECONDS="0.2",
        ADVISOR_TIPS_PACE_SECONDS="0",
    )
    del env["SLACK_BOT_TOKEN"]
    bot = BotServer(env).start()
    yield bot
    bot.stop()
    assert CLIENT_SECRET not in bot.log, "the client secret leaked into the log"
    assert "xoxb-http-" not in bot.log, "a workspace's bot token leaked into the log"


@pytest.fixture(scope="module")
def store(database_url, server):
    store = open_store(database_url)
    yield store
    store.close()


def header(reply, name: str) -> str:
    return next(v for k, v in reply.headers.items() if k.lower() == name.lower())


def install(slack, fake, team: str, token: str) -> None:
    code = unique_id("code-")
    fake.add_install(code, team_id=team, token=token)
    start = slack.request("GET", "/slack/install")
    assert start.status == 302
    query = parse_qs(urlparse(header(start, "Location")).query)
    assert query["client_id"] == [CLIENT_ID] and "chat:write" in query["scope"][0].split(",")
    cookie = header(start, "Set-Cookie").split(";")[0]
    done = slack.request(
        "GET",
        "/slack/oauth_redirect?" + urlencode({"code": code, "state": query["state"][0]}),
        headers={"Cookie": cookie},
    )
    assert done.status == 200, done.body


def test_two_workspaces_install_and_are_answered_and_tipped_with_their_own_tokens(server, fake, store):
    slack = server.sender()
    install(slack, fake, "THA", "xoxb-http-a")
    install(slack, fake, "THB", "xoxb-http-b")
    installations = InstallationStore(CLIENT_ID, store.engine)
    assert installations.find_bot(enterprise_id=None, team_id="THA").bot_token == "xoxb-http-a"

    channels = {"THA": unique_id("C"), "THB": unique_id("C")}
    for team, channel in channels.items():
        assert slack.event(event_body(mention(QUOTA, channel=channel), team=team)).status == 200
    for team, token in (("THA", "xoxb-http-a"), ("THB", "xoxb-http-b")):
        (answer,) = fake.wait_for_call("chat.postMessage", channel=channels[team])
        assert fake.token_of(answer) == token

    # Tips from the scheduler inside the server, each with its workspace's token.
    tip_channels = {team: unique_id("C") for team in channels}
    for team, channel in tip_channels.items():
        store.subscribe(team=team, channel=channel, local_time="00:00", tz="UTC", days="daily")
    for team, token in (("THA", "xoxb-http-a"), ("THB", "xoxb-http-b")):
        (tip,) = fake.wait_for_call("chat.postMessage", timeout=20, channel=tip_channels[team])
        assert fake.token_of(tip) == token
        assert tip.body["text"].startswith("Tip of the day")

    # THA uninstalls: its installation and subscriptions go; THB is untouched.
    assert slack.event(event_body({"type": "app_uninstalled"}, team="THA")).status == 200
    wait_until(
        lambda: (
            installations.find_bot(enterprise_id=None, team_id="THA") is None
            and not store.get_subscription("THA", tip_channels["THA"]).active
        ),
        what="THA uninstalled",
    )
    gone = unique_id("C")
    assert slack.event(event_body(mention(QUOTA, channel=gone), team="THA")).status == 200
    later = unique_id("C")
    slack.event(event_body(mention(QUOTA, channel=later), team="THB"))
    fake.wait_for_call("chat.postMessage", channel=later)
    assert fake.matching("chat.postMessage", channel=gone) == []
    assert store.get_subscription("THB", tip_channels["THB"]).active


def test_a_start_without_the_client_secret_names_it(fake, tmp_path):
    from tests.helpers import invoke

    env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake.url}
    result = invoke("serve", "--http", env={**env, "ADVISOR_DATA_DIR": str(tmp_path)})
    assert result.exit_code != 0
    assert "SLACK_CLIENT_SECRET" in result.output and "SLACK_BOT_TOKEN" not in result.output


def test_socket_mode_with_oauth_serves_the_install_pages_over_http(fake, bundled_index, tmp_path):
    """Events come over the socket; installing still takes the two HTTP pages."""
    import re
    import subprocess
    import sys
    import threading

    from tests.slack_harness import REPO, SlackSender

    shutil.copytree(bundled_index, tmp_path / "index")
    env = bot_env(
        fake.url,
        tmp_path,
        SLACK_APP_TOKEN="xapp-oauth-app-token",
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
    )
    del env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"]
    # The app token checks out, but nothing listens at the socket URL: the runner keeps
    # retrying the connection while the install pages are served.
    fake.answers["apps.connections.open"] = lambda body: {"ok": True, "url": "ws://127.0.0.1:9/link"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--socket", "--host", "127.0.0.1", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    pattern = re.compile(r"advisor install pages at http://127\.0\.0\.1:(\d+)/slack/install")
    try:
        port = wait_until(
            lambda: next((m.group(1) for line in list(lines) if (m := pattern.search(line))), None),
            timeout=120,
            what=lambda: f"the install pages' address in {''.join(lines)}",
        )
        (connect,) = fake.wait_for("apps.connections.open", 1, timeout=60)[:1]
        assert connect.headers["Authorization"] == "Bearer xapp-oauth-app-token"
        start = SlackSender(f"http://127.0.0.1:{port}").request("GET", "/slack/install")
        assert start.status == 302
        assert parse_qs(urlparse(header(start, "Location")).query)["client_id"] == [CLIENT_ID]
    finally:
        fake.answers.pop("apps.connections.open", None)
        process.terminate()
        process.wait(30)
    assert CLIENT_SECRET not in "".join(lines) and "xapp-oauth-app-token" not in "".join(lines)
