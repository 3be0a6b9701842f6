"""The fake Slack itself answers the way the real Web API does, through slack_sdk."""

import time

import pytest
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack.client import make_client


def client_for(fake_slack):
    return make_client(Settings(slack_api_url=fake_slack.url, slack_bot_token="xoxb-test"))


def test_records_post_and_returns_ts(fake_slack):
    client = client_for(fake_slack)
    response = client.chat_postMessage(channel="C1", text="hi")
    assert response["ts"]
    (call,) = fake_slack.posts()
    assert call.body["channel"] == "C1" and call.body["text"] == "hi"
    assert call.headers["Authorization"] == "Bearer xoxb-test"


def test_scripted_error_then_ok(fake_slack):
    client = client_for(fake_slack)
    fake_slack.fail("chat.postMessage", "not_in_channel")
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="hi")
    assert info.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]


def test_rate_limit_is_waited_out(fake_slack):
    client = client_for(fake_slack)
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert time.monotonic() - started >= 1.0
    assert len(fake_slack.posts()) == 2
