"""The bot's real HTTP server (``python -m bot serve --http``) against the fake Slack.

One server process and one fake Slack for the session (``bot`` and ``fake`` in conftest).
Each test talks in its own channels (and scopes any error it asks the fake for to them), so
what reached the fake Slack can be told apart and a listener still running from an earlier
test cannot take a test's error. Requests are signed the way Slack signs them.

No test sleeps to let the bot finish: a test waits for the exact calls it expects (or rows).
What the bot must *not* answer, and what it logs when Slack fails, is tested on the listener
classes in-process (tests/test_slack_listeners.py), where a listener call returns when it is done.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from bot.config import Settings
from bot.knowledge import load_knowledge
from tests import fake_slack
from tests.slack_harness import (
    BOT_USER,
    TEAM,
    all_texts,
    assert_inert,
    block_action,
    button_of,
    command_form,
    event_body,
    mention,
    message,
    message_ts,
    source_text,
    unique_id,
    vote_of,
)

INJECTION = "who pays for <!channel> <!here> <!subteam^S1> <@U1> <https://evil|x> & ads?"
QUOTA = "who should set next year's sales quota?"
EFFICIENCY = "Which is more important between efficiency and stability?"


# --- helpers (the slack sender, bot_store and channel fixtures are in conftest.py) -----------


def matching(fake, method, *, path=None, **where):
    return fake.matching(method, path=path, **where)


def wait_calls(fake, method, count=1, timeout=10.0, **where):
    return fake.wait_for_call(method, count, timeout, **where)


def wait_until(condition, timeout=10.0, what="condition"):
    return fake_slack.wait_until(condition, timeout=timeout, what=what)


def section_text(article_heading: str) -> str:
    knowledge = load_knowledge(Settings().knowledge_dir)
    section = next(s for s in knowledge.sections() if s.heading == article_heading)
    return " ".join([section.takeaway, *(p.text for p in section.paragraphs)])


# --- answering ---------------------------------------------------------------------------------


def test_mention_is_answered_in_thread_quoting_the_section(fake, slack, channel):
    # (That the acknowledgement does not wait for the answer: tests/test_slack_queue.py, with
    # every post held back. No time limit here: a loaded machine is slow, not wrong.)
    event = mention(QUOTA, channel=channel)
    reply = slack.event(event_body(event))
    assert reply.status == 200
    (post,) = wait_calls(fake, "chat.postMessage", channel=channel)
    body = post.body
    assert body["thread_ts"] == event["ts"]
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert_inert(body)
    verdict, passage, source, actions, vote = body["blocks"]
    assert verdict["text"]["text"] == "*Marketing* owns this, per the article:"
    quoted = " ".join(line[1:] for line in passage["text"]["text"].split("\n")).replace("&amp;", "&")
    assert quoted and quoted in section_text(EFFICIENCY)
    assert source["elements"][0]["text"] == (
        f'From *"Sales" and "market" who is more important?* · section *{EFFICIENCY}* · '
        "<https://www.globalsources.com/knowledge/sales-and-market-who-is-more-important/|globalsources.com>"
    )
    assert "quota" not in json.dumps(source)  # the question is right above: no echo
    assert [e["action_id"] for e in actions["elements"]] == ["more_passages"]
    assert vote["type"] == "context_actions" and vote["elements"][0]["type"] == "feedback_buttons"
    assert body["text"].startswith("Marketing. “")


def test_direct_message_is_answered_in_its_thread(fake, slack):
    dm = unique_id("D")
    question = message(QUOTA, channel=dm, channel_type="im")
    assert slack.event(event_body(question)).status == 200
    (post,) = wait_calls(fake, "chat.postMessage", channel=dm)
    assert post.body["thread_ts"] == question["ts"]  # the agent view's conversation
    assert EFFICIENCY in source_text(post.body["blocks"])


def test_bare_mention_gets_help(fake, slack, channel):
    slack.event(event_body({**mention("", channel=channel), "text": f"<@{BOT_USER}>"}))
    (post,) = wait_calls(fake, "chat.postMessage", channel=channel)
    assert "/advisor QUESTION" in json.dumps(post.body["blocks"]) and "open_ask_modal" in json.dumps(
        post.body
    )


def test_a_follow_up_sent_while_the_answer_is_being_posted_is_answered(fake, slack, bot_store, channel):
    fake.delay("chat.postMessage", 1.0, channel=channel)  # Slack has the answer; its reply is slow
    top = mention(QUOTA, channel=channel, user="U1")
    slack.event(event_body(top))
    wait_calls(fake, "chat.postMessage", channel=channel)  # the bot is still waiting for Slack
    assert bot_store.thread_asker(TEAM, channel, top["ts"]) == "U1"
    slack.event(
        event_body(message("and who generates leads?", channel=channel, user="U1", thread_ts=top["ts"]))
    )
    _, follow_up = wait_calls(fake, "chat.postMessage", 2, channel=channel)
    assert follow_up.body["thread_ts"] == top["ts"]


def test_follow_ups_in_a_private_channel(fake, slack):
    group = unique_id("G")
    top = mention(QUOTA, channel=group, user="U1")
    slack.event(event_body(top))
    wait_calls(fake, "chat.postMessage", channel=group)
    follow = message(
        "and who generates leads?", channel=group, channel_type="group", user="U1", thread_ts=top["ts"]
    )
    slack.event(event_body(follow))
    _, follow_up = wait_calls(fake, "chat.postMessage", 2, channel=group)
    assert follow_up.body["thread_ts"] == top["ts"]


def test_bots_own_messages_and_subtypes_get_200(slack):
    """Each gets a 200 (the in-process listener tests show none is answered)."""
    dm = unique_id("D")
    for event in [
        message(QUOTA, channel=dm, channel_type="im", user=BOT_USER),  # Bolt drops it before any listener
        message(QUOTA, channel=dm, channel_type="im", bot_id="BOTHER", subtype="bot_message"),
        message(QUOTA, channel=dm, channel_type="im", bot_id="BOTHER"),
        message(QUOTA, channel=dm, channel_type="im", subtype="message_changed"),
        message(QUOTA, channel=dm, channel_type="im", subtype="message_deleted"),
        message(QUOTA, channel=dm, channel_type="im", subtype="channel_join"),
        {**mention(QUOTA, channel=dm), "bot_id": "BOTHER"},
    ]:
        assert slack.event(event_body(event)).status == 200


# --- /advisor -------------------------------------------------------------------------------------


def test_slash_command_acks_empty_and_answers_privately_on_response_url(fake, slack, channel):
    name = unique_id("cmd")
    reply = slack.command(command_form(QUOTA, fake.response_url(name), channel=channel))
    assert reply.status == 200 and reply.body == ""
    (answer,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    body = answer.body
    assert body["response_type"] == "ephemeral"
    assert EFFICIENCY in source_text(body["blocks"])
    assert "who should set next year" in body["blocks"][0]["elements"][0]["text"]  # first: away from it
    share = button_of(body["blocks"], "share_answer")

    # "Share in channel" posts the same card publicly and removes the private copy.
    click = unique_id("share")
    slack.interaction(
        block_action(share, response_url=fake.response_url(click), channel=channel, ephemeral=True)
    )
    (public,) = wait_calls(fake, "chat.postMessage", channel=channel)
    assert public.body["blocks"][1] == body["blocks"][1]
    assert any("Shared by <@U1>" in t for t in all_texts(public.body))
    assert "share_answer" not in json.dumps(public.body["blocks"])
    (deleted,) = wait_calls(fake, "response_url", path=f"/response_url/{click}")
    assert deleted.body.get("delete_original") is True


def test_share_works_in_a_channel_the_bot_is_not_in(fake, slack, channel):
    name = unique_id("cmd")
    slack.command(command_form(QUOTA, fake.response_url(name), channel=channel))
    (answer,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    fake.fail("chat.postMessage", "not_in_channel", channel=channel)
    click = unique_id("share")
    share = button_of(answer.body["blocks"], "share_answer")
    slack.interaction(
        block_action(share, response_url=fake.response_url(click), channel=channel, ephemeral=True)
    )
    public, deleted = wait_calls(fake, "response_url", 2, path=f"/response_url/{click}")
    assert public.body["response_type"] == "in_channel"
    assert public.body["blocks"][1] == answer.body["blocks"][1]
    assert deleted.body.get("delete_original") is True


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
def test_slash_help_answers_in_the_ack(fake, slack, text):
    name = unique_id("cmd")
    reply = slack.command(command_form(text, fake.response_url(name)))
    assert reply.status == 200
    payload = json.loads(reply.body)
    assert payload["response_type"] == "ephemeral"
    ways = payload["blocks"][-1]["elements"][0]["text"]
    assert "/advisor QUESTION" in ways and "/advisor tips on" in ways
    assert [b for b in payload["blocks"] if "accessory" in b]  # example questions to click


def test_slash_tips_routes_to_daily_tips(fake, slack, channel):
    name = unique_id("cmd")
    slack.command(command_form("tips status", fake.response_url(name), channel=channel))
    (status,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    assert "not subscribed to daily tips" in status.body["text"]
    name = unique_id("cmd")
    slack.command(command_form("tip", fake.response_url(name), channel=channel))
    (tip,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    assert tip.body["response_type"] == "ephemeral" and tip.body["text"]


def test_slash_question_starting_with_tips_is_a_question(fake, slack, channel):
    name = unique_id("cmd")
    slack.command(
        command_form(
            "tips for who should set next year's sales quota?", fake.response_url(name), channel=channel
        )
    )
    (answer,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    assert answer.body["blocks"][1]["block_id"] == "verdict"  # after the question: a private card
    assert EFFICIENCY in source_text(answer.body["blocks"])


# --- buttons ----------------------------------------------------------------------------------------


def test_more_passages_answer_the_clicker_privately_with_a_share(fake, slack, channel):
    top = mention(QUOTA, channel=channel)
    slack.event(event_body(top))
    (card,) = wait_calls(fake, "chat.postMessage", channel=channel)
    more = button_of(card.body["blocks"], "more_passages")
    pages = []
    for user in ("U1", "U2", "U2"):  # three clicks by two people: three private pages, no post
        click = unique_id("more")
        slack.interaction(
            block_action(
                more, response_url=fake.response_url(click), channel=channel, user=user, thread_ts=top["ts"]
            )
        )
        (page,) = wait_calls(fake, "response_url", path=f"/response_url/{click}")
        pages.append(page)
    page = pages[0]
    assert page.body["response_type"] == "ephemeral" and page.body["replace_original"] is False
    passages = [b for b in page.body["blocks"] if b.get("block_id", "").startswith("passage_")]
    assert [b["block_id"] for b in passages] == ["passage_1", "passage_2"]
    assert all(b["text"]["text"] != card.body["blocks"][1]["text"]["text"] for b in passages)
    assert json.loads(button_of(page.body["blocks"], "more_passages")["value"])["o"] == 3

    # "Share in thread" posts those passages in the card's thread, saying who shared them.
    share = button_of(page.body["blocks"], "share_passages")
    click = unique_id("share")
    slack.interaction(
        block_action(share, response_url=fake.response_url(click), channel=channel, ephemeral=True)
    )
    _, shared = wait_calls(fake, "chat.postMessage", 2, channel=channel)
    assert shared.body["thread_ts"] == top["ts"]
    assert [b["block_id"] for b in shared.body["blocks"] if b.get("block_id", "").startswith("passage_")] == [
        "passage_1",
        "passage_2",
    ]
    assert any("Shared by <@U1>" in t for t in all_texts(shared.body))
    assert "share_passages" not in json.dumps(shared.body["blocks"])
    (deleted,) = wait_calls(fake, "response_url", path=f"/response_url/{click}")
    assert deleted.body.get("delete_original") is True
    assert len(matching(fake, "chat.postMessage", channel=channel)) == 2


def test_a_vote_on_a_channel_card_is_told_to_the_voter_only(fake, slack, bot_store, channel):
    top = mention(QUOTA, channel=channel)
    slack.event(event_body(top))
    (card,) = wait_calls(fake, "chat.postMessage", channel=channel)
    card_ts = message_ts()
    for user, helpful, expected in (
        ("U1", True, "So far: 1 helpful · 0 not helpful"),
        ("U2", False, "So far: 1 helpful · 1 not helpful"),
    ):
        click = unique_id("vote")
        slack.interaction(
            block_action(
                vote_of(card.body["blocks"], helpful),
                response_url=fake.response_url(click),
                channel=channel,
                user=user,
                message_ts=card_ts,
                thread_ts=top["ts"],
            )
        )
        (note,) = wait_calls(fake, "response_url", path=f"/response_url/{click}")
        assert note.body["response_type"] == "ephemeral" and expected in json.dumps(
            note.body["blocks"], ensure_ascii=False
        )
    votes = {v.user: v.helpful for v in bot_store.feedback_for(TEAM, channel, card_ts)}
    assert votes == {"U1": True, "U2": False}
    assert matching(fake, "chat.update", channel=channel) == []  # the card is left alone
    assert len(matching(fake, "chat.postMessage", channel=channel)) == 1  # nothing posted


def test_a_vote_on_a_private_card_replaces_it(fake, slack, bot_store, channel):
    name = unique_id("cmd")
    slack.command(command_form(QUOTA, fake.response_url(name), channel=channel))
    (card,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    click, card_ts = unique_id("vote"), message_ts()
    slack.interaction(
        block_action(
            vote_of(card.body["blocks"], helpful=False),
            response_url=fake.response_url(click),
            channel=channel,
            message_ts=card_ts,
            ephemeral=True,
        )
    )
    (replaced,) = wait_calls(fake, "response_url", path=f"/response_url/{click}")
    assert replaced.body["replace_original"] is True
    assert "share_answer" in json.dumps(replaced.body["blocks"])  # still the private card
    line = next(b for b in replaced.body["blocks"] if b["block_id"].startswith("votes."))  # a fresh id
    assert "You found this not helpful" in line["elements"][0]["text"]
    assert "open_ask_modal" in json.dumps(replaced.body["blocks"])  # a next step: rephrase
    (vote,) = bot_store.feedback_for(TEAM, channel, card_ts)
    assert vote.helpful is False and vote.question == QUOTA
    assert matching(fake, "chat.postMessage", channel=channel) == []
    assert matching(fake, "chat.update", channel=channel) == []


# --- App Home, modal, workspace events ------------------------------------------------------------------


def test_app_home_shows_sections_examples_and_subscribed_channels(fake, slack, bot_store):
    sub = unique_id("C")
    bot_store.subscribe(team=TEAM, channel=sub, local_time="08:30", tz="Asia/Tokyo")
    user = unique_id("U")
    home = {"type": "app_home_opened", "user": user, "channel": unique_id("D"), "tab": "home"}
    assert slack.event(event_body(home)).status == 200
    (publish,) = wait_calls(fake, "views.publish", user_id=user)
    view = publish.body["view"]
    assert view["type"] == "home"
    text = "\n".join(all_texts({"blocks": view["blocks"]}))
    assert "Who should run advertising and trade shows?" in text  # an example from a part of it
    assert f"<#{sub}>: on weekdays at 08:30 Asia/Tokyo" in text
    assert "/advisor tips on" in text


def test_ask_modal_answers_by_direct_message(fake, slack):
    user = unique_id("U")
    opener = block_action(
        {"type": "button", "action_id": "open_ask_modal", "value": "ask"}, response_url=fake.response_url("x")
    )
    opener["user"]["id"] = user
    assert slack.interaction(opener).status == 200
    (opened,) = wait_calls(fake, "views.open", trigger_id=opener["trigger_id"])
    assert opened.body["view"]["callback_id"] == "ask_question"

    def submission(question):
        values = {"question": {"question_text": {"type": "plain_text_input", "value": question}}}
        return {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": unique_id("trigger."),
            "view": {"id": "V1", "type": "modal", "callback_id": "ask_question", "state": {"values": values}},
        }

    empty = slack.interaction(submission("   "))
    assert empty.status == 200 and json.loads(empty.body)["response_action"] == "errors"
    assert slack.interaction(submission(QUOTA)).status == 200
    (answer,) = wait_calls(fake, "chat.postMessage", channel=user)
    assert EFFICIENCY in source_text(answer.body["blocks"])


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "app_uninstalled"}, "app_uninstalled"),
        ({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER]}}, "tokens_revoked"),
    ],
)
def test_uninstall_and_revoked_tokens_deactivate_the_workspace(slack, bot_store, event, reason):
    team = unique_id("T")
    bot_store.subscribe(team=team, channel="C1", local_time="09:00", tz="UTC")
    assert slack.event(event_body(event, team=team)).status == 200
    wait_until(lambda: not bot_store.get_subscription(team, "C1").active, what="deactivation")
    subscription = bot_store.get_subscription(team, "C1")
    assert subscription.active is False and subscription.paused_reason == reason


def test_every_subscribed_event_type_gets_200(slack):
    events = [
        mention(QUOTA, channel=unique_id("C")),
        message("hello", channel=unique_id("D"), channel_type="im", subtype="message_deleted"),
        message("hello", channel=unique_id("C")),
        {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"},
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": ["U5"], "bot": []}},
        {"type": "reaction_added", "user": "U1", "reaction": "+1", "item": {}},  # not subscribed
    ]
    for event in events:
        team = unique_id("T") if event["type"] in ("app_uninstalled", "tokens_revoked") else TEAM
        reply = slack.event(event_body(event, team=team))
        assert reply.status == 200, (event["type"], reply)
    challenge = slack.post(
        json.dumps({"type": "url_verification", "challenge": "abc123"}), "application/json"
    )
    assert challenge.status == 200 and json.loads(challenge.body)["challenge"] == "abc123"


# --- safety ----------------------------------------------------------------------------------------


def test_injection_strings_reach_slack_escaped(fake, slack, channel):
    slack.event(event_body(mention(INJECTION, channel=channel)))
    (post,) = wait_calls(fake, "chat.postMessage", channel=channel)
    assert_inert(post.body)

    dm = unique_id("D")
    slack.event(event_body(message(INJECTION, channel=dm, channel_type="im")))
    (dm_post,) = wait_calls(fake, "chat.postMessage", channel=dm)
    assert_inert(dm_post.body)

    name = unique_id("cmd")
    slack.command(command_form(INJECTION, fake.response_url(name), channel=channel))
    (private,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    assert_inert(private.body)
    echoed = "\n".join(all_texts(private.body))  # a slash-command card echoes the question
    assert (
        "&lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S1&gt; &lt;@U1&gt; &lt;https://evil|x&gt; &amp; ads?"
        in echoed
    )
    shared = "share_answer" in json.dumps(private.body["blocks"])
    clicks = [vote_of(private.body["blocks"], helpful=False)]
    clicks += [
        button_of(private.body["blocks"], button)
        for button in ("more_passages", "share_answer", "ask_suggestion_0")
        if button in json.dumps(private.body["blocks"])
    ]
    for action in clicks:
        click = unique_id("click")
        slack.interaction(
            block_action(
                action,
                response_url=fake.response_url(click),
                channel=channel,
                user="U2SHARER",
                ephemeral=True,
            )
        )
        for call in wait_calls(fake, "response_url", path=f"/response_url/{click}"):
            assert_inert(call.body)
    # In the channel: the mention's answer and, if the card could be shared, the shared card.
    posts = wait_calls(fake, "chat.postMessage", 1 + shared, channel=channel)
    assert len(posts) == 1 + shared
    for call in posts:
        assert_inert(call.body)


def test_unsigned_tampered_and_stale_requests_get_401_and_no_post(fake, slack, channel):
    body = json.dumps(event_body(mention(QUOTA, channel=channel)))
    unsigned = slack.request("POST", "/slack/events", body, {"Content-Type": "application/json"})
    assert unsigned.status == 401
    headers = slack.signed_headers(body, "application/json")
    tampered = slack.request("POST", "/slack/events", body.replace("quota", "budget"), headers)
    assert tampered.status == 401
    stale = slack.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    assert stale.status == 401
    wrong = slack.signed_headers(body, "application/json")
    wrong["X-Slack-Signature"] = "v0=" + "0" * 64
    assert slack.request("POST", "/slack/events", body, wrong).status == 401
    name = unique_id("cmd")
    form = command_form(QUOTA, fake.response_url(name), channel=channel)
    assert slack.command(form, timestamp=int(time.time()) - 6 * 60).status == 401
    # A rejected request is refused before any listener runs: nothing can follow the 401s.
    assert matching(fake, "chat.postMessage", channel=channel) == []
    assert matching(fake, "response_url", path=f"/response_url/{name}") == []


# --- exactly once ------------------------------------------------------------------------------------------


def test_same_event_delivered_four_times_gives_one_post(fake, slack, channel):
    body = event_body(mention(QUOTA, channel=channel))
    replies = [None] * 4

    def deliver(retry):
        replies[retry] = slack.event(body, retry=retry)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in replies] == [200, 200, 200, 200]
    (post,) = wait_calls(fake, "chat.postMessage", channel=channel)
    # The claim is a unique row, so no retry can post later (in-process: test_slack_listeners).
    assert post.body["thread_ts"] == body["event"]["ts"]


def test_mention_and_message_events_for_one_message_give_one_post(fake, slack, bot_store):
    dm = unique_id("D")
    ts = message_ts()
    both = [
        event_body(mention(QUOTA, channel=dm, ts=ts)),
        event_body(message(f"<@{BOT_USER}> {QUOTA}", channel=dm, channel_type="im", ts=ts)),
    ]
    threads = [threading.Thread(target=slack.event, args=(b,)) for b in both]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_calls(fake, "chat.postMessage", channel=dm)
    assert bot_store.claim_event(f"message:{TEAM}:{dm}:{ts}") is False  # the message was claimed once


# --- Slack misbehaving -------------------------------------------------------------------------------------


def test_rate_limited_post_is_waited_out(fake, slack, channel):
    fake.rate_limit("chat.postMessage", retry_after=1, channel=channel)
    slack.event(event_body(mention(QUOTA, channel=channel)))
    limited, posted = wait_calls(fake, "chat.postMessage", 2, timeout=15, channel=channel)
    assert posted.at - limited.at >= 1.0
    assert posted.body["blocks"] == limited.body["blocks"]
    assert len(matching(fake, "chat.postMessage", channel=channel)) == 2


def test_a_failed_post_is_apologised_for_and_the_bot_stays_live(fake, slack, channel):
    # A Slack error that retrying cannot fix (an outage's internal_error is retried instead:
    # tests/test_slack_queue.py).
    fake.fail("chat.postMessage", "invalid_blocks", channel=channel)
    slack.event(event_body(mention(QUOTA, channel=channel)))
    failed, apology = wait_calls(fake, "chat.postMessage", 2, channel=channel)
    assert failed.body["blocks"][0]["block_id"] == "verdict"
    assert apology.body["text"].startswith("Sorry, something went wrong")

    # Both the answer and the apology failing: still logged, still alive.
    quiet = unique_id("C")
    fake.fail("chat.postMessage", "invalid_blocks", times=2, channel=quiet)
    slack.event(event_body(mention(QUOTA, channel=quiet)))
    wait_calls(fake, "chat.postMessage", 2, channel=quiet)

    assert slack.request("GET", "/healthz").status == 200
    again = mention(QUOTA, channel=channel)
    slack.event(event_body(again))
    wait_calls(fake, "chat.postMessage", 3, channel=channel)
    assert matching(fake, "chat.postMessage", channel=channel)[-1].body["blocks"][0]["block_id"] == "verdict"


def test_slash_command_failure_tells_the_user(fake, slack, channel):
    name = unique_id("cmd")
    fake.http_error("response_url", 500, path=f"/response_url/{name}")
    assert slack.command(command_form(QUOTA, fake.response_url(name), channel=channel)).status == 200
    failed, told = wait_calls(fake, "response_url", 2, path=f"/response_url/{name}")
    assert failed.body["blocks"][1]["block_id"] == "verdict"
    assert told.body["response_type"] == "ephemeral"
    assert told.body["text"].startswith("Sorry, something went wrong")
    assert slack.request("GET", "/healthz").status == 200


# --- HTTP surface ----------------------------------------------------------------------------


def test_health_and_routes(slack):
    health = slack.request("GET", "/healthz")
    assert health.status == 200 and json.loads(health.body)["status"] == "ok"
    assert slack.request("HEAD", "/healthz").status == 200
    assert slack.request("POST", "/healthz").status == 405
    not_allowed = slack.request("GET", "/slack/events")
    assert not_allowed.status == 405 and not_allowed.headers.get("Allow") == "POST"
    assert slack.request("GET", "/nope").status == 404
    assert slack.request("POST", "/slack/events/extra").status == 404
