"""manifest.yml matches what the app serves: one URL, the /advisor command, the events it answers."""

from __future__ import annotations

import yaml

from bot.slack.blocks import COMMAND
from bot.slack.listeners.events.questions import FOLLOW_UP_EVENTS
from bot.slack.server import EVENTS_PATH
from tests.slack_harness import REPO

REQUIRED_SCOPES = {
    "app_mentions:read",
    "assistant:write",  # assistant.threads.setSuggestedPrompts (the agent view's Messages tab)
    "chat:write",
    "im:history",
    "im:read",
    "im:write",
    "commands",
    "files:write",  # the full report, as a file in an admin's DM
    "team:read",  # the workspace's name in that report
    "users:read",
    "channels:read",
    "groups:read",
    "channels:history",  # message.channels needs it
    "groups:history",  # message.groups needs it
}
EVENTS = {
    "app_mention",
    "message.im",
    "message.channels",
    "message.groups",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
}


def manifest() -> dict:
    return yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))


def test_manifest_scopes_events_command_and_interactivity():
    data = manifest()
    assert set(data["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES
    events = data["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == EVENTS
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == COMMAND and command["should_escape"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True  # DMs
    urls = {command["url"], events["request_url"], data["settings"]["interactivity"]["request_url"]}
    assert len(urls) == 1 and urls.pop().endswith(EVENTS_PATH)


def test_every_conversation_with_follow_ups_has_its_event_and_history_scope():
    data = manifest()
    events = set(data["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert set(FOLLOW_UP_EVENTS) == {"channel", "group"}  # public and private channels
    for channel_type, event in FOLLOW_UP_EVENTS.items():
        assert event in events, f"follow-ups in a {channel_type} need the {event} event"
        history = {"message.channels": "channels:history", "message.groups": "groups:history"}[event]
        assert history in scopes, f"{event} needs the {history} scope"
    assert "message.im" in events and "im:history" in scopes  # questions by DM


def test_the_agent_view_is_on_with_a_description_and_fallback_prompts(core_advisor):
    from bot.slack import blocks

    agent = manifest()["features"]["agent_view"]
    assert agent["agent_description"].strip()
    # the manifest's prompts (shown when the bot's call did not run) are the ones the bot sets
    assert agent["suggested_prompts"] == blocks.suggested_prompts(core_advisor.example_questions())
    assert "assistant_view" not in manifest()["features"]  # one messaging experience, the new one
