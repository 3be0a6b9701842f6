"""Each listener class in-process: a real store (a SQLite file), the real advisor, and a WebClient
pointed at the fake Slack over HTTP. A listener call returns when the listener is done, so a test
that expects *no* reply asserts right after it, on what reached the fake and on the rows.
"""

from __future__ import annotations

import json
import logging
import threading

import pytest
from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack import blocks
from bot.slack.cards import Cards
from bot.slack.client import SingleWorkspace, make_client
from bot.slack.jobs import JobWorkers
from bot.slack.listeners.actions.answer_buttons import AnswerButtons
from bot.slack.listeners.actions.home_buttons import open_ask_modal
from bot.slack.listeners.commands.advisor import AdvisorCommand
from bot.slack.listeners.events.app_home import AppHome
from bot.slack.listeners.events.questions import Questions
from bot.slack.listeners.events.workspace import Workspace
from bot.slack.queue import JobQueue
from bot.storage import open_store
from tests.slack_harness import (
    BOT_TOKEN,
    BOT_USER,
    TEAM,
    all_texts,
    block_action,
    command_form,
    event_body,
    mention,
    message,
    message_ts,
    source_text,
    unique_id,
    vote_of,
)

QUOTA = "who should set next year's sales quota?"
EFFICIENCY = "Which is more important between efficiency and stability?"


@pytest.fixture(scope="module")
def settings(fake, tmp_path_factory):
    data = tmp_path_factory.mktemp("listeners")
    return Settings(data_dir=data, slack_api_url=fake.url, slack_bot_token=BOT_TOKEN)


@pytest.fixture(scope="module")
def store(settings):
    store = open_store(settings.database_url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(settings):
    return make_client(settings)


@pytest.fixture(scope="module")
def cards(core_advisor):
    return Cards(core_advisor)


@pytest.fixture(scope="module")
def queue(store):
    return JobQueue(store)


def queued(queue, listeners):
    """What the kind's ``register`` does besides mapping Slack ids: add the listeners' queued work."""
    queue.add(listeners.handlers())
    return listeners


@pytest.fixture(scope="module")
def workers(queue, client):
    """The queue's workers, driven on the test's thread (``run_due``)."""
    return JobWorkers(queue, SingleWorkspace(client))


@pytest.fixture(scope="module")
def questions(cards, store, queue):
    return queued(queue, Questions(cards, store, queue))


@pytest.fixture
def context():
    return BoltContext(team_id=TEAM, bot_user_id=BOT_USER)


class Acks:
    """Bolt's ``ack``: records what it was called with."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, **kwargs) -> None:
        self.calls.append(kwargs)


def respond_to(fake, name: str) -> Respond:
    return Respond(response_url=fake.response_url(name))


def posts_in(fake, channel: str):
    return fake.matching("chat.postMessage", channel=channel)


def deliver(questions, context, client, event: dict) -> None:
    """What Bolt does with an event: the listener for its type, with the body and event; then
    what the queue's workers do: carry out the jobs it queued."""
    body = event_body(event)
    listener = questions.on_mention if event["type"] == "app_mention" else questions.on_message
    listener(body=body, event=event, context=context, client=client)
    JobWorkers(questions.queue, SingleWorkspace(client)).run_due()


def errors_logged(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == logging.ERROR and r.exc_info]


# --- questions -------------------------------------------------------------------------------


def test_follow_ups_from_the_asker_only_until_someone_else_joins(
    fake, questions, store, context, client, channel
):
    top = mention(QUOTA, channel=channel, user="U1")
    deliver(questions, context, client, top)
    thread = top["ts"]
    assert store.thread_asker(TEAM, channel, thread) == "U1"
    deliver(
        questions,
        context,
        client,
        message("and who generates leads?", channel=channel, user="U1", thread_ts=thread),
    )
    first, follow_up = posts_in(fake, channel)
    assert follow_up.body["thread_ts"] == thread
    assert follow_up.body["blocks"][0]["block_id"] == "verdict"

    deliver(
        questions,
        context,
        client,
        message("I think it's Sales", channel=channel, user="U2", thread_ts=thread),
    )
    assert len(posts_in(fake, channel)) == 2  # someone else joined: no answer
    assert store.thread_asker(TEAM, channel, thread) is None  # closed for good
    deliver(
        questions, context, client, message("and the brand?", channel=channel, user="U1", thread_ts=thread)
    )
    assert len(posts_in(fake, channel)) == 2


@pytest.mark.parametrize("parent", ["U1", None], ids=["opened-by-the-asker", "opener-unknown"])
def test_a_mention_in_the_askers_own_thread_makes_it_a_followed_thread(
    fake, questions, store, context, client, channel, parent
):
    opening = message("We keep arguing about the quota.", channel=channel, user="U1")
    deliver(questions, context, client, opening)
    assert posts_in(fake, channel) == []  # not a reply in a thread, not a mention
    thread, origin = opening["ts"], {"parent_user_id": parent} if parent else {}
    deliver(
        questions, context, client, {**mention(QUOTA, channel=channel, user="U1", thread_ts=thread), **origin}
    )
    (answer,) = posts_in(fake, channel)
    assert answer.body["thread_ts"] == thread
    assert store.thread_asker(TEAM, channel, thread) == "U1"
    deliver(
        questions,
        context,
        client,
        message("and who generates leads?", channel=channel, user="U1", thread_ts=thread, **origin),
    )
    _, follow_up = posts_in(fake, channel)
    assert follow_up.body["thread_ts"] == thread


def test_a_mention_in_someone_elses_thread_is_answered_but_not_followed(
    fake, questions, store, context, client, channel
):
    thread = message_ts()  # U2 opened this thread; others may have written in it
    deliver(
        questions,
        context,
        client,
        {**mention(QUOTA, channel=channel, user="U1", thread_ts=thread), "parent_user_id": "U2"},
    )
    (answer,) = posts_in(fake, channel)
    assert answer.body["thread_ts"] == thread
    assert store.thread_asker(TEAM, channel, thread) is None
    later = message("and the brand?", channel=channel, user="U1", thread_ts=thread, parent_user_id="U2")
    deliver(questions, context, client, later)
    assert len(posts_in(fake, channel)) == 1


def test_replies_in_threads_the_bot_did_not_start_are_ignored(fake, questions, context, client, channel):
    deliver(
        questions, context, client, message("who sets the quota?", channel=channel, thread_ts=message_ts())
    )
    deliver(questions, context, client, message("who sets the quota?", channel=channel))
    assert posts_in(fake, channel) == []


def test_bots_messages_and_edits_get_no_reply_and_claim_nothing(fake, questions, store, context, client):
    dm = unique_id("D")
    ignored = [
        message(QUOTA, channel=dm, channel_type="im", user=BOT_USER),
        message(QUOTA, channel=dm, channel_type="im", bot_id="BOTHER", subtype="bot_message"),
        message(QUOTA, channel=dm, channel_type="im", bot_id="BOTHER"),
        message(QUOTA, channel=dm, channel_type="im", subtype="message_changed"),
        message(QUOTA, channel=dm, channel_type="im", subtype="message_deleted"),
        message(QUOTA, channel=dm, channel_type="im", subtype="channel_join"),
        {**mention(QUOTA, channel=dm), "bot_id": "BOTHER"},
    ]
    for event in ignored:
        deliver(questions, context, client, event)
    assert posts_in(fake, dm) == []
    for event in ignored:  # never claimed: a person's later message with that ts is still answered
        assert store.claim_event(f"message:{TEAM}:{dm}:{event['ts']}")


def test_the_same_event_delivered_four_times_at_once_is_answered_once(
    fake, questions, context, client, channel
):
    event = mention(QUOTA, channel=channel)
    body = event_body(event)
    barrier = threading.Barrier(4)

    def deliver_once():
        barrier.wait()
        questions.on_mention(body=body, event=event, context=context, client=client)

    threads = [threading.Thread(target=deliver_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    JobWorkers(questions.queue, SingleWorkspace(client)).run_due()
    (post,) = posts_in(fake, channel)  # every job has run: no late second post
    assert post.body["thread_ts"] == event["ts"]


def test_mention_and_message_events_for_one_message_are_answered_once(fake, questions, context, client):
    dm = unique_id("D")
    ts = message_ts()
    deliver(questions, context, client, mention(QUOTA, channel=dm, ts=ts))
    deliver(
        questions, context, client, message(f"<@{BOT_USER}> {QUOTA}", channel=dm, channel_type="im", ts=ts)
    )
    assert len(posts_in(fake, dm)) == 1


def test_a_failed_answer_is_logged_and_the_asker_told(fake, questions, context, client, channel, caplog):
    fake.fail("chat.postMessage", "invalid_blocks", channel=channel)  # retrying cannot fix it
    deliver(questions, context, client, mention(QUOTA, channel=channel))
    failed, apology = posts_in(fake, channel)
    assert failed.body["blocks"][0]["block_id"] == "verdict"
    assert apology.body["text"].startswith("Sorry, something went wrong")
    (record,) = errors_logged(caplog, "bot.slack.jobs")
    assert record.exc_info[0] is SlackApiError and record.args[1:3] == ("answer", channel)
    assert record.exc_info[1].response["error"] == "invalid_blocks"

    # Both the answer and the apology failing: both logged with their tracebacks.
    quiet = unique_id("C")
    fake.fail("chat.postMessage", "invalid_blocks", times=2, channel=quiet)
    caplog.clear()
    deliver(questions, context, client, mention(QUOTA, channel=quiet))
    assert len(posts_in(fake, quiet)) == 2
    failure, untold = errors_logged(caplog, "bot.slack.jobs")
    assert failure.args[1:3] == ("answer", quiet) and quiet in untold.args[0]


# --- /advisor --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def command(cards, store, settings, queue):
    return queued(queue, AdvisorCommand(cards, store, settings, queue))


def slash(command, fake, client, context, text: str, channel: str) -> tuple[Acks, str]:
    """``/advisor text``: the listener (queues and acks), then the queue's workers."""
    name = unique_id("cmd")
    acks = Acks()
    form = command_form(text, fake.response_url(name), channel=channel)
    command.handle(ack=acks, command=form, context=context)
    JobWorkers(command.queue, SingleWorkspace(client)).run_due()
    return acks, name


def test_slash_tips_routes_to_daily_tips(fake, command, client, context, channel):
    _, name = slash(command, fake, client, context, "tips status", channel)
    (status,) = fake.matching("response_url", path=f"/response_url/{name}")
    assert "not subscribed to daily tips" in status.body["text"]
    _, name = slash(command, fake, client, context, "tip", channel)
    (tip,) = fake.matching("response_url", path=f"/response_url/{name}")
    assert tip.body["response_type"] == "ephemeral" and tip.body["text"].startswith("Tip: ")


def test_slash_question_starting_with_tips_is_answered_as_a_question(fake, command, client, context, channel):
    acks, name = slash(
        command, fake, client, context, "tips for who should set next year's sales quota?", channel
    )
    assert acks.calls == [{}]  # acknowledged empty: the answer follows on response_url
    (answer,) = fake.matching("response_url", path=f"/response_url/{name}")
    assert [b["block_id"] for b in answer.body["blocks"][:2]] == ["question", "verdict"]
    assert EFFICIENCY in source_text(answer.body["blocks"])


def test_slash_command_failure_is_logged_and_the_user_told(fake, command, client, context, channel, caplog):
    name = unique_id("cmd")
    fake.http_error("response_url", 500, path=f"/response_url/{name}")
    form = command_form(QUOTA, fake.response_url(name), channel=channel)
    command.handle(ack=Acks(), command=form, context=context)
    JobWorkers(command.queue, SingleWorkspace(client)).run_due()
    failed, told = fake.matching("response_url", path=f"/response_url/{name}")
    assert failed.body["blocks"][1]["block_id"] == "verdict"
    assert told.body["response_type"] == "ephemeral" and told.body["text"].startswith(
        "Sorry, something went wrong"
    )
    (record,) = errors_logged(caplog, "bot.slack.jobs")
    assert record.args[1:3] == ("command", channel)


# --- buttons, Home, modal, workspace -------------------------------------------------------------


def test_votes_are_stored_last_one_wins_and_shown_to_the_voter_only(
    fake, cards, store, questions, context, client, channel
):
    top = mention(QUOTA, channel=channel)
    deliver(questions, context, client, top)
    (card,) = posts_in(fake, channel)
    buttons = AnswerButtons(cards, store)
    card_ts = message_ts()
    for helpful in (True, False):
        name = unique_id("fb")
        body = block_action(
            vote_of(card.body["blocks"], helpful),
            response_url=fake.response_url(name),
            channel=channel,
            message_ts=card_ts,
            thread_ts=top["ts"],
        )
        buttons.vote(
            ack=Acks(),
            body=body,
            action=body["actions"][0],
            respond=respond_to(fake, name),
            client=client,
            context=context,
        )
        (note,) = fake.matching("response_url", path=f"/response_url/{name}")  # to the voter only
        assert note.body["response_type"] == "ephemeral" and note.body["replace_original"] is False
        (vote,) = store.feedback_for(TEAM, channel, card_ts)
        assert vote.helpful is helpful and vote.question == QUOTA and vote.passage_id
        counted = "So far: 1 helpful · 0 not helpful" if helpful else "So far: 0 helpful · 1 not helpful"
        assert counted in note.body["blocks"][0]["elements"][0]["text"]
        steps = [e["action_id"] for b in note.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert steps == ([] if helpful else [blocks.OPEN_ASK_MODAL])  # a thumbs-down: rephrase
    assert fake.calls_to("chat.update") == []  # the card is left alone: a vote is not announced
    assert len(posts_in(fake, channel)) == 1  # the card only; nothing posted in the channel


def test_old_cards_helpful_buttons_still_record_a_vote(fake, cards, store, context, client, channel):
    name, card_ts = unique_id("old"), message_ts()
    value = json.dumps({"q": QUOTA, "p": "p_1"})  # what the old Not helpful button carried
    action = {"type": "button", "action_id": blocks.FEEDBACK_NOT_HELPFUL, "value": value}
    body = block_action(action, response_url=fake.response_url(name), channel=channel, message_ts=card_ts)
    AnswerButtons(cards, store).vote(
        ack=Acks(), body=body, action=action, respond=respond_to(fake, name), client=client, context=context
    )
    (vote,) = store.feedback_for(TEAM, channel, card_ts)
    assert vote.helpful is False and vote.passage_id == "p_1"
    (note,) = fake.matching("response_url", path=f"/response_url/{name}")
    assert "You found this not helpful" in json.dumps(note.body["blocks"])
    assert fake.matching("chat.update", channel=channel, ts=card_ts) == []


def test_the_messages_tab_sets_prompts_and_welcomes_once(fake, cards, store, context, client):
    other, dm = unique_id("U"), unique_id("D")
    event = {"type": "app_home_opened", "user": other, "channel": dm, "tab": "messages"}
    home = AppHome(cards, store)
    home.on_home_opened(event=event, context=context, client=client)
    assert fake.matching("views.publish", user_id=other) == []  # the Home tab is not published
    (prompts,) = fake.matching("assistant.threads.setSuggestedPrompts", channel_id=dm)
    assert [p["message"] for p in prompts.body["prompts"]] == cards.examples()[:4]
    assert len(fake.matching("chat.postMessage", channel=dm)) == 1  # the welcome
    home.on_home_opened(event=event, context=context, client=client)  # opened again at once
    assert len(fake.matching("assistant.threads.setSuggestedPrompts", channel_id=dm)) == 2
    assert len(fake.matching("chat.postMessage", channel=dm)) == 1  # claimed: never welcomed twice


@pytest.mark.parametrize(
    "text", ["thanks!", "ok", ":+1:", "👍", "got it, cool", "cool", "Perfect, thank you"]
)
def test_small_talk_in_a_followed_thread_posts_nothing(
    fake, questions, store, context, client, channel, text
):
    top = mention(QUOTA, channel=channel, user="U1")
    deliver(questions, context, client, top)
    deliver(questions, context, client, message(text, channel=channel, user="U1", thread_ts=top["ts"]))
    assert len(posts_in(fake, channel)) == 1  # the listener returned: nothing was posted
    assert store.thread_asker(TEAM, channel, top["ts"]) == "U1"  # still followed
    deliver(
        questions,
        context,
        client,
        message("ok, and who runs the ads?", channel=channel, user="U1", thread_ts=top["ts"]),
    )
    assert len(posts_in(fake, channel)) == 2  # a question still gets its answer


def test_app_home_says_when_it_cannot_load_the_subscriptions(fake, cards, store, client, caplog):
    team = unique_id("T")
    store.subscribe(team=team, channel="C1", local_time="09:00", tz="UTC")
    with store.engine.begin() as conn:  # an unreadable row: listing this workspace's channels fails
        conn.exec_driver_sql("UPDATE subscriptions SET created_at = 'garbage' WHERE team = ?", (team,))
    user = unique_id("U")
    event = {"type": "app_home_opened", "user": user, "channel": unique_id("D"), "tab": "home"}
    AppHome(cards, store).on_home_opened(event=event, context=BoltContext(team_id=team), client=client)
    (publish,) = fake.matching("views.publish", user_id=user)
    text = "\n".join(all_texts({"blocks": publish.body["view"]["blocks"]}))
    assert "I couldn't load the channels subscribed to daily tips right now." in text
    assert "No channel in this workspace gets daily tips yet." not in text
    assert len(errors_logged(caplog, "bot.slack.listeners.events.app_home")) == 1


def test_ask_button_says_how_else_to_ask_when_the_form_cannot_open(fake, client, caplog):
    user = unique_id("U")
    opener = block_action(
        {"type": "button", "action_id": "open_ask_modal", "value": "ask"}, response_url=fake.response_url("x")
    )
    opener["user"]["id"] = user
    fake.fail("views.open", "expired_trigger_id", trigger_id=opener["trigger_id"])
    open_ask_modal(ack=Acks(), body=opener, client=client)
    (told,) = fake.matching("chat.postMessage", channel=user)
    assert told.body["text"].startswith("Sorry, I couldn't open the question form.")
    assert "/advisor QUESTION" in told.body["text"]
    (record,) = errors_logged(caplog, "bot.slack.listeners.actions.home_buttons")
    assert record.args == (user,) and record.exc_info[0] is SlackApiError


def test_a_retried_uninstall_deactivates_after_a_database_failure(store, caplog):
    team = unique_id("T")
    store.subscribe(team=team, channel="C1", local_time="09:00", tz="UTC")
    trigger = f"fail_{team}"
    with store.engine.begin() as conn:  # the database refuses this workspace's update, once
        conn.exec_driver_sql(
            f"CREATE TRIGGER {trigger} BEFORE UPDATE ON subscriptions WHEN NEW.team = '{team}' "
            "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
    body = event_body({"type": "app_uninstalled"}, team=team)
    workspace = Workspace(store)
    try:
        workspace.on_app_uninstalled(body=body, context=BoltContext(team_id=team))
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
    assert store.get_subscription(team, "C1").active
    (record,) = errors_logged(caplog, "bot.slack.listeners.events.workspace")
    assert record.args == (team, "app_uninstalled")
    workspace.on_app_uninstalled(body=body, context=BoltContext(team_id=team))  # Slack's retry
    subscription = store.get_subscription(team, "C1")
    assert (subscription.active, subscription.paused_reason) == (False, "app_uninstalled")


def test_a_full_queue_says_busy_instead_of_timing_out(fake, cards, settings, client, context, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    queue = JobQueue(store, limit=1)
    questions = queued(queue, Questions(cards, store, queue))
    command = queued(queue, AdvisorCommand(cards, store, settings, queue))
    first, second = unique_id("C"), unique_id("C")
    deliver_to = questions.on_mention
    for channel in (first, second):
        event = mention(QUOTA, channel=channel)
        deliver_to(body=event_body(event), event=event, context=context, client=client)
    acks = Acks()
    command.handle(ack=acks, command=command_form(QUOTA, fake.response_url(unique_id("b"))), context=context)
    (busy_ack,) = acks.calls
    assert busy_ack["text"].startswith("I'm busy") and busy_ack["response_type"] == "ephemeral"
    # Only the first was taken; the mention is told by a durable job of its own (past the limit).
    assert [(j.channel, j.kind) for j in store.jobs()][1:] == [(second, "busy")]
    assert store.jobs()[0].channel == first
    JobWorkers(queue, SingleWorkspace(client)).run_due()
    (told,) = fake.matching("chat.postMessage", channel=second)
    assert told.body["text"].startswith("I'm busy")
    assert fake.matching("chat.postMessage", channel=first)[0].body["blocks"][0]["block_id"] == "verdict"
    store.close()
