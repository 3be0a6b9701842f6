"""The App Home's admin section: this week's figures and top unanswered, for admins and owners only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_bolt import BoltContext

from bot.report import build_report
from bot.slack.admin_home import admin_blocks
from bot.slack.blocks import MAX_HOME_BLOCKS, home_view
from bot.slack.cards import Cards
from bot.slack.client import make_client
from bot.slack.listeners.events.app_home import AppHome
from tests.slack_harness import all_texts, assert_inert

OFF_TOPIC = [
    "who waters the office plants <!channel>?",
    "what's the wifi password",
    "when is the summer party this year",
    "how do I book a meeting room",
    "which parking spots are free on Fridays",
    "where is the espresso machine",
]


def shown(question: str) -> str:
    return question.replace("<", "&lt;").replace(">", "&gt;").replace("'", "'")


@pytest.fixture
def home(core_advisor, store):
    return AppHome(Cards(core_advisor), store)


def log(store, team: str, status: str, question: str | None, *, days_ago: float = 1, **extra) -> None:
    store.log_question(
        team=team,
        channel_type="channel",
        status=status,
        question=question,
        top_section=extra.get("section"),
        top_passage=None,
        score=10.0,
        latency_ms=extra.get("latency", 1500),
        message_ts=None,
        now=datetime.now(UTC) - timedelta(days=days_ago),
    )


def published_text(fake, user: str) -> str:
    (publish,) = fake.matching("views.publish", user_id=user)
    return "\n".join(all_texts({"blocks": publish.body["view"]["blocks"]}))


def test_admins_and_owners_see_this_weeks_figures_and_top_unanswered(home, fake_slack, store, settings):
    for n, question in enumerate(OFF_TOPIC):
        for _ in range(6 - n):  # question n asked 6 - n times: the top five are 0..4
            log(store, "T1", "not_covered", question)
    log(store, "T1", "answered", "who sets the quota?")
    log(store, "T1", "not_covered", "an old one", days_ago=9)  # last week: not counted
    log(store, "T2", "not_covered", "another workspace's question")  # not this workspace's
    fake_slack.users["UADMIN"] = {"id": "UADMIN", "is_admin": True}
    fake_slack.users["UOWNER"] = {"id": "UOWNER", "is_owner": True}
    fake_slack.users["UPLAIN"] = {"id": "UPLAIN", "is_admin": False, "is_owner": False}
    client = make_client(settings)
    for user in ("UADMIN", "UOWNER", "UPLAIN"):
        event = {"type": "app_home_opened", "user": user, "tab": "home"}
        home.on_home_opened(event=event, context=BoltContext(team_id="T1"), client=client)

    for admin in ("UADMIN", "UOWNER"):
        text = published_text(fake_slack, admin)
        assert text.startswith("\n*This week* · only admins and owners see this")  # figures first
        assert "*Questions*\n22" in text and "*Answered*\n5%" in text and "*Not covered*\n21" in text
        assert "*Median reply*\n1.5 s" in text
        lines = text.split("*Top unanswered*\n")[1].split("\n")[:4]
        assert lines[:3] == [f"{n + 1}. {shown(q)} ({6 - n}×)" for n, q in enumerate(OFF_TOPIC[:3])]
        assert "espresso" not in text and "another workspace" not in text and "an old one" not in text
        assert "advisor report" not in text and "--html" not in text  # no shell command in Slack
        (publish,) = fake_slack.matching("views.publish", user_id=admin)
        buttons = [e for b in publish.body["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert "send_full_report" in [e["action_id"] for e in buttons]
        assert_inert({"text": "home", "blocks": publish.body["view"]["blocks"]})
    plain = published_text(fake_slack, "UPLAIN")
    assert "This week" not in plain and "Top unanswered" not in plain
    assert "Ask a question" in plain  # the ordinary Home, unchanged
    assert {c.body["user"] for c in fake_slack.calls_to("users.info")} == {"UADMIN", "UOWNER", "UPLAIN"}


def test_the_home_still_goes_out_when_users_info_fails(home, fake_slack, settings, caplog):
    fake_slack.fail("users.info", "user_not_found")
    event = {"type": "app_home_opened", "user": "UX", "tab": "home"}
    home.on_home_opened(event=event, context=BoltContext(team_id="T1"), client=make_client(settings))
    text = published_text(fake_slack, "UX")
    assert "Ask a question" in text and "This week" not in text
    assert any("admin section" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_the_admin_section_fits_the_home_and_says_when_nothing_went_unanswered(store):
    blocks = admin_blocks(build_report(store, since_days=7, team="T1"))
    assert "None this week." in "\n".join(all_texts({"blocks": blocks}))
    view = home_view(
        title="T", publisher=None, date=None, url=None, sections=[], examples=[], admin_blocks=blocks
    )
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert view["blocks"][: len(blocks)] == blocks  # first, before the ordinary Home, in Slack's limit


def test_the_full_report_button_sends_the_report_to_the_admins_dm_as_a_file(
    core_advisor, fake_slack, store, settings
):
    from bot.slack.listeners.actions.admin_report import AdminReport

    log(store, "T1", "not_covered", "what's the wifi password")
    fake_slack.users["UADMIN2"] = {"id": "UADMIN2", "is_admin": True}
    fake_slack.users["UPLAIN2"] = {"id": "UPLAIN2", "is_admin": False}
    sender = AdminReport(Cards(core_advisor), store)
    client = make_client(settings)
    for user in ("UADMIN2", "UPLAIN2"):
        body = {"user": {"id": user}, "team": {"id": "T1"}}
        sender.send(ack=lambda *a, **k: None, body=body, client=client, context=BoltContext(team_id="T1"))
    (complete,) = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.body["channel_id"] == "DUADMIN2"  # the admin's DM, nowhere else
    (upload,) = fake_slack.calls_to("file_upload")
    page = upload.body["content"]
    assert page.startswith("<!doctype html>") and "wifi password" in page
    assert "workspace Example Co" in page  # the workspace's name, not its id
    (refused,) = fake_slack.matching("chat.postMessage", channel="UPLAIN2")
    assert "for workspace admins and owners" in refused.body["text"]
