"""Ask an expert, end to end over the fake Slack: the real bot process over HTTP and over
Socket Mode. A refusal offers "Ask an expert"; the click posts the question in the experts
channel and tells the asker's thread; the expert's plain thread reply reaches the asker,
attributed, and resolves the experts' post; "Save as an answer" keeps it; a paraphrase from
someone else in the same workspace gets the saved answer, attributed and dated (in a channel and
through the ask modal), and the same question in another workspace does not. A SIGKILL after the
click is acknowledged leaves the experts' post to the next process, which posts it exactly once.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.slack.blocks.experts import ASK_EXPERT, SAVE_EXPERT_ANSWER, TAKE_ESCALATION
from bot.storage import open_store
from tests.fake_slack import FakeSlack, wait_until
from tests.slack_harness import (
    TEAM,
    BotServer,
    assert_inert,
    assert_within_limits,
    block_action,
    bot_env,
    button_of,
    command_form,
    event_body,
    mention,
    message,
    unique_id,
    vote_of,
)
from tests.test_slack_socket_mode import SocketBot, socket_env, sockets  # noqa: F401 (fixtures)

# A saved item of tests/data/saved (index 10): the article does not cover it.
QUESTION = "where's the latest pitch deck? the one in Google Drive still has the old logo"
EXPERT_TEXT = (
    "Always pull it from Highspot: the 'Corporate Pitch Deck FY25' spot is the only approved version "
    "and Product Marketing updates it monthly. <!channel> The Drive copies are archived."
)
PARAPHRASE = "where do I find the current corporate sales deck? mine has outdated branding"


@dataclass
class Transport:
    """How the test reaches the bot: Slack's three kinds of request."""

    event: Callable[[dict], None]
    command: Callable[[dict], None]
    interaction: Callable[[dict], None]


def blocks_by_id(message_body: dict) -> dict[str, dict]:
    return {b.get("block_id"): b for b in message_body.get("blocks") or []}


def run_the_loop(fake: FakeSlack, store, send: Transport, *, uninstall: bool = False) -> None:
    admin, asker, expert, other = unique_id("UA"), unique_id("UQ"), unique_id("UE"), unique_id("UO")
    experts, channel, elsewhere = unique_id("CX"), unique_id("C"), unique_id("C")
    fake.users[admin] = {"id": admin, "is_admin": True, "tz": "Europe/Paris"}

    # The admin names the experts channel as Slack sends it with should_escape: <#C..|name>.
    url = fake.response_url(unique_id("x"))
    send.command(command_form(f"experts <#{experts}|sales-experts>", url, user=admin))
    said = fake.reply_to(url.rsplit("/", 1)[1])
    assert f"<#{experts}>" in said["text"] and store.experts_channel(TEAM) == experts

    # A refusal offers "Ask an expert".
    asked = mention(QUESTION, channel=channel, user=asker)
    send.event(event_body(asked))
    (card,) = fake.wait_for_call("chat.postMessage", channel=channel)
    assert card.body["blocks"][0]["block_id"] == "not_covered"
    card_ts = fake.messages_in(channel)[0]["ts"]
    click = block_action(
        button_of(card.body["blocks"], ASK_EXPERT),
        response_url=fake.response_url(unique_id("a")),
        channel=channel,
        user=asker,
        message_ts=card_ts,
        thread_ts=asked["ts"],
    )
    send.interaction(click)
    send.interaction(click)  # a retry or a double click: still one question for the experts

    # The experts channel gets who asked, where, what the advisor said, and how to answer.
    (posted,) = fake.wait_for_call("chat.postMessage", channel=experts)
    shown = blocks_by_id(posted.body)
    assert f"<@{asker}>" in shown["asked"]["text"]["text"]
    assert (
        f"https://fake.slack.com/archives/{channel}/p{asked['ts'].replace('.', '')}"
        in shown["asked"]["text"]["text"]
    )
    assert "pitch deck" in shown["question"]["text"]["text"]
    assert "doesn't cover" in json.dumps(posted.body["blocks"])
    button_of(posted.body["blocks"], TAKE_ESCALATION)
    assert_inert(posted.body)
    assert_within_limits(posted.body)
    # The asker's thread is told.
    _card, notice = fake.wait_for_call("chat.postMessage", 2, channel=channel, thread_ts=asked["ts"])
    assert f"<#{experts}>" in notice.body["text"]
    expert_ts = fake.messages_in(experts)[0]["ts"]

    # The expert answers with a plain reply in the thread; the asker gets it, attributed.
    send.event(event_body(message(EXPERT_TEXT, channel=experts, user=expert, thread_ts=expert_ts)))
    relayed = wait_until(
        lambda: [m for m in fake.messages_in(channel) if "expert_answered" in json.dumps(m.get("blocks"))],
        what="the expert's answer in the asker's thread",
    )
    (answer,) = relayed
    assert answer["thread_ts"] == asked["ts"]
    assert f"<@{expert}> answered" in json.dumps(answer["blocks"])
    assert "Highspot" in json.dumps(answer["blocks"])
    assert_inert(answer)  # "<!channel>" in the expert's text pings nobody
    (update,) = fake.wait_for_call("chat.update", channel=experts, ts=expert_ts)
    assert "Answered by" in json.dumps(update.body["blocks"])

    # The expert saves it (the click carries the message as Slack shows it now).
    save = block_action(
        button_of(update.body["blocks"], SAVE_EXPERT_ANSWER),
        response_url=fake.response_url(unique_id("s")),
        channel=experts,
        user=expert,
        message_ts=expert_ts,
    )
    save["message"]["blocks"] = update.body["blocks"]
    send.interaction(save)
    (kept,) = wait_until(lambda: store.saved_answers(TEAM), what="the saved answer")
    assert kept.question == QUESTION and kept.expert == expert and "Highspot" in kept.answer
    fake.wait_for_call("chat.update", 2, channel=experts, ts=expert_ts)

    # Someone else, elsewhere in the workspace, asks it in other words: the saved answer,
    # attributed and dated, apart from the article.
    send.event(event_body(mention(PARAPHRASE, channel=elsewhere, user=other)))
    (reused,) = fake.wait_for_call("chat.postMessage", channel=elsewhere)
    shown = blocks_by_id(reused.body)
    assert f"<@{expert}>" in shown["saved_title"]["text"]["text"]
    assert str(kept.answered_at.year) in shown["saved_title"]["text"]["text"]
    assert "Highspot" in shown["saved_answer"]["text"]["text"]
    assert_inert(reused.body)
    wait_until(lambda: store.saved_usage(team=TEAM)[0].uses == 1, what="the reuse counted")

    # The same question in another workspace: no saved answer there.
    other_team, other_channel = unique_id("T"), unique_id("C")
    send.event(event_body(mention(PARAPHRASE, channel=other_channel, user=other), team=other_team))
    (plain,) = fake.wait_for_call("chat.postMessage", channel=other_channel)
    assert "saved_title" not in blocks_by_id(plain.body)
    assert len(fake.messages_in(experts)) == 1

    # A thumbs-down offers "Ask an expert" where an experts channel is set, and only there.
    for where, team, card, offered in (
        (elsewhere, TEAM, reused, True),
        (other_channel, other_team, plain, False),
    ):
        ts = fake.messages_in(where)[0]["ts"]
        name = unique_id("v")
        vote = block_action(
            vote_of(card.body["blocks"], helpful=False),
            response_url=fake.response_url(name),
            channel=where,
            user=other,
            message_ts=ts,
        )
        vote["team"]["id"] = team
        vote["message"]["blocks"] = card.body["blocks"]
        send.interaction(vote)
        # The card is left alone; the voter alone gets a note with the next steps.
        note = fake.reply_to(name)
        assert (ASK_EXPERT in json.dumps(note["blocks"])) is offered
        assert not fake.matching("chat.update", channel=where, ts=ts)
    assert wait_until(
        lambda: store.saved_usage(team=TEAM)[0].not_helpful == 1, what="the vote on the saved answer"
    )

    # The ask modal's answer (a direct message) gets the saved answer too.
    values = {"question": {"question_text": {"type": "plain_text_input", "value": PARAPHRASE}}}
    send.interaction(
        {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": other, "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": unique_id("trigger."),
            "view": {
                "id": unique_id("V"),
                "type": "modal",
                "callback_id": "ask_question",
                "state": {"values": values},
            },
        }
    )
    (direct,) = fake.wait_for_call("chat.postMessage", channel=other)
    assert "Highspot" in blocks_by_id(direct.body)["saved_answer"]["text"]["text"]
    wait_until(lambda: store.saved_usage(team=TEAM)[0].uses == 2, what="the modal's reuse counted")

    if uninstall:  # the workspace leaves: its saved answers and experts channel go with it
        send.event(event_body({"type": "app_uninstalled"}))
        wait_until(lambda: not store.saved_answers(TEAM), what="the saved answers deleted")
        assert store.experts_channel(TEAM) is None


def test_the_whole_loop_over_http(bot, slack, fake, bot_store):
    send = Transport(event=slack.event, command=slack.command, interaction=slack.interaction)

    def sent(call):
        return lambda body: (reply := call(body)) and assert_ok(reply)

    def assert_ok(reply):
        assert reply.status == 200, reply.body

    run_the_loop(fake, bot_store, Transport(sent(send.event), sent(send.command), sent(send.interaction)))


def test_the_whole_loop_over_socket_mode(fake, sockets, socket_env):  # noqa: F811
    bot = SocketBot(socket_env).start()
    store = open_store(socket_env["DATABASE_URL"])
    try:
        sockets.wait_for_sessions(1, timeout=180)

        def over(kind):
            return lambda payload: sockets.ack(sockets.send(kind, payload))

        send = Transport(over("events_api"), over("slash_commands"), over("interactive"))
        run_the_loop(fake, store, send, uninstall=True)
    finally:
        bot.stop()
        store.close()


@pytest.fixture
def slow_slack():
    """A fake Slack whose posts take a second (the message is Slack's on arrival)."""
    fake = FakeSlack().start()
    fake.delay("chat.postMessage", 1.0, times=10**9)
    yield fake
    fake.stop()


def test_sigkill_after_the_click_is_acknowledged_posts_the_question_once(slow_slack, tmp_path, bundled_index):
    shutil.copytree(bundled_index, tmp_path / "index")
    database_url = f"sqlite:///{tmp_path / 'advisor.sqlite3'}"
    env = bot_env(slow_slack.url, tmp_path, DATABASE_URL=database_url)
    store = open_store(database_url)
    experts, channel, asker = unique_id("CX"), unique_id("C"), unique_id("UQ")
    store.set_experts_channel(TEAM, experts)
    card_ts = "1700000001.000100"
    from bot.slack.blocks.experts import ask_expert_button

    first = BotServer(env).start()
    try:
        click = block_action(
            {"type": "button", "action_id": ASK_EXPERT, "value": ask_expert_button(QUESTION)["value"]},
            response_url=slow_slack.response_url(unique_id("a")),
            channel=channel,
            user=asker,
            message_ts=card_ts,
        )
        assert first.sender().interaction(click).status == 200
        # Acknowledged means recorded; kill the bot while the experts' post is in flight.
        wait_until(
            lambda: slow_slack.matching("chat.postMessage", channel=experts), what="the post in flight"
        )
        first.kill_group()
    finally:
        first.stop()
    assert store.job_counts().get("posting", 0) == 1

    second = BotServer(env).start()
    try:
        wait_until(
            lambda: slow_slack.matching("chat.postMessage", channel=channel, thread_ts=card_ts),
            timeout=90,
            what="the asker told, after the restart",
        )
        wait_until(lambda: store.job_counts().get("posting", 0) == 0, what="no job left mid-post")
    finally:
        second.stop()
    assert len(slow_slack.messages_in(experts)) == 1
    assert len(slow_slack.matching("chat.postMessage", channel=experts)) == 1
    (escalation,) = store.escalations(team=TEAM)
    assert escalation.expert_ts == slow_slack.messages_in(experts)[0]["ts"]
    assert len(slow_slack.matching("chat.postMessage", channel=channel, thread_ts=card_ts)) == 1
    store.close()
