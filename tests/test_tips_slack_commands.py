"""``/advisor tips on|off|status`` and ``/advisor tip`` handlers against the fake Slack."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.slack.client import make_client
from bot.slack.listeners.commands.tips import handle_tip_now, handle_tips_command
from bot.slack.tips import SlackTipPoster
from bot.tips.scheduler import run_due

NOW = datetime(2024, 5, 15, 6, 0, tzinfo=UTC)  # Wednesday


@pytest.fixture
def tips(settings, store):
    client = make_client(settings)

    def tips(args: str, *, channel: str = "C1", user: str = "U1", now: datetime = NOW) -> dict:
        reply = handle_tips_command(
            args,
            team_id="T1",
            channel_id=channel,
            user_id=user,
            client=client,
            store=store,
            settings=settings,
            now=now,
        )
        assert set(reply) == {"text", "blocks"}
        assert reply["blocks"][0]["text"]["text"] == reply["text"]
        return reply

    return tips


def test_on_defaults_to_nine_in_the_users_slack_time_zone_on_weekdays(tips, store, fake_slack):
    fake_slack.users["U1"] = {"id": "U1", "tz": "Asia/Tokyo"}
    reply = tips("on")
    s = store.get_subscription("T1", "C1")
    assert (s.local_time, s.tz, s.days, s.created_by, s.active) == (
        "09:00",
        "Asia/Tokyo",
        "weekdays",
        "U1",
        True,
    )
    assert [c.body["user"] for c in fake_slack.calls_to("users.info")] == ["U1"]
    assert reply["text"].startswith("Daily tips are *on* for <#C1>: 09:00 Asia/Tokyo, weekdays.")
    # 06:00 UTC is 15:00 in Tokyo: today's 09:00 tip is already due (posted on the next check).
    assert "Next tip: within a minute." in reply["text"]
    assert "/advisor tips off" in reply["text"]


def test_on_with_time_zone_and_daily_does_not_ask_slack_for_the_users(tips, store, fake_slack):
    reply = tips("tips on 7:45 America/Los_Angeles --daily")
    s = store.get_subscription("T1", "C1")
    assert (s.local_time, s.tz, s.days) == ("07:45", "America/Los_Angeles", "daily")
    assert fake_slack.calls_to("users.info") == []
    assert "every day" in reply["text"]


def test_on_when_the_bot_is_not_in_the_channel_says_how_to_invite_it(tips, store, fake_slack):
    fake_slack.channels["C1"] = {"id": "C1", "is_member": False}
    reply = tips("on 09:00 Europe/Paris")
    assert "/invite @advisor" in reply["text"] and "<#C1>" in reply["text"]
    assert store.get_subscription("T1", "C1") is None
    fake_slack.fail("conversations.info", "channel_not_found")
    assert "/invite @advisor" in tips("on", channel="CPRIVATE")["text"]
    assert store.list_subscriptions() == []


def test_off_and_status(tips, store):
    assert "is not subscribed" in tips("status")["text"]
    tips("on 08:00 UTC")
    status = tips("status")["text"]
    assert status.startswith("Daily tips are *on* for <#C1>: 08:00 UTC, weekdays.")
    assert "Next tip: Wed 15 May, 08:00 (UTC)" in status
    assert tips("off")["text"] == "Daily tips are off for <#C1>."
    assert tips("off")["text"] == "<#C1> was not subscribed to daily tips."
    assert "*off*" in tips("status")["text"]


def test_status_shows_a_pause_and_how_to_fix_it(tips, store, settings, fake_slack):
    from bot.tips.catalog import load_tips

    tips("on 05:00 UTC")
    fake_slack.fail("chat.postMessage", "not_in_channel")
    run_due(
        store=store,
        poster=SlackTipPoster(make_client(settings)),
        catalog=load_tips(settings.knowledge_dir),
        settings=settings,
        now=NOW,
    )
    status = tips("status")["text"]
    assert "*paused*" in status and "`not_in_channel`" in status and "/invite @advisor" in status
    assert store.post_for("T1", "C1", date(2024, 5, 15)).status == "failed"
    tips("on 05:00 UTC")  # after inviting the bot
    assert "within a minute" in tips("status")["text"]  # today's tip is still due


def test_status_after_todays_tip_names_the_next_weekday(tips, store, settings):
    from bot.tips.catalog import load_tips

    friday = datetime(2024, 5, 17, 10, 0, tzinfo=UTC)
    tips("on 09:00 UTC", now=friday)
    run_due(
        store=store,
        poster=SlackTipPoster(make_client(settings)),
        catalog=load_tips(settings.knowledge_dir),
        settings=settings,
        now=friday,
    )
    assert "Next tip: Mon 20 May, 09:00 (UTC)" in tips("status", now=friday)["text"]


@pytest.mark.parametrize(
    "args, expected",
    [
        ("on 25:00", "invalid time '25:00'"),
        ("on Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("on <!channel>", "I don&#x27;t understand '&lt;!channel&gt;'"),
    ],
)
def test_bad_arguments_are_explained_and_escaped(tips, store, args, expected):
    text = tips(args)["text"]
    assert "<!channel>" not in text
    assert "/advisor tips on [HH:MM]" in text
    assert store.list_subscriptions() == []
    assert expected.replace("&#x27;", "'") in text


def test_help_for_no_or_unknown_action(tips):
    assert "/advisor tips on [HH:MM] [Area/City] [--daily]" in tips("")["text"]
    assert "/advisor tip`" in tips("help")["text"]


def test_unreadable_user_time_zone_falls_back_to_utc_and_says_so(tips, store, fake_slack):
    fake_slack.fail("users.info", "user_not_found")
    reply = tips("on")
    assert store.get_subscription("T1", "C1").tz == "UTC"
    assert "couldn't read your time zone" in reply["text"]


def test_tip_now_is_a_card_and_leaves_the_channel_order_alone(settings, store):
    reply = handle_tip_now(team_id="T1", channel_id="C1", user_id="U1", settings=settings, store=store)
    assert reply["text"].startswith("Tip: ")
    assert [b["type"] for b in reply["blocks"]] == ["section", "section", "context"]
    assert reply["blocks"][1]["text"]["text"].startswith(">")
    assert store.tip_order("T1", "C1") is None
