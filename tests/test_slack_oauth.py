"""OAuth mode on SQLite and PostgreSQL: the install flow, per-workspace tokens, uninstall, rotation.

The bot's WSGI application (``bot.slack.server.wsgi_app`` over an OAuth-mode Bolt app) is served
by a real HTTP server in this process (``WSGIBot``), so each test can open its own database on either
backend; the fake Slack serves ``oauth.v2.access`` and answers ``auth.test`` for each
workspace's token. The same flow through ``python -m bot serve --http`` (gunicorn) is in
tests/test_slack_oauth_http.py.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from bot.config import Settings
from bot.slack.oauth import REFRESH_MINUTES, InstallationClients, manifest_scopes
from bot.slack.tips import SlackTipPoster
from bot.storage import open_store
from bot.storage.installations import InstallationStore
from bot.tips.catalog import load_tips
from bot.tips.scheduler import run_due
from tests.fake_slack import REFRESHED_EXPIRES_IN, wait_until
from tests.slack_harness import SIGNING_SECRET, SlackSender, WSGIBot, event_body, mention, unique_id

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret-never-logged"
QUOTA = "who should set next year's sales quota?"


@pytest.fixture
def oauth_settings(fake_slack, database_url, tmp_path):
    return Settings(
        slack_api_url=fake_slack.url,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_signing_secret=SIGNING_SECRET,
        database_url_env=database_url,
        data_dir=tmp_path / "data",
        tips_pace_seconds=0,
    )


@pytest.fixture
def oauth_store(oauth_settings):
    store = open_store(oauth_settings.database_url)
    yield store
    store.close()


@pytest.fixture
def bot(oauth_settings, oauth_store, core_advisor):
    """The OAuth-mode app behind a real HTTP server on a free port; a signed sender to it."""
    server = WSGIBot.answering(oauth_settings, core_advisor, oauth_store).start()
    yield server.sender()
    server.stop()


def header(reply, name: str) -> str:
    return next(v for k, v in reply.headers.items() if k.lower() == name.lower())


def installations(settings, store) -> InstallationStore:
    return InstallationStore(settings.slack_client_id, store.engine)


def within(unix_time: int, earliest: float, latest: float) -> bool:
    """``unix_time`` (whole seconds) falls between two instants read around what set it."""
    return int(earliest) <= unix_time <= latest


def install(bot: SlackSender, fake, *, team: str, token: str, expires_in: int | None = None) -> str:
    """Run the whole install flow for ``team`` like a browser does; the redirect's page."""
    code = unique_id("code-")
    fake.add_install(code, team_id=team, token=token, expires_in=expires_in)
    start = bot.request("GET", "/slack/install")
    assert start.status == 302, start
    state = parse_qs(urlparse(header(start, "Location")).query)["state"][0]
    cookie = header(start, "Set-Cookie").split(";")[0]
    done = bot.request(
        "GET",
        "/slack/oauth_redirect?" + urlencode({"code": code, "state": state}),
        headers={"Cookie": cookie},
    )
    assert done.status == 200, done
    return done.body


def test_the_install_page_leads_to_slacks_authorize_url_with_client_id_scopes_and_state(bot, fake_slack):
    reply = bot.request("GET", "/slack/install")
    assert reply.status == 302
    location = urlparse(header(reply, "Location"))
    assert (location.scheme, location.netloc, location.path) == ("https", "slack.com", "/oauth/v2/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"][0].split(",") == manifest_scopes()
    assert "chat:write" in manifest_scopes() and "app_mentions:read" in manifest_scopes()
    state = query["state"][0]
    assert len(state) >= 32
    assert header(reply, "Set-Cookie").startswith(f"slack-app-oauth-state={state};")
    second = parse_qs(urlparse(header(bot.request("GET", "/slack/install"), "Location")).query)["state"][0]
    assert second != state  # one state per visit
    assert bot.request("POST", "/slack/install").status == 405


def test_the_redirect_exchanges_the_code_and_stores_the_installation(
    bot, fake_slack, oauth_settings, oauth_store
):
    page = install(bot, fake_slack, team="TA", token="xoxb-team-a")
    assert "Thank you" in page or "slack://" in page
    (exchange,) = fake_slack.calls_to("oauth.v2.access")
    assert exchange.body["code"].startswith("code-")
    # The client's credentials go as HTTP Basic auth, never in a URL.
    assert exchange.headers["Authorization"].startswith("Basic ")
    bot_row = installations(oauth_settings, oauth_store).find_bot(enterprise_id=None, team_id="TA")
    assert (bot_row.bot_token, bot_row.bot_user_id, bot_row.team_name) == (
        "xoxb-team-a",
        "UBOT",
        "Workspace TA",
    )
    installation = installations(oauth_settings, oauth_store).find_installation(
        enterprise_id=None, team_id="TA"
    )
    assert installation.user_id == "UADMIN" and installation.app_id == "A1"


def test_a_redirect_without_the_browsers_state_or_with_a_spent_one_stores_nothing(
    bot, fake_slack, oauth_settings, oauth_store
):
    fake_slack.add_install("code-x", team_id="TX", token="xoxb-x")
    start = bot.request("GET", "/slack/install")
    state = parse_qs(urlparse(header(start, "Location")).query)["state"][0]
    cookie = header(start, "Set-Cookie").split(";")[0]
    query = urlencode({"code": "code-x", "state": state})
    assert bot.request("GET", f"/slack/oauth_redirect?{query}").status == 400  # not the browser that started
    forged = urlencode({"code": "code-x", "state": "made-up"})
    assert (
        bot.request(
            "GET", f"/slack/oauth_redirect?{forged}", headers={"Cookie": "slack-app-oauth-state=made-up"}
        ).status
        == 401
    )
    assert bot.request("GET", f"/slack/oauth_redirect?{query}", headers={"Cookie": cookie}).status == 200
    again = bot.request("GET", f"/slack/oauth_redirect?{query}", headers={"Cookie": cookie})
    assert again.status == 401  # the state was spent by the first redirect
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1
    assert installations(oauth_settings, oauth_store).find_bot(enterprise_id=None, team_id="TX") is not None


def test_two_workspaces_are_answered_side_by_side_each_with_its_own_token(bot, fake_slack):
    install(bot, fake_slack, team="TA", token="xoxb-team-a")
    install(bot, fake_slack, team="TB", token="xoxb-team-b")
    channels = {"TA": unique_id("C"), "TB": unique_id("C")}
    replies = {}

    def send(team):
        replies[team] = bot.event(event_body(mention(QUOTA, channel=channels[team]), team=team))

    senders = [threading.Thread(target=send, args=(team,)) for team in channels]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert {team: reply.status for team, reply in replies.items()} == {"TA": 200, "TB": 200}
    for team, token in (("TA", "xoxb-team-a"), ("TB", "xoxb-team-b")):
        (answer,) = fake_slack.wait_for_call("chat.postMessage", channel=channels[team])
        assert fake_slack.token_of(answer) == token
        assert answer.body["text"].startswith("Marketing.")  # the text fallback: verdict first


def test_after_app_uninstalled_that_workspace_gets_nothing_and_its_subscriptions_are_inactive(
    bot, fake_slack, oauth_settings, oauth_store
):
    install(bot, fake_slack, team="TA", token="xoxb-team-a")
    install(bot, fake_slack, team="TB", token="xoxb-team-b")
    for team in ("TA", "TB"):
        oauth_store.subscribe(team=team, channel=f"C-{team}", local_time="09:00", tz="UTC", days="daily")
    assert bot.event(event_body({"type": "app_uninstalled"}, team="TA")).status == 200
    store = installations(oauth_settings, oauth_store)
    wait_until(
        lambda: (
            store.find_bot(enterprise_id=None, team_id="TA") is None
            and not oauth_store.get_subscription("TA", "C-TA").active
        ),
        what="TA's installation deleted and its subscription deactivated",
    )
    assert store.find_installation(enterprise_id=None, team_id="TA") is None
    assert oauth_store.get_subscription("TA", "C-TA").paused_reason == "app_uninstalled"
    assert oauth_store.get_subscription("TB", "C-TB").active
    assert store.find_bot(enterprise_id=None, team_id="TB").bot_token == "xoxb-team-b"

    # A mention from the uninstalled workspace: authorization finds no installation while the
    # request is handled, so no listener runs and nothing is ever posted for it.
    gone = unique_id("C")
    reply = bot.event(event_body(mention(QUOTA, channel=gone), team="TA"))
    assert reply.status == 200
    still = unique_id("C")
    bot.event(event_body(mention(QUOTA, channel=still), team="TB"))
    fake_slack.wait_for_call("chat.postMessage", channel=still)
    assert fake_slack.matching("chat.postMessage", channel=gone) == []

    # Tips: only TB's channel gets one, with TB's token.
    report = run_due(
        store=oauth_store,
        poster=SlackTipPoster(InstallationClients(oauth_settings, store)),
        catalog=load_tips(oauth_settings.knowledge_dir),
        settings=oauth_settings,
        now=datetime(2024, 5, 15, 9, 5, tzinfo=UTC),
    )
    assert [(p.team, p.channel) for p in report.posted] == [("TB", "C-TB")]
    (tip,) = fake_slack.matching("chat.postMessage", channel="C-TB")
    assert fake_slack.token_of(tip) == "xoxb-team-b"
    assert fake_slack.matching("chat.postMessage", channel="C-TA") == []


def test_tokens_revoked_deletes_the_bot_and_deactivates_the_workspace(
    bot, fake_slack, oauth_settings, oauth_store
):
    install(bot, fake_slack, team="TA", token="xoxb-team-a")
    oauth_store.subscribe(team="TA", channel="C1", local_time="09:00", tz="UTC")
    event = {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}
    assert bot.event(event_body(event, team="TA")).status == 200
    store = installations(oauth_settings, oauth_store)
    wait_until(lambda: store.find_bot(enterprise_id=None, team_id="TA") is None, what="TA's bot deleted")
    wait_until(lambda: not oauth_store.get_subscription("TA", "C1").active, what="TA's subscription inactive")
    # The installation rows held the revoked token too: none is left.
    assert store.find_installation(enterprise_id=None, team_id="TA") is None
    with oauth_store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT bot_token, bot_refresh_token FROM slack_installations WHERE team_id = 'TA'"
        ).all()
    assert rows == []


def test_a_failed_code_exchange_and_a_good_one_log_no_code_and_no_token(bot, fake_slack, caplog):
    """Every record at every level, from every logger (Bolt logs a failed exchange's code at
    WARNING; slack_sdk logs request and response bodies at DEBUG) is scrubbed."""
    from bot.logguard import install_secret_scrubbing

    install_secret_scrubbing([CLIENT_SECRET])
    code = "4242424242.4242424242.0123456789abcdef0123"
    with caplog.at_level(logging.DEBUG):
        start = bot.request("GET", "/slack/install")
        state = parse_qs(urlparse(header(start, "Location")).query)["state"][0]
        cookie = header(start, "Set-Cookie").split(";")[0]
        failed = bot.request(
            "GET",
            "/slack/oauth_redirect?" + urlencode({"code": code, "state": state}),
            headers={"Cookie": cookie},
        )
        install(bot, fake_slack, team="TL", token="xoxb-team-l-secret", expires_in=3600)
    assert failed.status != 200 or "Thank you" not in failed.body
    assert fake_slack.calls_to("oauth.v2.access")  # the exchanges reached Slack
    warnings = [r for r in caplog.records if r.name.startswith("slack_bolt") and r.levelno >= logging.WARNING]
    assert warnings, "Bolt said nothing of the failed exchange"
    logged = "\n".join(r.getMessage() + "\n" + (r.exc_text or "") for r in caplog.records)
    for secret in (code, "xoxb-team-l-secret", CLIENT_SECRET, "xoxe-1-"):
        assert secret not in logged, secret


def test_each_workspace_gets_its_own_tips_with_its_own_token(bot, fake_slack, oauth_settings, oauth_store):
    install(bot, fake_slack, team="TA", token="xoxb-team-a")
    install(bot, fake_slack, team="TB", token="xoxb-team-b")
    for team in ("TA", "TB"):
        oauth_store.subscribe(team=team, channel="C-same-id", local_time="09:00", tz="UTC", days="daily")
    report = run_due(
        store=oauth_store,
        poster=SlackTipPoster(
            InstallationClients(oauth_settings, installations(oauth_settings, oauth_store))
        ),
        catalog=load_tips(oauth_settings.knowledge_dir),
        settings=oauth_settings,
        now=datetime(2024, 5, 15, 9, 5, tzinfo=UTC),
    )
    assert sorted((p.team, p.status) for p in report.posted) == [("TA", "sent"), ("TB", "sent")]
    tokens = sorted(
        fake_slack.token_of(c) for c in fake_slack.matching("chat.postMessage", channel="C-same-id")
    )
    assert tokens == ["xoxb-team-a", "xoxb-team-b"]
    # The channel's tip order is kept per workspace: each one is on its first tip.
    assert (
        oauth_store.tip_order("TA", "C-same-id").position
        == oauth_store.tip_order("TB", "C-same-id").position
        == 1
    )


@pytest.fixture
def tokyo():
    """This process's local time zone set to UTC+9 (slack_sdk issue #1731 bit non-UTC hosts)."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_a_rotated_token_is_refreshed_by_the_scheduler_before_a_tip(
    bot, fake_slack, oauth_settings, oauth_store, tokyo
):
    # Installed with a token that expires within the refresh margin (Slack's rotation on).
    lifetime = REFRESH_MINUTES * 60 - 300
    before = time.time()
    install(bot, fake_slack, team="TR", token="xoxb-rotating", expires_in=lifetime)
    store = installations(oauth_settings, oauth_store)
    installed = store.find_bot(enterprise_id=None, team_id="TR")
    assert installed.bot_refresh_token == "xoxe-1-xoxb-rotating"
    assert within(installed.bot_token_expires_at, before + lifetime, time.time() + lifetime)
    oauth_store.subscribe(team="TR", channel="C-rot", local_time="09:00", tz="UTC", days="daily")
    clients = InstallationClients(oauth_settings, store)

    report = run_due(
        store=oauth_store,
        poster=SlackTipPoster(clients),
        catalog=load_tips(oauth_settings.knowledge_dir),
        settings=oauth_settings,
        now=datetime(2024, 5, 15, 9, 5, tzinfo=UTC),
    )
    assert [p.status for p in report.posted] == ["sent"]
    refresh = fake_slack.matching("oauth.v2.access", grant_type="refresh_token")
    assert [c.body["refresh_token"] for c in refresh] == ["xoxe-1-xoxb-rotating"]
    (tip,) = fake_slack.matching("chat.postMessage", channel="C-rot")
    assert fake_slack.token_of(tip) == "xoxb-rotating-r1" != "xoxb-rotating"
    assert fake_slack.calls.index(refresh[0]) < fake_slack.calls.index(tip)

    # Saved, with an expiry that means the same instant on this UTC+9 host and in the database.
    saved = store.find_bot(enterprise_id=None, team_id="TR")
    assert (saved.bot_token, saved.bot_refresh_token) == ("xoxb-rotating-r1", "xoxe-1-xoxb-rotating-r1")
    lifetime = REFRESHED_EXPIRES_IN
    assert within(saved.bot_token_expires_at, before + lifetime, time.time() + lifetime)
    with oauth_store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT bot_token_expires_at FROM slack_bots WHERE bot_token = 'xoxb-rotating-r1'"
        ).scalar()
    if oauth_store.dialect == "postgresql":
        assert stored.tzinfo is not None  # timestamptz
    stored = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    stored = stored if stored.tzinfo else stored.replace(tzinfo=UTC)
    assert abs(stored.timestamp() - saved.bot_token_expires_at) < 1

    # Fresh for 12 hours: the next tip (and the next team lookup) does not refresh again.
    clients.for_team("TR")
    InstallationClients(oauth_settings, store).for_team("TR")
    assert len(fake_slack.matching("oauth.v2.access", grant_type="refresh_token")) == 1

    # A request from Slack is authorized with the refreshed token too.
    channel = unique_id("C")
    bot.event(event_body(mention(QUOTA, channel=channel), team="TR"))
    (answer,) = fake_slack.wait_for_call("chat.postMessage", channel=channel)
    assert fake_slack.token_of(answer) == "xoxb-rotating-r1"


def test_a_workspace_without_an_installation_has_its_tips_deactivated(
    fake_slack, oauth_settings, oauth_store
):
    oauth_store.subscribe(team="TGONE", channel="C1", local_time="09:00", tz="UTC", days="daily")
    report = run_due(
        store=oauth_store,
        poster=SlackTipPoster(
            InstallationClients(oauth_settings, installations(oauth_settings, oauth_store))
        ),
        catalog=load_tips(oauth_settings.knowledge_dir),
        settings=oauth_settings,
        now=datetime(2024, 5, 15, 9, 5, tzinfo=UTC),
    )
    assert report.deactivated == [("TGONE", "not_installed", 1)]
    assert fake_slack.posts() == []


def test_the_oauth_tables_match_slack_sdks_own_definitions():
    """Ours are slack_sdk's column for column (times timezone-aware): an upgrade of slack_sdk
    that adds or changes a column fails here, not at a customer's install."""
    import sqlalchemy as sa
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    from bot.storage.models import Base

    theirs = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states")

    def shape(table):
        columns = {}
        for c in table.columns:
            kind = type(c.type).__name__
            length = getattr(c.type, "length", None)
            columns[c.name] = (kind, length, c.nullable, c.primary_key)
        indexes = sorted((i.name, tuple(c.name for c in i.columns)) for i in table.indexes)
        return columns, indexes

    for name, table in theirs.tables.items():
        assert shape(Base.metadata.tables[name]) == shape(table), name
        ours = Base.metadata.tables[name]
        assert all(c.type.timezone for c in ours.columns if isinstance(c.type, sa.DateTime)), name


def test_settings_refuse_a_bot_token_beside_oauth_credentials():
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="not both"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "s"})
    oauth = load_settings({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET})
    assert oauth.oauth and CLIENT_SECRET not in repr(oauth)
    assert not load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).oauth
    assert json.dumps(manifest_scopes())  # the manifest's scopes read as a plain list


# Slack re-sends an event that got no 2xx: at once, after a minute and after five minutes
# (the Events API's retries), here as offsets from its first delivery on the test's clock.
SLACK_RETRY_OFFSETS = (0.0, 60.0, 300.0)


class Clock:
    """The bot's clock for token expiry (slack_sdk's rotator reads it), moved by the test."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_token_refresh_failing_for_60_s_loses_none_of_10_mentions(
    bot, fake_slack, oauth_settings, oauth_store, caplog, monkeypatch
):
    """Issue 28, item 3, over 60 s of the bot's own clock (injected: no wall-clock wait). A
    workspace's token enters its refresh window at R; Slack's oauth.v2.access fails (503) until
    R + 60 s; 10 mentions arrive at R, R + 6 s ... R + 54 s, each re-sent on Slack's schedule
    while refused. During the outage every delivery is refused with 503 (never a 200 that
    would lose it); after it, each mention is answered exactly once, with the refreshed token.
    A mention before R is answered with the old token: refreshing is the clock's decision."""
    import heapq

    from slack_sdk.oauth.token_rotation import rotator

    from bot.slack import oauth

    install(bot, fake_slack, team="TF", token="xoxb-refresh-fails", expires_in=REFRESH_MINUTES * 60 + 600)
    expires_at = (
        installations(oauth_settings, oauth_store)
        .find_installation(enterprise_id=None, team_id="TF")
        .bot_token_expires_at
    )
    refresh_from = expires_at - REFRESH_MINUTES * 60  # R: from here on the token is refreshed on use
    clock = Clock(refresh_from - 20)
    monkeypatch.setattr(rotator, "time", clock)  # Bolt's refresh on a request
    monkeypatch.setattr(oauth, "now", clock)  # a queued answer's client (InstallationClients)
    fake_slack.http_error("oauth.v2.access", 503, times=10**6, grant_type="refresh_token")
    outage_ends = refresh_from + 60

    early = unique_id("CE")
    assert bot.event(event_body(mention(QUOTA, channel=early), team="TF")).status == 200
    fake_slack.wait_for_call("chat.postMessage", channel=early, timeout=60)
    assert fake_slack.matching("oauth.v2.access", grant_type="refresh_token") == []  # not yet due

    channels = [unique_id("CF") for _ in range(10)]
    bodies = {c: event_body(mention(QUOTA, channel=c), team="TF") for c in channels}
    arrived = {c: refresh_from + 6 * i for i, c in enumerate(channels)}
    due = [(when, 0, c) for c, when in arrived.items()]  # (when, Slack's retry number, channel)
    heapq.heapify(due)
    deliveries: list[tuple[float, int, str, int]] = []  # (seconds after R, retry, channel, status)
    with caplog.at_level(logging.INFO):
        while due:
            when, retry, channel = heapq.heappop(due)
            clock.now = max(clock.now, when)
            if clock.now >= outage_ends:
                fake_slack.recover("oauth.v2.access")
            status = bot.event(bodies[channel], retry=retry).status
            deliveries.append((clock.now - refresh_from, retry, channel, status))
            if status != 200 and retry < len(SLACK_RETRY_OFFSETS):
                heapq.heappush(due, (arrived[channel] + SLACK_RETRY_OFFSETS[retry], retry + 1, channel))

    during = [d for d in deliveries if d[0] < 60]
    after = [d for d in deliveries if d[0] >= 60]
    assert len(during) == 20 and {d[3] for d in during} == {503}, deliveries  # each, and at once again
    assert sorted(d[2] for d in after) == sorted(channels), deliveries  # each once more: answered
    assert {d[3] for d in after} == {200} and {d[1] for d in after} == {2}, deliveries
    assert (
        sum("answered 503 so that Slack sends the event again" in r.getMessage() for r in caplog.records)
        == 20
    )
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)

    for channel in channels:
        fake_slack.wait_for_call("chat.postMessage", channel=channel, timeout=60)
    wait_until(lambda: oauth_store.job_counts().get("done", 0) >= 11, timeout=60, what="11 jobs done")
    answered = {c: len(fake_slack.matching("chat.postMessage", channel=c)) for c in [early, *channels]}
    assert answered == dict.fromkeys([early, *channels], 1)
    tokens = {c: fake_slack.token_of(p) for p in fake_slack.posts() for c in [p.body["channel"]]}
    assert tokens[early] == "xoxb-refresh-fails"
    assert {tokens[c] for c in channels} == {"xoxb-refresh-fails-r1"}


def test_a_revoked_workspace_is_dropped_with_one_log_line(bot, fake_slack, caplog):
    install(bot, fake_slack, team="TV", token="xoxb-revoked", expires_in=60)
    fake_slack.fail("oauth.v2.access", "invalid_refresh_token", times=10**6, grant_type="refresh_token")
    with caplog.at_level(logging.INFO):
        reply = bot.event(event_body(mention(QUOTA, channel=unique_id("CV")), team="TV"))
    assert reply.status == 200
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "token refresh refused (invalid_refresh_token)" in lines[0].getMessage(), [
        r.getMessage() for r in lines
    ]
    fake_slack.recover("oauth.v2.access")
