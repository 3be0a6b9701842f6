"""The conversation over signed HTTP (the session's bot server against the fake Slack): quiet
threads, refusals with clickable questions and a vote, the agent surface (suggested prompts,
welcome, the "reading" status), Home's example questions, and daily tips turned on with
forgiving input and a notice in the channel.

Each test talks in its own channels and users. What must *not* be posted is checked after a
later message in the same conversation was answered (the bot handles a thread's messages as
they come); tests/test_slack_listeners.py checks the same in-process, where a call returns
when the listener is done.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.slack_harness import (
    TEAM,
    block_action,
    button_of,
    command_form,
    event_body,
    mention,
    message,
    message_ts,
    unique_id,
    vote_of,
)

QUOTA = "who should set next year's sales quota?"
WEATHER = "what will the weather be like in Paris tomorrow?"


def posts(fake, channel):
    return fake.matching("chat.postMessage", channel=channel)


@pytest.mark.parametrize("small_talk", ["thanks!", "ok", ":+1:", "got it, cool", "Thank you so much 🙏"])
def test_small_talk_in_a_followed_thread_gets_no_reply_but_a_question_does(fake, slack, channel, small_talk):
    top = mention(QUOTA, channel=channel, user="U1")
    slack.event(event_body(top))
    fake.wait_for_call("chat.postMessage", channel=channel)
    slack.event(event_body(message(small_talk, channel=channel, user="U1", thread_ts=top["ts"])))
    slack.event(
        event_body(message("and who generates leads?", channel=channel, user="U1", thread_ts=top["ts"]))
    )
    _, answer = fake.wait_for_call("chat.postMessage", 2, channel=channel)
    assert answer.body["blocks"][0]["block_id"] == "verdict"
    assert len(posts(fake, channel)) == 2  # the card and the question's answer, nothing for the small talk


def test_a_refusal_offers_clickable_questions_that_answer_and_takes_a_vote(fake, slack, bot_store, channel):
    top = mention(WEATHER, channel=channel)
    slack.event(event_body(top))
    (refusal,) = fake.wait_for_call("chat.postMessage", channel=channel)
    assert "doesn't cover that" in refusal.body["blocks"][0]["text"]["text"]
    rows = [b for b in refusal.body["blocks"] if str(b.get("block_id")).startswith("suggestion_")]
    questions = [r["text"]["text"] for r in rows]
    assert len(questions) >= 2 and all(q.endswith("?") for q in questions)

    click = unique_id("ask")
    first = button_of(refusal.body["blocks"], "ask_suggestion_0")
    slack.interaction(
        block_action(first, response_url=fake.response_url(click), channel=channel, thread_ts=top["ts"])
    )
    (answer,) = fake.wait_for_call("response_url", path=f"/response_url/{click}")
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body["blocks"][1]["block_id"] == "verdict"  # the suggested question, answered
    assert questions[0] in answer.body["blocks"][0]["elements"][0]["text"]  # first: it was not typed here
    assert "share_answer" in json.dumps(answer.body["blocks"])

    vote = unique_id("vote")
    card_ts = message_ts()
    slack.interaction(
        block_action(
            vote_of(refusal.body["blocks"], helpful=False),
            response_url=fake.response_url(vote),
            channel=channel,
            message_ts=card_ts,
            thread_ts=top["ts"],
        )
    )
    note = fake.reply_to(vote)  # told to the voter only, with a next step
    assert note["response_type"] == "ephemeral" and "open_ask_modal" in json.dumps(note["blocks"])
    assert fake.matching("chat.update", channel=channel) == []
    (recorded,) = bot_store.feedback_for(TEAM, channel, card_ts)
    assert recorded.helpful is False and recorded.question == WEATHER and recorded.passage_id is None
    assert len(posts(fake, channel)) == 1


def test_the_messages_tab_gets_suggested_prompts_and_a_first_time_welcome(fake, slack):
    user, dm = unique_id("U"), unique_id("D")
    opened = {"type": "app_home_opened", "user": user, "channel": dm, "tab": "messages"}
    assert slack.event(event_body(opened)).status == 200
    (prompts,) = fake.wait_for_call("assistant.threads.setSuggestedPrompts", channel_id=dm)
    assert len(prompts.body["prompts"]) >= 3
    assert all(p["title"] and p["message"].endswith("?") for p in prompts.body["prompts"])
    assert "thread_ts" not in prompts.body  # the agent view's prompts belong to the conversation
    (welcome,) = fake.wait_for_call("chat.postMessage", channel=dm)
    assert welcome.body["text"].startswith("Hi! Ask me who should own a piece of work")

    # Opening it again: the prompts again, no second welcome (the conversation is not empty now).
    fake.answers["conversations.history"] = lambda body: {
        "ok": True,
        "messages": [{"ts": "1.0", "text": "Hi!"}] if body.get("channel") == dm else [],
    }
    try:
        slack.event(event_body(opened))
        fake.wait_for_call("assistant.threads.setSuggestedPrompts", 2, channel_id=dm)
        fake.wait_for_call("conversations.history", 2, channel=dm)
    finally:
        fake.answers.pop("conversations.history", None)
    slack.event(event_body(message(QUOTA, channel=dm, channel_type="im", user=user)))
    _, answer = fake.wait_for_call("chat.postMessage", 2, channel=dm)
    assert answer.body["blocks"][0]["block_id"] == "verdict"  # the answer, not a second welcome


def test_a_direct_message_shows_the_reading_status_until_the_answer(fake, slack):
    dm = unique_id("D")
    question = message(QUOTA, channel=dm, channel_type="im")
    slack.event(event_body(question))
    shown, cleared = fake.wait_for_call("assistant.threads.setStatus", 2, channel_id=dm)
    assert shown.body["status"] == "is reading the article..." and shown.body["thread_ts"] == question["ts"]
    assert shown.body["loading_messages"]
    assert cleared.body["status"] == ""
    (answer,) = fake.matching("chat.postMessage", channel=dm)
    assert shown.at <= answer.at <= cleared.at


def test_home_example_questions_are_buttons_answered_in_the_dm(fake, slack):
    user = unique_id("U")
    home = {"type": "app_home_opened", "user": user, "channel": unique_id("D"), "tab": "home"}
    slack.event(event_body(home))
    (publish,) = fake.wait_for_call("views.publish", user_id=user)
    blocks = publish.body["view"]["blocks"]
    assert blocks[2]["elements"][0]["action_id"] == "open_ask_modal"  # the ask button, under the title
    example = button_of(blocks, "ask_suggestion_0")
    click = block_action(example, response_url=fake.response_url(unique_id("h")), user=user)
    click["container"] = {"type": "view", "view_id": "V1"}
    click.pop("channel"), click.pop("message")
    slack.interaction(click)
    (answer,) = fake.wait_for_call("chat.postMessage", channel=user)
    assert answer.body["blocks"][1]["block_id"] == "verdict"
    assert json.loads(example["value"])["q"] in json.dumps(answer.body["blocks"])


def test_tips_on_9am_paris_subscribes_nine_in_europe_paris(fake, slack, bot_store, channel):
    name = unique_id("cmd")
    slack.command(command_form("tips on 9am Paris", fake.response_url(name), channel=channel))
    (reply,) = fake.wait_for_call("response_url", path=f"/response_url/{name}")
    subscription = bot_store.get_subscription(TEAM, channel)
    assert (subscription.local_time, subscription.tz) == ("09:00", "Europe/Paris")
    assert "weekdays at 09:00 Europe/Paris" in reply.body["text"]


def test_tips_on_after_todays_time_starts_tomorrow_and_the_channel_is_told(fake, slack, bot_store, channel):
    # A zone where it is at least 01:00 now, and a time an hour ago there: today's has passed.
    zone = next(
        z for z in ("Europe/Paris", "Asia/Tokyo", "America/New_York") if datetime.now(ZoneInfo(z)).hour >= 1
    )
    earlier = (datetime.now(ZoneInfo(zone)) - timedelta(hours=1)).strftime("%H:%M")
    name = unique_id("cmd")
    form = command_form(f"tips on {earlier} {zone.lower()} --daily", fake.response_url(name), channel=channel)
    form["user_id"] = "U42"
    slack.command(form)
    (reply,) = fake.wait_for_call("response_url", path=f"/response_url/{name}")
    assert f"First tip: tomorrow at {earlier} {zone}." in reply.body["text"]
    (notice,) = fake.wait_for_call("chat.postMessage", channel=channel)
    assert notice.body["text"].startswith(":bulb: Daily tips are on here") and "<@" not in notice.body["text"]
    assert "/advisor tips off" in notice.body["text"]
    today = datetime.now(ZoneInfo(zone)).date()
    assert bot_store.post_for(TEAM, channel, today).status == "skipped"  # no post this evening


def test_a_mistyped_tips_command_gets_a_did_you_mean(fake, slack, channel):
    name = unique_id("cmd")
    slack.command(command_form("tipps of", fake.response_url(name), channel=channel))
    (reply,) = fake.wait_for_call("response_url", path=f"/response_url/{name}")
    assert reply.body["text"] == "Did you mean `/advisor tips off`?"  # the fix itself: no pointer to help
