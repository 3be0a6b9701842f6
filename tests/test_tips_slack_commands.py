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


def catalog(settings):
    from bot.tips.catalog import load_tips

    return load_tips(settings.knowledge_dir)


def run(store, settings, now):
    return run_due(
        store=store,
        poster=SlackTipPoster(make_client(settings)),
        catalog=catalog(settings),
        settings=settings,
        now=now,
    )


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
    # 06:00 UTC is 15:00 in Tokyo: today's 09:00 has passed, so the first tip is tomorrow's.
    assert reply["text"] == (
        "Daily tips are *on* for <#C1>: weekdays at 09:00 Asia/Tokyo. "
        "First tip: tomorrow at 09:00 Asia/Tokyo. Stop with `/advisor tips off`."
    )


def test_on_with_time_zone_and_daily_does_not_ask_slack_for_the_users(tips, store, fake_slack):
    reply = tips("tips on 7:45 America/Los_Angeles --daily")
    s = store.get_subscription("T1", "C1")
    assert (s.local_time, s.tz, s.days) == ("07:45", "America/Los_Angeles", "daily")
    assert fake_slack.calls_to("users.info") == []
    assert "every day" in reply["text"]


@pytest.mark.parametrize(
    "args, local_time, tz",
    [
        ("on 9am Paris", "09:00", "Europe/Paris"),
        ("on 9 am paris", "09:00", "Europe/Paris"),
        ("on 9 europe/paris", "09:00", "Europe/Paris"),
        ("on 9:30pm Tokyo", "21:30", "Asia/Tokyo"),
        ("on 21:30 New York", "21:30", "America/New_York"),
        ("on at 12pm in london", "12:00", "Europe/London"),
        ("on Bangalore 7", "07:00", "Asia/Kolkata"),
        ("on 12am UTC", "00:00", "UTC"),
    ],
)
def test_forgiving_times_and_zones(tips, store, args, local_time, tz):
    reply = tips(args)
    s = store.get_subscription("T1", "C1")
    assert (s.local_time, s.tz) == (local_time, tz), reply["text"]


@pytest.mark.parametrize(
    "args, expected",
    [
        ("on 9am PST", "abbreviations like 'PST'"),
        ("on 9am PST", "America/Los_Angeles"),
        ("on 9am cst", "America/Chicago (or Asia/Shanghai)"),
        ("on 9am Pariss", "did you mean Europe/Paris?"),
    ],
)
def test_abbreviations_and_near_misses_are_refused_with_a_suggestion(tips, store, args, expected):
    text = tips(args)["text"]
    assert expected in text and text.endswith("See `/advisor help`.")
    assert store.list_subscriptions() == []


def test_turning_tips_on_after_todays_time_starts_tomorrow_and_tells_the_channel(
    tips, store, settings, fake_slack
):
    evening = datetime(2024, 5, 15, 18, 37, tzinfo=UTC)  # 20:37 in Paris, a Wednesday
    reply = tips("on 8:30 Europe/Paris", user="U7", now=evening)
    assert "First tip: tomorrow at 08:30 Europe/Paris." in reply["text"]
    (notice,) = fake_slack.matching("chat.postMessage", channel="C1")
    assert notice.body["text"] == (  # one line, the time said once, no one pinged
        ":bulb: Daily tips are on here: weekdays at 08:30 Europe/Paris, the first one tomorrow. "
        "Stop: `/advisor tips off`."
    )
    assert "link_names" not in notice.body
    # The scheduler's next check that evening posts nothing; the next morning it does.
    assert run(store, settings, evening).posted == []
    assert store.post_for("T1", "C1", date(2024, 5, 15)).status == "skipped"
    assert "Next tip: tomorrow at 08:30 Europe/Paris." in tips("status", now=evening)["text"]
    morning = datetime(2024, 5, 16, 6, 31, tzinfo=UTC)
    assert len(run(store, settings, morning).posted) == 1
    tip = fake_slack.matching("chat.postMessage", channel="C1")[-1]
    footer = tip.body["blocks"][-1]
    assert footer["block_id"] == "tip_footer" and "/advisor tips off" in footer["elements"][0]["text"]


def test_turning_tips_on_before_todays_time_starts_today(tips, store):
    reply = tips("on 9am Paris")  # 06:00 UTC is 08:00 in Paris
    assert "First tip: today at 09:00 Europe/Paris." in reply["text"]
    assert store.post_for("T1", "C1", date(2024, 5, 15)) is None


def test_on_when_the_bot_is_not_in_the_channel_says_how_to_invite_it(tips, store, fake_slack):
    fake_slack.channels["C1"] = {"id": "C1", "is_member": False}
    reply = tips("on 09:00 Europe/Paris")
    assert "/invite @advisor" in reply["text"] and "<#C1>" in reply["text"]
    assert store.get_subscription("T1", "C1") is None
    fake_slack.fail("conversations.info", "channel_not_found")
    assert "/invite @advisor" in tips("on", channel="CPRIVATE")["text"]
    assert store.list_subscriptions() == []
    assert fake_slack.posts() == []  # no notice either


def test_off_and_status(tips, store):
    assert "is not subscribed" in tips("status")["text"]
    tips("on 08:00 UTC")
    status = tips("status")["text"]
    assert status == "Daily tips are *on* for <#C1>: weekdays at 08:00 UTC. Next tip: today at 08:00 UTC."
    assert tips("off")["text"].startswith("Daily tips are off for <#C1>.")
    assert tips("off")["text"] == "<#C1> was not subscribed to daily tips."
    assert "*off*" in tips("status")["text"]


def test_status_shows_a_pause_in_words_and_how_to_fix_it(tips, store, settings, fake_slack):
    early = datetime(2024, 5, 15, 4, 0, tzinfo=UTC)
    tips("on 05:00 UTC", now=early)
    fake_slack.fail("chat.postMessage", "not_in_channel")
    run(store, settings, NOW)
    status = tips("status")["text"]
    assert status == (
        "Daily tips for <#C1> are *paused*: the bot was removed from <#C1>; invite it back with "
        "`/invite @advisor`, then run `/advisor tips on` again."
    )
    assert store.post_for("T1", "C1", date(2024, 5, 15)).status == "failed"
    tips("on 05:00 UTC")  # after inviting the bot
    assert "within a minute" in tips("status")["text"]  # today's failed tip is still due


def test_status_after_todays_tip_names_the_next_weekday(tips, store, settings):
    friday = datetime(2024, 5, 17, 8, 0, tzinfo=UTC)
    tips("on 09:00 UTC", now=friday)
    run(store, settings, friday.replace(hour=10))
    assert "Next tip: on Mon 20 May at 09:00 UTC." in tips("status", now=friday.replace(hour=10))["text"]


@pytest.mark.parametrize(
    "args, expected",
    [
        ("on 25:00", "I can't read '25:00' as a time"),
        ("on Mars/Olympus", "I don't know the time zone 'Mars/Olympus'"),
        ("on <!channel>", "I don't know the time zone '&lt;!channel&gt;'"),
        ("of", "Did you mean `/advisor tips off`?"),
        ("stauts", "Did you mean `/advisor tips status`?"),
        ("onn 9am Paris", "Did you mean `/advisor tips on 9am Paris`?"),
        ("xyz", "I don't know `tips xyz`"),
    ],
)
def test_errors_are_one_line_with_a_pointer_to_help_unless_they_give_the_fix(tips, store, args, expected):
    text = tips(args)["text"]
    assert "<!channel>" not in text
    assert expected in text and "\n" not in text
    # an error that names the command to type gives the fix; the others point to help
    assert text.endswith("See `/advisor help`.") != ("`" in expected)
    assert store.list_subscriptions() == []


def test_help_for_no_action(tips):
    assert "/advisor tips on [TIME] [ZONE] [--daily]" in tips("")["text"]
    assert "/advisor tip`" in tips("help")["text"]


def test_typos_in_the_command_still_reach_tips():
    from bot.slack.listeners.commands.tips import tips_arguments

    assert tips_arguments("tips of") == "of"
    assert tips_arguments("tipps on 9am") == "on 9am"
    assert tips_arguments("Tips") == ""
    assert tips_arguments("tips for setting the sales quota?") is None
    assert tips_arguments("tips for new sales reps") is None
    assert tips_arguments("who owns pricing") is None


def test_unreadable_user_time_zone_falls_back_to_utc_and_says_so(tips, store, fake_slack):
    fake_slack.fail("users.info", "user_not_found")
    reply = tips("on")
    assert store.get_subscription("T1", "C1").tz == "UTC"
    assert "couldn't read your time zone" in reply["text"]


def test_tip_now_is_a_card_and_leaves_the_channel_order_alone(settings, store):
    reply = handle_tip_now(team_id="T1", channel_id="C1", user_id="U1", settings=settings, store=store)
    assert reply["text"].startswith("Tip: ")
    assert [b["block_id"] for b in reply["blocks"]] == ["tip_title", "tip_quote", "tip_source", "tip_footer"]
    assert reply["blocks"][1]["text"]["text"].startswith(">")
    assert store.tip_order("T1", "C1") is None
