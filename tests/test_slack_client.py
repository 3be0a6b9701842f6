"""The Web API client retries only what cannot have reached Slack (and 429s), never a sent post."""

from __future__ import annotations

import socket
from urllib.error import URLError

import pytest

from bot.config import Settings
from bot.slack.client import UnsentRequestRetryHandler, make_client, never_sent
from tests.fake_slack import FakeSlack


def client_for(url: str):
    return make_client(Settings(slack_api_url=url, slack_bot_token="xoxb-test"))


def test_a_connection_closed_after_the_request_was_sent_is_not_retried(fake_slack):
    fake_slack.drop("chat.postMessage", channel="C1")
    with pytest.raises(ConnectionError):
        client_for(fake_slack.url).chat_postMessage(channel="C1", text="hi")
    assert len(fake_slack.posts()) == 1  # Slack had it once; no second copy


def test_a_refused_connection_is_retried_until_slack_is_there():
    # A bound socket that does not listen refuses connections: the port is ours meanwhile.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    started: list[FakeSlack] = []
    client = client_for(f"http://127.0.0.1:{port}/api/")
    (unsent,) = [h for h in client.retry_handlers if isinstance(h, UnsentRequestRetryHandler)]
    retries: list[BaseException | None] = []
    can_retry = unsent._can_retry

    def first_refusal_brings_slack_up(**kwargs) -> bool:
        allowed = can_retry(**kwargs)
        if allowed:
            retries.append(kwargs.get("error"))
        if allowed and not started:  # refused: Slack comes up before the retry is sent
            holder.close()
            started.append(FakeSlack(port=port).start())
        return allowed

    unsent._can_retry = first_refusal_brings_slack_up
    try:
        response = client.chat_postMessage(channel="C1", text="hi")
        assert response["ok"] and len(started[0].posts()) == 1
        assert len(retries) == 1 and never_sent(retries[0]), retries  # refused once, retried once
    finally:
        holder.close()
        for fake in started:
            fake.stop()


def test_only_refused_and_unresolvable_connections_count_as_never_sent():
    assert never_sent(URLError(ConnectionRefusedError(111, "Connection refused")))
    assert never_sent(URLError(socket.gaierror(-2, "Name or service not known")))
    assert never_sent(ConnectionRefusedError())
    assert not never_sent(URLError(ConnectionResetError(104, "Connection reset by peer")))
    assert not never_sent(URLError(TimeoutError("timed out")))
    assert not never_sent(ConnectionResetError())
    assert not never_sent(TimeoutError())
    assert not never_sent(None)
