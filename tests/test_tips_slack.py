"""Daily tips through the session's real HTTP server: a signed ``/advisor tips on`` subscribes the
channel, ``advisor tips list`` shows it, ``advisor tips run-due`` posts it at its time (the CLI
in-process, on the server's database), and the server's own scheduler thread posts what is due."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.helpers import invoke
from tests.slack_harness import (
    TEAM,
    command_form,
    unique_id,
)


@pytest.fixture(scope="module")
def store(bot_store):
    return bot_store


def cli(env: dict, *args: str):
    """``advisor tips ARGS`` in this process, with the bot's database and settings."""
    return invoke("tips", *args, env=env)


def slash(bot, fake, text: str, channel: str) -> dict:
    name = unique_id("cmd")
    assert bot.sender().command(command_form(text, fake.response_url(name), channel=channel)).status == 200
    return fake.reply_to(name)


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()  # Slack's shape: <#C...> mentions need it


def posts_to(fake, channel: str) -> list:
    """The tips posted in ``channel`` (not the notice that tips were turned on)."""
    return [
        c
        for c in fake.posts()
        if c.body.get("channel") == channel and c.body["text"].startswith("Tip of the day: ")
    ]


def tip_rows(store, channel: str) -> list:
    """The channel's post rows for tips (not a day skipped because tips were turned on late)."""
    return [p for p in store.posts(TEAM, channel) if p.status != "skipped"]


def test_slash_subscription_is_listed_and_posted_by_run_due_at_its_time(bot, fake, bot_environment, store):
    channel = new_channel()
    fake.users["U1"] = {"id": "U1", "tz": "Asia/Tokyo"}
    reply = slash(bot, fake, "tips on", channel)
    assert reply["text"].startswith(f"Daily tips are *on* for <#{channel}>: weekdays at 09:00 Asia/Tokyo.")
    listed = cli(bot_environment, "list", "--team", TEAM)
    assert listed.exit_code == 0, listed.output
    row = next(line.split() for line in listed.stdout.splitlines() if channel in line)
    assert row[:6] == [TEAM, channel, "09:00", "Asia/Tokyo", "weekdays", "on"]
    # 2024-05-14 23:00 UTC is Wednesday 08:00 in Tokyo: not yet; 00:00 UTC is 09:00: due.
    early = cli(bot_environment, "run-due", "--now", "2024-05-14T23:00:00Z")
    assert early.exit_code == 0, early.output
    assert store.post_for(TEAM, channel, date(2024, 5, 15)) is None
    due = cli(bot_environment, "run-due", "--now", "2024-05-15T00:00:00Z")
    assert due.exit_code == 0, due.output
    post = store.post_for(TEAM, channel, date(2024, 5, 15))
    assert post is not None and post.status == "sent" and post.message_ts
    texts = [c.body["text"] for c in posts_to(fake, channel)]
    assert any(t.startswith("Tip of the day: ") for t in texts)
    assert len(posts_to(fake, channel)) == len(tip_rows(store, channel))  # one post per row
    again = cli(bot_environment, "run-due", "--now", "2024-05-15T03:00:00Z")
    assert again.exit_code == 0
    assert store.post_for(TEAM, channel, date(2024, 5, 15)).message_ts == post.message_ts
    assert len(posts_to(fake, channel)) == len(tip_rows(store, channel))


def test_the_servers_scheduler_posts_a_due_tip_once(bot, fake, store):
    # Turned on with /advisor after today's time (00:00 UTC has always passed): tomorrow's first.
    waiting = new_channel()
    reply = slash(bot, fake, "tips on 00:00 UTC --daily", waiting)
    assert "First tip: tomorrow at 00:00 UTC." in reply["text"]
    # Subscribed earlier today by an operator (the store, as `advisor tips subscribe` does): due.
    channel = new_channel()
    store.subscribe(team=TEAM, channel=channel, local_time="00:00", tz="UTC", days="daily")
    fake.wait_for_call("chat.postMessage", timeout=15, channel=channel)
    # A channel subscribed now is posted by a later check, one that also saw these two.
    later = new_channel()
    store.subscribe(team=TEAM, channel=later, local_time="00:00", tz="UTC", days="daily")
    fake.wait_for_call("chat.postMessage", timeout=15, channel=later)
    assert len(posts_to(fake, channel)) == 1
    (post,) = store.posts(TEAM, channel)
    assert post.status == "sent"
    assert posts_to(fake, waiting) == []  # never the same evening
    assert [p.status for p in store.posts(TEAM, waiting)] == ["skipped"]
    status = slash(bot, fake, "tips status", channel)
    assert "Next tip:" in status["text"] and "within a minute" not in status["text"]
