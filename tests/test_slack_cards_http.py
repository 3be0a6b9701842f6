"""The cards over signed HTTP (the session's bot server against the fake Slack): manners in a
DM, the agent view (titles, answers in the DM thread, status for mentions), sharing from every
card kind with the right "shared from" words, votes seen by the voter only, tips off announced
where tips on was, and cards in the asker's language.

Each test talks in its own channels and users.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.slack_harness import (
    block_action,
    button_of,
    command_form,
    event_body,
    mention,
    message,
    unique_id,
    vote_of,
)

QUOTA = "who should set next year's sales quota?"
HAN = re.compile(r"[\u4e00-\u9fff]")


def dm_of(user: str) -> str:
    return "D" + user.removeprefix("U")


def texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


@pytest.mark.parametrize("words", ["hi", "Hello!", "thanks!", "help", "what can you do?"])
def test_greetings_thanks_and_help_in_a_dm_get_the_welcome_with_questions_to_click(fake, slack, words):
    user = unique_id("U")
    dm = dm_of(user)
    slack.event(event_body(message(words, channel=dm, channel_type="im", user=user)))
    (welcome,) = fake.wait_for_call("chat.postMessage", channel=dm)
    assert welcome.body["text"].startswith("Hi! Ask me who should own a piece of work")
    assert "doesn't cover" not in texts(welcome.body["blocks"])  # not a refusal
    example = button_of(welcome.body["blocks"], "ask_suggestion_0")
    assert json.loads(example["value"])["q"].endswith("?")


def test_the_same_words_inside_a_real_question_still_get_the_answer(fake, slack):
    user = unique_id("U")
    dm = dm_of(user)
    slack.event(event_body(message(f"hi! {QUOTA}", channel=dm, channel_type="im", user=user)))
    (answer,) = fake.wait_for_call("chat.postMessage", channel=dm)
    assert answer.body["blocks"][0]["block_id"] == "verdict"


def test_a_dm_question_is_answered_in_its_thread_which_gets_a_short_title(fake, slack):
    user = unique_id("U")
    dm = dm_of(user)
    question = message(QUOTA, channel=dm, channel_type="im", user=user)
    slack.event(event_body(question))
    (answer,) = fake.wait_for_call("chat.postMessage", channel=dm)
    assert answer.body["thread_ts"] == question["ts"]  # in the thread the status was shown on
    (title,) = fake.matching("assistant.threads.setTitle", channel_id=dm)
    assert title.body["thread_ts"] == question["ts"]
    assert title.body["title"] == "Set next year's sales quota"
    # A follow-up in that thread is answered there, and the thread keeps its title.
    follow_up = message(
        "and who generates leads?", channel=dm, channel_type="im", user=user, thread_ts=question["ts"]
    )
    slack.event(event_body(follow_up))
    _, second = fake.wait_for_call("chat.postMessage", 2, channel=dm)
    assert second.body["thread_ts"] == question["ts"]
    assert len(fake.matching("assistant.threads.setTitle", channel_id=dm)) == 1


def test_a_mention_shows_the_reading_status_in_its_thread(fake, slack, channel):
    top = mention(QUOTA, channel=channel)
    slack.event(event_body(top))
    shown, cleared = fake.wait_for_call("assistant.threads.setStatus", 2, channel_id=channel)
    assert shown.body["status"] == "is reading the article..." and shown.body["thread_ts"] == top["ts"]
    assert cleared.body["status"] == ""


def test_sharing_from_a_private_card_posts_in_the_channel_saying_so(fake, slack, channel):
    name = unique_id("cmd")
    slack.command(command_form(QUOTA, fake.response_url(name), channel=channel, user="U7"))
    (card,) = fake.wait_for_call("response_url", path=f"/response_url/{name}")
    buttons = [e for b in card.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["action_id"] == "share_answer" and buttons[0]["style"] == "primary"
    # More passages on a private card: there is no thread, so its page is shared in the channel.
    more = unique_id("more")
    slack.interaction(
        block_action(
            button_of(card.body["blocks"], "more_passages"),
            response_url=fake.response_url(more),
            channel=channel,
            user="U7",
            ephemeral=True,
        )
    )
    (page,) = fake.wait_for_call("response_url", path=f"/response_url/{more}")
    labels = [e["text"]["text"] for b in page.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "Share in channel" in labels and "Share in thread" not in labels
    shared_page = unique_id("sp")
    slack.interaction(
        block_action(
            button_of(page.body["blocks"], "share_passages"),
            response_url=fake.response_url(shared_page),
            channel=channel,
            user="U7",
            ephemeral=True,
        )
    )
    (posted,) = fake.wait_for_call("chat.postMessage", channel=channel)
    assert posted.body.get("thread_ts") is None
    assert "Shared by <@U7> from a private answer" in texts(posted.body["blocks"])
    # Share the card itself.
    share = unique_id("share")
    slack.interaction(
        block_action(
            button_of(card.body["blocks"], "share_answer"),
            response_url=fake.response_url(share),
            channel=channel,
            user="U7",
            ephemeral=True,
        )
    )
    _, shared = fake.wait_for_call("chat.postMessage", 2, channel=channel)
    assert shared.body["blocks"][0]["block_id"] == "question"  # what "this" is, first
    assert "Shared by <@U7> from a private answer" in texts(shared.body["blocks"])
    assert "with `/advisor`" not in texts(shared.body["blocks"])


def test_sharing_more_passages_from_a_thread_card_posts_in_the_thread(fake, slack, channel):
    top = mention(QUOTA, channel=channel, user="U8")
    slack.event(event_body(top))
    (card,) = fake.wait_for_call("chat.postMessage", channel=channel)
    more = unique_id("more")
    slack.interaction(
        block_action(
            button_of(card.body["blocks"], "more_passages"),
            response_url=fake.response_url(more),
            channel=channel,
            user="U8",
            message_ts=card.answer["ts"],
            thread_ts=top["ts"],
        )
    )
    (page,) = fake.wait_for_call("response_url", path=f"/response_url/{more}")
    share = button_of(page.body["blocks"], "share_passages")
    slack.interaction(
        block_action(
            share, response_url=fake.response_url(unique_id("sp")), channel=channel, user="U8", ephemeral=True
        )
    )
    _, posted = fake.wait_for_call("chat.postMessage", 2, channel=channel)
    assert posted.body["thread_ts"] == top["ts"]
    assert "Shared by <@U8> from a thread" in texts(posted.body["blocks"])


def test_more_passages_in_a_dm_offer_no_share(fake, slack):
    user = unique_id("U")
    dm = dm_of(user)
    question = message(QUOTA, channel=dm, channel_type="im", user=user)
    slack.event(event_body(question))
    (card,) = fake.wait_for_call("chat.postMessage", channel=dm)
    more = unique_id("more")
    slack.interaction(
        block_action(
            button_of(card.body["blocks"], "more_passages"),
            response_url=fake.response_url(more),
            channel=dm,
            user=user,
            thread_ts=question["ts"],
        )
    )
    (page,) = fake.wait_for_call("response_url", path=f"/response_url/{more}")
    assert "share_passages" not in texts(page.body["blocks"])  # no one else is in a DM
    assert page.body["response_type"] == "ephemeral"


def test_a_vote_on_a_channel_card_is_seen_by_the_voter_only(fake, slack, channel):
    top = mention(QUOTA, channel=channel)
    slack.event(event_body(top))
    (card,) = fake.wait_for_call("chat.postMessage", channel=channel)
    vote = unique_id("vote")
    slack.interaction(
        block_action(
            vote_of(card.body["blocks"], helpful=False),
            response_url=fake.response_url(vote),
            channel=channel,
            message_ts=card.answer["ts"],
            thread_ts=top["ts"],
        )
    )
    note = fake.reply_to(vote)
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert "You found this not helpful" in texts(note["blocks"])
    assert "open_ask_modal" in texts(note["blocks"])  # a next step: rephrase
    # Nothing public: no update of the card, no new message in the channel.
    assert fake.matching("chat.update", channel=channel) == []
    assert len(fake.matching("chat.postMessage", channel=channel)) == 1


def test_tips_off_is_announced_where_tips_on_was(fake, slack, channel):
    on = unique_id("on")
    slack.command(command_form("tips on 9am Paris", fake.response_url(on), channel=channel))
    fake.wait_for_call("response_url", path=f"/response_url/{on}")
    (started,) = fake.wait_for_call("chat.postMessage", channel=channel)
    assert "Daily tips are on here" in started.body["text"] and "\n" not in started.body["text"]
    off = unique_id("off")
    slack.command(command_form("tips off", fake.response_url(off), channel=channel))
    (reply,) = fake.wait_for_call("response_url", path=f"/response_url/{off}")
    assert reply.body["response_type"] == "ephemeral" and "off" in reply.body["text"]
    _, stopped = fake.wait_for_call("chat.postMessage", 2, channel=channel)
    assert stopped.body["text"].startswith(":zzz: Daily tips are off here.")
    assert "<@" not in stopped.body["text"] and "\n" not in stopped.body["text"]


def test_a_chinese_locale_gets_the_cards_words_in_chinese_and_the_quote_in_english(fake, slack):
    user = unique_id("U")
    dm = dm_of(user)
    fake.users[user] = {"id": user, "locale": "zh-CN", "tz": "Asia/Shanghai", "is_bot": False}
    slack.event(event_body(message(QUOTA, channel=dm, channel_type="im", user=user)))
    (answer,) = fake.wait_for_call("chat.postMessage", channel=dm)
    blocks = {b["block_id"]: b for b in answer.body["blocks"]}
    assert HAN.search(blocks["verdict"]["text"]["text"])  # "文章认为这由 *…* 负责。"
    quote = blocks["passage_0"]["text"]["text"]
    assert quote.startswith(">") and not HAN.search(quote)  # the article's words, verbatim English
    assert "引文为英文原文" in blocks["source"]["elements"][0]["text"]  # says so, in one line
    vote = blocks["vote"]["elements"][0]
    assert vote["positive_button"]["text"]["text"] == "有帮助"
    locale_calls = [c for c in fake.calls_to("users.info") if c.body.get("user") == user]
    assert locale_calls and all(
        str(c.body.get("include_locale")).lower() in ("1", "true") for c in locale_calls
    )


@pytest.fixture(scope="module")
def multilingual_slack(fake, bot_data_dir, bot_database_url):
    """A bot like the session's with the multilingual model on (the session's answers English
    only, tests/helpers.py), so that a Chinese question is answered, not only worded in Chinese."""
    from tests.slack_harness import BotServer, bot_env

    env = bot_env(fake.url, bot_data_dir, DATABASE_URL=bot_database_url, ADVISOR_MULTILINGUAL="on")
    server = BotServer(env).start()
    yield server.sender()
    server.stop()


def test_a_chinese_dm_gets_a_card_whose_own_words_are_chinese(fake, multilingual_slack):
    user = unique_id("U")
    dm = dm_of(user)
    question = "谁应该制定明年的销售配额？"  # no locale set: the question's language decides
    multilingual_slack.event(event_body(message(question, channel=dm, channel_type="im", user=user)))
    (card,) = fake.wait_for_call("chat.postMessage", channel=dm)
    blocks = {b.get("block_id"): b for b in card.body["blocks"]}
    assert "passage_0" in blocks, "the Chinese question was not answered"
    assert HAN.search(blocks["verdict"]["text"]["text"])  # the card's own words in Chinese
    assert "efficiency and stability" in blocks["source"]["elements"][0]["text"]  # the quota section
    vote = next(b for b in card.body["blocks"] if b["type"] == "context_actions")["elements"][0]
    assert vote["negative_button"]["text"]["text"] == "没帮助"
    for block in card.body["blocks"]:
        if str(block.get("block_id", "")).startswith("passage_"):
            assert not HAN.search(block["text"]["text"])  # a quote is the article's English
