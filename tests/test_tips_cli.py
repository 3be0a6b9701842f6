"""``advisor tips ...`` end to end: the click group in-process, and real processes racing."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from bot.cli.tips import tips
from bot.config import Settings
from bot.storage import open_store
from bot.storage.models import Subscription
from tests.helpers import clean_env

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(settings, database_url):
    return settings.with_overrides(database_url_env=database_url)


@pytest.fixture
def cli(settings):
    runner = CliRunner()

    def cli(*args: str, ok: bool = True):
        result = runner.invoke(tips, list(args), obj=settings, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return cli


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=settings.database_url,
        SLACK_API_URL=settings.slack_api_url,
        SLACK_BOT_TOKEN="xoxb-test",
        ADVISOR_TIPS_PACE_SECONDS="0",
        ADVISOR_DATA_DIR=str(settings.data_dir),
        **extra,
    )


# Subscribed early on the morning the tests' run-due posts (tips turned on after the day's time
# would start the next day).
EARLY = ("--now", "2024-05-15T06:00:00Z")


def advisor(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def test_subscribe_list_preview_unsubscribe(cli, settings):
    at = ("--now", "2024-05-18T05:00:00Z")  # before either time: no day is skipped
    out = cli("subscribe", "--team", "T1", "--channel", "C1", "--time", "9:30", "--tz", "Asia/Tokyo", *at)
    assert out.output.strip() == "subscribed T1/C1: 09:30 Asia/Tokyo, weekdays"
    cli("subscribe", "--team", "T1", "--channel", "C2", "--tz", "Europe/Paris", "--daily", *at)
    listing = cli("list").output.splitlines()
    assert listing[0].split() == ["TEAM", "CHANNEL", "TIME", "TZ", "DAYS", "STATE", "LAST", "POST"]
    assert listing[1].split() == ["T1", "C1", "09:30", "Asia/Tokyo", "weekdays", "on", "-"]
    assert listing[2].split() == ["T1", "C2", "09:00", "Europe/Paris", "daily", "on", "-"]
    preview = cli("preview", "--now", "2024-05-18T12:00:00+00:00").output  # a Saturday
    assert "T1/C1  2024-05-20 09:30 Asia/Tokyo  [" in preview  # weekdays: Monday
    assert "T1/C2  2024-05-18 14:00 Europe/Paris  [" in preview  # daily: due now (14:00 local)
    assert preview.count("\u201c") == 2
    assert cli("unsubscribe", "--team", "T1", "--channel", "C1").output.strip() == "unsubscribed T1/C1"
    assert "off" in cli("list").output.splitlines()[1].split()
    again = cli("unsubscribe", "--team", "T1", "--channel", "C1", ok=False)
    assert again.exit_code == 1 and "is not subscribed" in again.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--time", "25:00", "--tz", "Europe/Paris"], "invalid time '25:00'"),
        (["--time", "09:00", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_subscribe_rejects_bad_times_in_one_line(cli, args, message):
    result = cli("subscribe", "--team", "T1", "--channel", "C1", *args, ok=False)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {message}: " + result.output.split(": ", 2)[2].strip()
    ]
    assert message in result.output


def test_tips_subscribed_after_todays_time_start_tomorrow(cli, fake_slack, settings):
    """The start rule the slash command keeps (bot.tips.subscriptions), from the CLI: subscribed
    at 20:59 for 09:00, no tip that evening (the server's scheduler would have posted it at
    once), the first one the next morning; subscribed before the time, today's comes."""
    late = cli(
        "subscribe",
        "--team",
        "T1",
        "--channel",
        "CLATE",
        "--time",
        "09:00",
        "--tz",
        "UTC",
        "--now",
        "2024-05-15T20:59:00Z",
    )
    assert late.output.strip() == "subscribed T1/CLATE: 09:00 UTC, weekdays"
    cli(
        "subscribe",
        "--team",
        "T1",
        "--channel",
        "CEARLY",
        "--time",
        "21:30",
        "--tz",
        "UTC",
        "--now",
        "2024-05-15T20:59:00Z",
    )
    assert cli("run-due", "--now", "2024-05-15T21:30:00Z").output.strip() == "posted 1 tip(s)"
    assert [c.body["channel"] for c in fake_slack.posts()] == ["CEARLY"]
    store = open_store(settings.database_url)
    try:
        assert store.post_for("T1", "CLATE", date(2024, 5, 15)).status == "skipped"
    finally:
        store.close()
    assert "T1/CLATE  2024-05-16 09:00 UTC  [" in cli("preview", "--now", "2024-05-15T21:31:00Z").output
    assert cli("run-due", "--now", "2024-05-16T09:00:00Z").output.strip() == "posted 1 tip(s)"
    assert [c.body["channel"] for c in fake_slack.posts()] == ["CEARLY", "CLATE"]


@pytest.mark.parametrize(
    "time, tz, expected",
    [
        ("9am", "paris", "09:00 Europe/Paris"),
        ("9:30pm", "New York", "21:30 America/New_York"),
        ("21.30", "europe/paris", "21:30 Europe/Paris"),
        ("12am", "utc", "00:00 UTC"),
    ],
)
def test_subscribe_reads_times_and_zones_as_the_slash_command_does(cli, time, tz, expected):
    out = cli("subscribe", "--team", "T1", "--channel", "C1", "--time", time, "--tz", tz, *EARLY)
    assert out.output.strip() == f"subscribed T1/C1: {expected}, weekdays"


@pytest.mark.parametrize(
    "args, line",
    [
        (["--tz", "PST"], "Error: ambiguous time zone 'PST' (abbreviations "),
        (
            ["--tz", "Pariss"],
            "Error: unknown time zone 'Pariss': use a city or Area/City (did you mean Europe/Paris?)",
        ),
        (["--time", "noon", "--tz", "UTC"], "Error: invalid time 'noon': try 9, 9am, 9:30pm or 21:30"),
    ],
)
def test_subscribe_refuses_what_the_slash_command_refuses_in_one_line(cli, args, line):
    result = cli("subscribe", "--team", "T1", "--channel", "C1", *args, ok=False)
    assert result.exit_code == 1
    (only,) = result.output.strip().splitlines()
    assert only.startswith(line)


def test_a_subscription_that_cannot_be_scheduled_is_shown_and_skipped(cli, fake_slack, settings):
    cli("subscribe", "--team", "T1", "--channel", "C1", "--tz", "UTC", *EARLY)
    cli("subscribe", "--team", "T1", "--channel", "C2", "--tz", "UTC", *EARLY)
    store = open_store(settings.database_url)
    s = Subscription.__table__
    with store.engine.begin() as conn:  # written by hand, or before subscribe validated
        conn.execute(update(s).where(s.c.channel == "C1").values(tz="Mars/Olympus"))
    store.close()
    preview = cli("preview", "--now", "2024-05-15T09:30:00Z").output
    assert "T1/C1  cannot be scheduled ('09:00' 'Mars/Olympus')" in preview
    assert "T1/C2  2024-05-15 09:30 UTC  [" in preview
    out = cli("run-due", "--now", "2024-05-15T09:30:00Z").output
    assert out.strip() == "posted 1 tip(s), 1 skipped (see the log)"
    assert [c.body["channel"] for c in fake_slack.posts()] == ["C2"]


def test_run_due_posts_due_tips_once_and_list_shows_them(cli, fake_slack, settings):
    cli("subscribe", "--team", "T1", "--channel", "C1", "--time", "09:00", "--tz", "UTC", *EARLY)
    cli("subscribe", "--team", "T1", "--channel", "C2", "--time", "10:00", "--tz", "UTC", *EARLY)
    out = cli("run-due", "--now", "2024-05-15T09:30:00Z").output
    assert out.strip() == "posted 1 tip(s)"
    assert [c.body["channel"] for c in fake_slack.posts()] == ["C1"]
    assert cli("run-due", "--now", "2024-05-15T09:31:00Z").output.strip() == "posted 0 tip(s)"
    assert "2024-05-15 sent" in cli("list").output
    bad = cli("run-due", "--now", "yesterday", ok=False)
    assert bad.exit_code == 1 and "invalid time 'yesterday'" in bad.output


def test_run_due_without_a_token_says_what_is_missing(settings):
    runner = CliRunner()
    result = runner.invoke(tips, ["run-due"], obj=settings.with_overrides(slack_bot_token=None))
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == "Error: missing required setting(s): SLACK_BOT_TOKEN (set in the environment)"
    )


def test_paused_reason_is_listed(cli, fake_slack):
    cli("subscribe", "--team", "T1", "--channel", "C1", "--tz", "UTC", *EARLY)
    fake_slack.fail("chat.postMessage", "not_in_channel")
    assert "paused 1 channel(s)" in cli("run-due", "--now", "2024-05-15T09:30:00Z").output
    assert "paused (not_in_channel)" in cli("list").output


def test_three_run_due_processes_at_once_post_once_per_channel(settings, fake_slack):
    store = open_store(settings.database_url)
    channels = [(team, f"C{team[-1]}{i}") for team in ("T1", "T2") for i in range(6)]
    for team, channel in channels:
        store.subscribe(team=team, channel=channel, local_time="09:00", tz="Europe/Paris")
    # Each post takes 0.5 s at Slack, so one process alone would need 6 s for the twelve:
    # the others start well within that and must race it for the remaining channels.
    fake_slack.delay("chat.postMessage", 0.5, times=len(channels))
    env = process_env(settings)
    now = "2024-05-15T07:30:00+00:00"  # 09:30 in Paris, a Wednesday
    procs = [
        subprocess.Popen(
            advisor("tips", "run-due", "--now", now),
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    posted = [c.body["channel"] for c in fake_slack.posts()]
    assert sorted(posted) == sorted(channel for _, channel in channels)
    per_process = [int(out.split()[1]) for out, _ in outputs]
    assert sum(per_process) == len(channels)
    assert sum(n > 0 for n in per_process) >= 2, f"no race: posts per process {per_process}"
    rows = store.posts()
    assert len(rows) == len(channels) and {r.status for r in rows} == {"sent"}
    assert {r.local_date for r in rows} == {date(2024, 5, 15)}
    # Rerunning them, together, later that day posts nothing more.
    procs = [
        subprocess.Popen(advisor("tips", "run-due", "--now", "2024-05-15T15:00:00+00:00"), env=env, cwd=REPO)
        for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert len(fake_slack.posts()) == len(channels)
    store.close()


def test_death_between_slacks_reply_and_the_commit_never_double_posts(settings, fake_slack):
    """The documented choice: at most once. The claimed row stays; no later pass posts that day."""
    store = open_store(settings.database_url)
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    fake_slack.delay("chat.postMessage", 3)  # Slack has the message; its reply is slow
    env = process_env(settings)
    proc = subprocess.Popen(
        advisor("tips", "run-due", "--now", "2024-05-15T09:00:00Z"),
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        fake_slack.wait_for("chat.postMessage", 1, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    post = store.post_for("T1", "C1", date(2024, 5, 15))
    assert (post.status, post.message_ts) == ("claimed", None)
    rerun = subprocess.run(
        advisor("tips", "run-due", "--now", "2024-05-15T09:05:00Z"),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0 and rerun.stdout.strip() == "posted 0 tip(s)"
    assert len(fake_slack.posts()) == 1
    listing = subprocess.run(advisor("tips", "list"), env=env, cwd=REPO, capture_output=True, text=True)
    assert "2024-05-15 claimed" in listing.stdout
    # The next day is unaffected.
    subprocess.run(advisor("tips", "run-due", "--now", "2024-05-16T09:00:00Z"), env=env, cwd=REPO, check=True)
    assert len(fake_slack.posts()) == 2
    store.close()


def test_worker_posts_as_tips_fall_due_and_stops_on_sigterm(settings, fake_slack):
    store = open_store(settings.database_url)
    store.subscribe(team="T1", channel="C1", local_time="00:00", tz="UTC", days="daily")
    proc = subprocess.Popen(
        advisor("tips", "worker"),
        env=process_env(settings, ADVISOR_TIPS_CHECK_SECONDS="0.2"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake_slack.wait_for("chat.postMessage", 1, timeout=60)
        # A channel subscribed now is posted by a later check, one that also saw C1 as sent.
        store.subscribe(team="T1", channel="C2", local_time="00:00", tz="UTC", days="daily")
        fake_slack.wait_for("chat.postMessage", 2, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        store.close()
    assert proc.returncode == 0, err
    assert out.strip() == "tips worker stopped"
    assert "SIGTERM, stopping" in err
    assert "xoxb-test" not in err
    assert [c.body["channel"] for c in fake_slack.posts()] == ["C1", "C2"]
