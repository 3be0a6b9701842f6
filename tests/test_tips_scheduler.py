"""The tip scheduler on SQLite and PostgreSQL against the fake Slack: exactly once, in order, on time."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.config import Settings
from bot.slack.client import make_client
from bot.slack.tips import SlackTipPoster
from bot.storage import open_store
from bot.storage.models import Subscription
from bot.tips.catalog import load_tips
from bot.tips.scheduler import MAX_ATTEMPTS, run_due, start_scheduler_thread

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database


@pytest.fixture(scope="module")
def catalog():
    return load_tips(Settings().knowledge_dir)


@pytest.fixture
def settings(settings, database_url):
    return settings.with_overrides(database_url_env=database_url)


@pytest.fixture
def run(store, settings, catalog):
    poster = poster_for(settings)

    def run(now: datetime):
        return run_due(store=store, poster=poster, catalog=catalog, settings=settings, now=now)

    return run


def poster_for(settings: Settings) -> SlackTipPoster:
    return SlackTipPoster(make_client(settings))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def posted_channels(fake_slack) -> list[str]:
    return [call.body["channel"] for call in fake_slack.posts()]


def test_tokyo_and_los_angeles_each_post_at_their_own_nine(store, run, fake_slack):
    store.subscribe(team="T1", channel="CTOKYO", local_time="09:00", tz="Asia/Tokyo")
    store.subscribe(team="T1", channel="CLA", local_time="09:00", tz="America/Los_Angeles")
    # Wed 2024-05-15 23:59 UTC = Thu 08:59 in Tokyo, Wed 16:59 in Los Angeles (already past 09:00).
    report = run(utc(2024, 5, 15, 23, 59))
    assert posted_channels(fake_slack) == ["CLA"]
    assert [(p.channel, p.local_date) for p in report.posted] == [("CLA", date(2024, 5, 15))]
    run(utc(2024, 5, 16, 0, 0))  # Thu 09:00 in Tokyo
    assert posted_channels(fake_slack) == ["CLA", "CTOKYO"]
    assert store.post_for("T1", "CTOKYO", date(2024, 5, 16)).status == "sent"
    run(utc(2024, 5, 16, 15, 59))  # Thu 08:59 in Los Angeles: not yet
    assert len(fake_slack.posts()) == 2
    run(utc(2024, 5, 16, 16, 0))  # Thu 09:00 in Los Angeles
    run(utc(2024, 5, 16, 16, 1))  # and again a minute later: nothing more
    assert posted_channels(fake_slack) == ["CLA", "CTOKYO", "CLA"]
    assert store.post_for("T1", "CLA", date(2024, 5, 16)).message_ts.startswith("17")


def test_weekdays_skip_the_weekend_and_daily_does_not(store, run, fake_slack):
    store.subscribe(team="T1", channel="CWEEK", local_time="09:00", tz="Europe/Paris")
    store.subscribe(team="T1", channel="CDAILY", local_time="09:00", tz="Europe/Paris", days="daily")
    run(utc(2024, 5, 18, 12, 0))  # Saturday
    assert posted_channels(fake_slack) == ["CDAILY"]
    run(utc(2024, 5, 20, 12, 0))  # Monday
    assert sorted(posted_channels(fake_slack)) == ["CDAILY", "CDAILY", "CWEEK"]


def test_dst_spring_forward_day_posts_once_at_the_jump(store, run, fake_slack):
    # 2024-03-10 in Los Angeles: 02:00 PST jumps to 03:00 PDT; 02:30 never happens.
    store.subscribe(team="T1", channel="CLA", local_time="02:30", tz="America/Los_Angeles", days="daily")
    run(utc(2024, 3, 10, 9, 59))  # 01:59 PST
    assert fake_slack.posts() == []
    run(utc(2024, 3, 10, 10, 0))  # 03:00 PDT, first moment at or after 02:30
    run(utc(2024, 3, 10, 10, 30))  # 03:30 PDT (the naive reading of "02:30 PST")
    assert len(fake_slack.posts()) == 1
    assert store.post_for("T1", "CLA", date(2024, 3, 10)).status == "sent"


def test_dst_fall_back_day_posts_once_although_the_time_happens_twice(store, run, fake_slack):
    # 2024-11-03 in Los Angeles: 01:00-02:00 happens twice (PDT, then PST).
    store.subscribe(team="T1", channel="CLA", local_time="01:30", tz="America/Los_Angeles", days="daily")
    run(utc(2024, 11, 3, 8, 30))  # 01:30 PDT
    run(utc(2024, 11, 3, 9, 30))  # 01:30 PST
    assert len(fake_slack.posts()) == 1


def test_paris_nine_moves_in_utc_across_the_dst_change(store, run, fake_slack):
    store.subscribe(team="T1", channel="CPARIS", local_time="09:00", tz="Europe/Paris", days="daily")
    run(utc(2024, 3, 30, 7, 30))  # Saturday, CET: 08:30 local
    assert fake_slack.posts() == []
    run(utc(2024, 3, 31, 7, 0))  # Sunday, CEST since 02:00: 09:00 local
    assert len(fake_slack.posts()) == 1
    assert store.post_for("T1", "CPARIS", date(2024, 3, 31)) is not None


def test_catch_up_posts_todays_missed_tip_and_skips_earlier_days(store, run, fake_slack):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="Europe/Paris", days="daily")
    run(utc(2024, 6, 3, 7, 0))  # Mon 09:00 CEST
    assert len(fake_slack.posts()) == 1
    # Down from Monday 10:00 until Thursday 16:00: Tue and Wed are skipped, Thu is caught up.
    report = run(utc(2024, 6, 6, 14, 0))
    assert len(fake_slack.posts()) == 2
    assert [p.local_date for p in report.posted] == [date(2024, 6, 6)]
    assert [p.local_date for p in store.posts("T1", "C1")] == [date(2024, 6, 3), date(2024, 6, 6)]
    run(utc(2024, 6, 6, 21, 0))
    assert len(fake_slack.posts()) == 2


def test_thirty_days_without_a_repeat_then_a_new_order(store, run, fake_slack, catalog):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="Asia/Tokyo", days="daily")
    store.subscribe(team="T1", channel="C2", local_time="09:00", tz="Asia/Tokyo", days="daily")
    start = utc(2024, 1, 1, 1, 0)  # 10:00 in Tokyo
    for day in range(len(catalog.tips) + 5):
        run(start + timedelta(days=day))
    c1 = [p.tip_id for p in store.posts("T1", "C1")]
    c2 = [p.tip_id for p in store.posts("T1", "C2")]
    n = len(catalog.tips)
    assert n >= 30 and len(c1) == n + 5
    assert len(set(c1[:30])) == 30  # no repeat across 30 consecutive days
    assert sorted(c1[:n]) == sorted(catalog.ids)  # every tip once before any repeats
    assert c1[n] != c1[n - 1]  # the new order does not start with yesterday's tip
    assert len(set(c1[n:])) == 5
    assert c1[:n] != c2[:n]  # each channel has its own shuffle
    texts = [call.body["text"] for call in fake_slack.posts() if call.body["channel"] == "C1"]
    assert catalog.get(c1[0]).title.split()[0] in texts[0]


def test_a_tip_card_quotes_the_article_with_its_section_and_link(store, run, fake_slack, catalog):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    run(utc(2024, 5, 15, 9, 0))
    body = fake_slack.posts()[0].body
    tip = catalog.get(store.posts("T1", "C1")[0].tip_id)
    assert body["unfurl_links"] in (False, "false", "0") and body["unfurl_media"] in (False, "false", "0")
    assert "link_names" not in body
    blocks = body["blocks"]
    flat = str(blocks)
    assert tip.title.replace("'", "") in flat.replace("'", "")
    assert "globalsources.com" in flat
    assert "&quot;" not in flat
    assert body["text"].startswith("Tip of the day: ")


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
def test_channel_errors_pause_that_channel_and_keep_serving_others(store, run, fake_slack, error):
    store.subscribe(team="T1", channel="CBAD", local_time="09:00", tz="UTC")
    store.subscribe(team="T1", channel="CGOOD", local_time="09:00", tz="UTC")
    fake_slack.fail("chat.postMessage", error, times=1)  # the first post: CBAD (sorted)
    report = run(utc(2024, 5, 15, 9, 0))
    assert report.paused == [("T1", "CBAD", error)]
    assert [p.channel for p in report.posted] == ["CGOOD"]
    bad = store.get_subscription("T1", "CBAD")
    assert bad.active and bad.paused_reason == error and not bad.live
    run(utc(2024, 5, 16, 9, 0))  # next day: paused channel is skipped
    assert posted_channels(fake_slack) == ["CBAD", "CGOOD", "CGOOD"]
    # Invited again and re-subscribed the same day: today's tip is posted.
    store.subscribe(team="T1", channel="CBAD", local_time="09:00", tz="UTC")
    run(utc(2024, 5, 16, 9, 5))
    assert posted_channels(fake_slack)[-1] == "CBAD"
    assert store.post_for("T1", "CBAD", date(2024, 5, 16)).status == "sent"


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
def test_revoked_workspace_is_deactivated_and_others_keep_going(store, run, fake_slack, error):
    for channel in ("C1", "C2", "C3"):
        store.subscribe(team="T1", channel=channel, local_time="09:00", tz="UTC")
    store.subscribe(team="T2", channel="C9", local_time="09:00", tz="UTC")
    fake_slack.fail("chat.postMessage", error, times=1)
    report = run(utc(2024, 5, 15, 9, 0))
    assert report.deactivated == [("T1", error, 3)]
    # One call for the revoked workspace, none for its other channels; the other workspace posts.
    assert posted_channels(fake_slack) == ["C1", "C9"]
    assert [(s.active, s.paused_reason) for s in store.list_subscriptions("T1")] == [(False, error)] * 3
    assert store.list_subscriptions("T2")[0].active
    run(utc(2024, 5, 16, 9, 0))
    assert posted_channels(fake_slack) == ["C1", "C9", "C9"]


@pytest.mark.parametrize(("column", "value"), [("tz", "Mars/Olympus"), ("local_time", "9am")])
def test_a_subscription_that_cannot_be_scheduled_is_logged_and_skipped(
    store, run, fake_slack, caplog, column, value
):
    for channel in ("C1", "C2", "C3"):
        store.subscribe(team="T1", channel=channel, local_time="09:00", tz="UTC")
    s = Subscription.__table__
    with store.engine.begin() as conn:  # a row written by hand, or before subscribe validated
        conn.execute(update(s).where(s.c.channel == "C2").values({column: value}))
    report = run(utc(2024, 5, 15, 9, 0))
    assert posted_channels(fake_slack) == ["C1", "C3"]
    assert report.skipped == [("T1", "C2")] and "1 skipped" in report.summary()
    (logged,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "T1/C2" in logged.getMessage() and value in logged.getMessage() and logged.exc_info


BOOM = {
    "sqlite": [
        "CREATE TRIGGER boom BEFORE INSERT ON posts WHEN NEW.channel = 'C2' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.channel = 'C2' THEN "
        "RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER boom BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION boom()",
    ],
}


def test_a_database_error_on_one_channel_does_not_stop_the_others(store, run, fake_slack, caplog):
    for channel in ("C1", "C2", "C3"):
        store.subscribe(team="T1", channel=channel, local_time="09:00", tz="UTC")
    with store.engine.begin() as conn:  # the claim of C2's post fails in the database
        for statement in BOOM[store.dialect]:
            conn.exec_driver_sql(statement)
    report = run(utc(2024, 5, 15, 9, 0))
    assert posted_channels(fake_slack) == ["C1", "C3"]
    assert report.skipped == [("T1", "C2")]
    assert any(r.levelname == "ERROR" and "T1/C2" in r.getMessage() for r in caplog.records)


def test_a_connection_lost_after_sending_is_unconfirmed_and_never_posted_again(store, run, fake_slack):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    fake_slack.drop("chat.postMessage", channel="C1")  # Slack has the message; the answer is lost
    report = run(utc(2024, 5, 15, 9, 0))
    assert report.unknown == [("T1", "C1")] and report.posted == []
    post = store.post_for("T1", "C1", date(2024, 5, 15))
    assert (post.status, post.error) == ("unknown", "RemoteDisconnected")
    run(utc(2024, 5, 15, 9, 5))
    assert len(fake_slack.posts()) == 1


def test_a_refused_connection_is_a_failure_retried_on_a_later_check(store, settings, catalog, fake_slack):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    down = settings.with_overrides(slack_api_url=f"http://127.0.0.1:{closed.getsockname()[1]}/api/")
    try:
        report = run_due(
            store=store, poster=poster_for(down), catalog=catalog, settings=down, now=utc(2024, 5, 15, 9)
        )
    finally:
        closed.close()
    assert report.failed == [("T1", "C1", "URLError")]
    assert store.post_for("T1", "C1", date(2024, 5, 15)).status == "failed"
    run_due(
        store=store,
        poster=poster_for(settings),
        catalog=catalog,
        settings=settings,
        now=utc(2024, 5, 15, 9, 1),
    )
    assert store.post_for("T1", "C1", date(2024, 5, 15)).status == "sent"
    assert len(fake_slack.posts()) == 1


def test_rate_limit_waits_retry_after_then_posts(store, run, fake_slack):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    fake_slack.rate_limit("chat.postMessage", retry_after=1, times=1)
    started = time.monotonic()
    report = run(utc(2024, 5, 15, 9, 0))
    assert time.monotonic() - started >= 0.9
    calls = fake_slack.posts()
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 0.9
    assert [p.channel for p in report.posted] == ["C1"]
    assert store.post_for("T1", "C1", date(2024, 5, 15)).status == "sent"


@pytest.mark.parametrize("kind", ["slack_error", "http_500"])
def test_other_errors_retry_on_later_checks_a_bounded_number_of_times(store, run, fake_slack, kind, caplog):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    if kind == "slack_error":
        fake_slack.fail("chat.postMessage", "internal_error", times=MAX_ATTEMPTS + 1)
    else:
        fake_slack.http_error("chat.postMessage", 500, times=MAX_ATTEMPTS + 1)
    first = utc(2024, 5, 15, 9, 0)
    report = run(first)
    assert report.posted == [] and len(report.failed) == 1
    assert run(first).failed == []  # not again within the same check
    for minute in range(1, MAX_ATTEMPTS + 3):
        run(first + timedelta(minutes=minute))
    assert len(fake_slack.posts()) == MAX_ATTEMPTS
    post = store.post_for("T1", "C1", date(2024, 5, 15))
    assert (post.status, post.attempts) == ("gave_up", MAX_ATTEMPTS)
    assert store.get_subscription("T1", "C1").failures == MAX_ATTEMPTS
    assert sum("failed (attempt" in r.getMessage() for r in caplog.records) == MAX_ATTEMPTS
    run(utc(2024, 5, 16, 9, 0))  # the next day posts again (the fake has one failure left)
    run(utc(2024, 5, 16, 9, 1))
    assert store.post_for("T1", "C1", date(2024, 5, 16)).status in ("sent",)
    assert store.get_subscription("T1", "C1").failures == 0


def test_a_transient_error_is_retried_with_the_same_tip(store, run, fake_slack):
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    fake_slack.fail("chat.postMessage", "internal_error", times=1)
    run(utc(2024, 5, 15, 9, 0))
    run(utc(2024, 5, 15, 9, 1))
    first, second = fake_slack.posts()
    assert first.body["text"] == second.body["text"]
    post = store.post_for("T1", "C1", date(2024, 5, 15))
    assert (post.status, post.attempts) == ("sent", 2)
    assert len(store.tip_order("T1", "C1").order) >= 30 and store.tip_order("T1", "C1").position == 1


def fan_out(store, settings, catalog, pace: float = 0.3):
    """Three channels in each of two workspaces, all due at once, paced ``pace`` s a workspace."""
    for channel in ("C1", "C2", "C3"):
        store.subscribe(team="TA", channel=channel, local_time="09:00", tz="UTC")
        store.subscribe(team="TB", channel=channel, local_time="09:00", tz="UTC")
    paced = settings.with_overrides(tips_pace_seconds=pace)
    return run_due(
        store=store, poster=poster_for(paced), catalog=catalog, settings=paced, now=utc(2024, 5, 15, 9)
    )


def test_fan_out_paces_each_workspace_and_interleaves_workspaces(store, settings, catalog, fake_slack):
    started = time.monotonic()
    report = fan_out(store, settings, catalog)
    assert time.monotonic() - started >= 0.55  # at least two pauses of 0.3 s
    assert [p.team for p in report.posted] == ["TA", "TB"] * 3
    # As Slack saw them: each workspace's posts at least a pace apart, the other's in between.
    posts = fake_slack.posts()
    ta, tb = [c.at for c in posts][0::2], [c.at for c in posts][1::2]
    assert all(b - a >= 0.28 for a, b in zip(ta, ta[1:], strict=False))
    assert all(b - a >= 0.28 for a, b in zip(tb, tb[1:], strict=False))
    assert all(a <= b <= c for a, b, c in zip(ta, tb, ta[1:], strict=False))


class FakeClock:
    """The scheduler's ``time`` module on a clock that only moves when it sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_fan_out_waits_one_pace_a_round_not_one_a_workspace(store, settings, catalog, monkeypatch):
    """The workspaces' pauses overlap: six posts in two workspaces wait two paces in all, where
    pacing the workspaces one after another would wait five (on a clock of its own: whatever
    the machine's load, the waits asked for are exactly these)."""
    from bot.tips import scheduler

    clock = FakeClock()
    monkeypatch.setattr(scheduler, "time", clock)
    report = fan_out(store, settings, catalog, pace=0.25)  # exact in binary: no rounding dust
    assert [p.team for p in report.posted] == ["TA", "TB"] * 3
    assert clock.sleeps == [0.25, 0.25]


def test_concurrent_passes_in_threads_post_once_per_channel(store, settings, catalog, fake_slack):
    channels = [f"C{i}" for i in range(8)]
    for channel in channels:
        store.subscribe(team="T1", channel=channel, local_time="09:00", tz="UTC")
    stores = [open_store(settings.database_url) for _ in range(4)]
    barrier = threading.Barrier(4)
    now = utc(2024, 5, 15, 9, 0)

    def one(s):
        barrier.wait()
        run_due(store=s, poster=poster_for(settings), catalog=catalog, settings=settings, now=now)

    threads = [threading.Thread(target=one, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(posted_channels(fake_slack)) == channels
    assert all(p.status == "sent" for p in store.posts())
    for s in stores:
        s.close()


def test_scheduler_thread_posts_due_tips_and_stops(store, settings, catalog, fake_slack):
    store.subscribe(team="T1", channel="C1", local_time="00:00", tz="UTC", days="daily")
    handle = start_scheduler_thread(
        settings.with_overrides(tips_check_seconds=0.1), store, poster_for(settings), catalog=catalog
    )
    try:
        fake_slack.wait_for("chat.postMessage", 1, timeout=10)
        # A channel subscribed now is posted by a later pass, one that also saw C1 as sent.
        store.subscribe(team="T1", channel="C2", local_time="00:00", tz="UTC", days="daily")
        fake_slack.wait_for("chat.postMessage", 2, timeout=10)
    finally:
        handle.stop()
    assert not handle.alive
    assert posted_channels(fake_slack) == ["C1", "C2"]


def test_a_timed_out_post_is_unconfirmed_and_not_retried(store, settings, catalog, fake_slack):
    from slack_sdk import WebClient

    from bot.slack.client import retry_handlers

    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    fake_slack.delay("chat.postMessage", 1.5)  # Slack got it but answers too late
    impatient = WebClient(
        token="xoxb-test", base_url=fake_slack.url, timeout=0.5, retry_handlers=retry_handlers()
    )
    report = run_due(
        store=store,
        poster=SlackTipPoster(impatient),
        catalog=catalog,
        settings=settings,
        now=utc(2024, 5, 15, 9),
    )
    assert report.unknown == [("T1", "C1")] and report.posted == []
    post = store.post_for("T1", "C1", date(2024, 5, 15))
    assert (post.status, post.error) == ("unknown", "timeout")
    run_due(
        store=store,
        poster=poster_for(settings),
        catalog=catalog,
        settings=settings,
        now=utc(2024, 5, 15, 10),
    )
    assert len(fake_slack.posts()) == 1
