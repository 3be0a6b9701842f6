"""The question log and ``advisor report``: a scripted session over HTTP, then the report of it.

The bot (token mode, a fresh database on SQLite and PostgreSQL) runs behind a real HTTP server
in this process (``WSGIBot``); questions go in as signed mentions, a DM, a slash command and
a vote, exactly as Slack sends them. ``advisor report --json`` must count exactly those.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import text as sql

from bot.report import build_report, group_questions, to_html
from bot.slack.client import make_client
from bot.slack.tips import SlackTipPoster
from bot.tips.scheduler import start_scheduler_thread
from tests.fake_slack import wait_until
from tests.helpers import invoke
from tests.slack_harness import (
    SIGNING_SECRET,
    WSGIBot,
    block_action,
    command_form,
    event_body,
    mention,
    message,
    unique_id,
    vote_of,
)

pytest_plugins = ["tests.pg"]

ANSWERED = [
    "who should set next year's sales quota?",
    "Which is more important between efficiency and stability?",
]
WEATHER = ["what's the weather in Paris today?", "what is the weather like in Paris today"]
PIZZA = "recommend a good pizza place near the office"
LOW = "what about the boss"


@pytest.fixture
def settings(settings, database_url):
    return settings.with_overrides(database_url_env=database_url, slack_signing_secret=SIGNING_SECRET)


@pytest.fixture
def bot(settings, store, core_advisor):
    server = WSGIBot.answering(settings, core_advisor, store).start()
    yield server.sender()
    server.stop()


def ask(bot, fake, text: str, *, team: str = "T1") -> dict:
    """A mention in a channel of its own; the answer posted (waited for)."""
    channel = unique_id("C")
    assert bot.event(event_body(mention(text, channel=channel), team=team)).status == 200
    return fake.wait_for_call("chat.postMessage", channel=channel)[0]


def scripted_session(bot, fake) -> None:
    """Eight questions: two answered mentions (one voted helpful), three not covered (two
    alike), one with low confidence, an answered DM and /advisor question; and a bare mention,
    which is no question at all."""
    first = ask(bot, fake, ANSWERED[0])
    ask(bot, fake, ANSWERED[1])
    for text in (*WEATHER, PIZZA, LOW):
        ask(bot, fake, text)
    dm = unique_id("D")
    bot.event(event_body(message("who sets the sales quota for next year?", channel=dm, channel_type="im")))
    fake.wait_for_call("chat.postMessage", channel=dm)
    name = unique_id("slash")
    bot.command(command_form("who handles direct mail?", fake.response_url(name), channel=unique_id("C")))
    fake.reply_to(name)
    help_channel = unique_id("C")
    bot.event(event_body(mention("", channel=help_channel)))  # a bare mention: help, not a question
    fake.wait_for_call("chat.postMessage", channel=help_channel)
    # A helpful vote on the first answer.
    vote = unique_id("vote")
    click = block_action(
        vote_of(first.body["blocks"], helpful=True),
        response_url=fake.response_url(vote),
        channel=first.body["channel"],
        message_ts=first.answer["ts"],
    )
    assert bot.interaction(click).status == 200
    fake.reply_to(vote)  # the vote, shown to the voter only


def test_the_report_counts_exactly_what_was_asked(bot, fake_slack, settings, store):
    scripted_session(bot, fake_slack)
    wait_until(
        lambda: len(store.logged_questions()) == 8,
        what=lambda: f"eight logged questions, not {len(store.logged_questions())}",
    )
    wait_until(lambda: store.votes_since(), what="the vote stored")
    result = invoke("report", "--json", "--since", "1", env={"DATABASE_URL": settings.database_url})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["questions"] == 8
    assert report["by_status"] == {"answered": 4, "low_confidence": 1, "not_covered": 3}
    assert report["unanswered"] == [
        {"question": WEATHER[0], "count": 2},
        {"question": PIZZA, "count": 1},
    ]
    assert report["low_confidence"] == [{"question": LOW, "count": 1}]
    assert report["feedback"] == {"helpful": 1, "not_helpful": 0}
    assert report["by_channel_type"] == {"channel": 7, "im": 1}
    assert sum(day["answered"] for day in report["per_day"]) == 4
    assert report["median_latency_ms"] >= 0
    (section,) = report["votes_by_section"]
    assert (section["helpful"], section["not_helpful"]) == (1, 0)
    assert section["name"] == "Which is more important between efficiency and stability?"
    (passage,) = report["votes_by_passage"]
    assert passage["helpful"] == 1  # named by its section and first words, never by its id
    assert passage["name"].startswith("Which is more important between efficiency and stability?: “")

    # No channel and no user anywhere in the log.
    with store.engine.connect() as conn:
        columns = [
            c[1] for c in conn.exec_driver_sql("SELECT * FROM question_log LIMIT 0").cursor.description
        ]
    assert "channel" not in columns and "user" not in columns

    # One workspace's report: another team's questions are not in it.
    ask(bot, fake_slack, PIZZA, team="T-OTHER")  # token mode answers it; the log keys it by team
    wait_until(lambda: len(store.logged_questions(team="T-OTHER")) == 1, what="the other team's question")
    only = json.loads(
        invoke("report", "--json", "--team", "T1", env={"DATABASE_URL": settings.database_url}).output
    )
    assert only["questions"] == 8 and only["team"] == "T1"
    everyone = build_report(store, since_days=1)
    assert everyone.questions == 9 and everyone.teams == ["T-OTHER", "T1"]
    assert everyone.unanswered[1] == type(everyone.unanswered[1])(PIZZA, 2)

    # Text and HTML from the same report.
    text = invoke("report", "--since", "1", env={"DATABASE_URL": settings.database_url}).output
    assert "questions: 9 (answered 4, low confidence 1, not covered 4)" in text
    assert f"     2  {WEATHER[0]}" in text


def test_the_retention_default_is_one_constant(store):
    """The settings and a question log built without them keep question texts as long."""
    from bot.config import QUESTION_RETENTION_DAYS, Settings
    from bot.slack.question_log import QuestionLog

    assert Settings().question_retention_days == QUESTION_RETENTION_DAYS
    assert QuestionLog(store).retention_days == QUESTION_RETENTION_DAYS


def test_retention_zero_keeps_no_text_but_counts(bot, fake_slack, settings, store, core_advisor):
    quiet = WSGIBot.answering(settings.with_overrides(question_retention_days=0), core_advisor, store).start()
    try:
        ask(quiet.sender(), fake_slack, WEATHER[0])
    finally:
        quiet.stop()
    (row,) = wait_until(lambda: store.logged_questions(), what="the logged question")
    assert row.question is None and row.status == "not_covered"
    report = build_report(store, since_days=1)
    assert report.questions == 1 and report.by_status["not_covered"] == 1
    assert report.unanswered == [] and report.without_text == 1


def test_the_scheduler_purges_text_past_retention_and_keeps_counts(settings, store):
    now = datetime.now(UTC)
    old = store.log_question(
        team="T1",
        channel_type="channel",
        status="not_covered",
        question="an old question",
        top_section=None,
        top_passage=None,
        score=1.0,
        latency_ms=120,
        message_ts="1.1",
        now=now - timedelta(days=31),
    )
    store.record_feedback(
        team="T1",
        channel="C1",
        message_ts="1.1",
        user="U1",
        question="an old question",
        passage_id="p1",
        helpful=False,
    )
    with store.engine.begin() as conn:  # the vote is as old as its question
        conn.execute(sql("UPDATE feedback SET created_at = :at"), {"at": now - timedelta(days=31)})
    store.log_question(
        team="T1",
        channel_type="im",
        status="answered",
        question="a new question",
        top_section="S",
        top_passage="p2",
        score=30.0,
        latency_ms=80,
        message_ts="2.2",
        now=now - timedelta(days=1),
    )
    scheduler = start_scheduler_thread(
        settings.with_overrides(question_retention_days=30, tips_check_seconds=0.05),
        store,
        SlackTipPoster(make_client(settings)),  # no subscriptions: only the purge has work
    )
    try:
        wait_until(
            lambda: next(r for r in store.logged_questions() if r.id == old).question is None,
            what="the old question's text purged",
        )
    finally:
        scheduler.stop()
    rows = {r.message_ts: r for r in store.logged_questions()}
    assert rows["2.2"].question == "a new question"
    assert rows["1.1"].not_helpful == 1 and rows["1.1"].status == "not_covered"
    assert [v.question for v in store.votes_since()] == [""]
    report = build_report(store, since_days=60)
    assert report.questions == 2 and report.without_text == 1
    assert report.by_status == {"answered": 1, "low_confidence": 0, "not_covered": 1}
    assert report.feedback == {"helpful": 0, "not_helpful": 1}


def test_alike_questions_are_grouped_and_different_ones_are_not():
    groups = group_questions(
        [
            "who sets the price?",
            "Who sets the price?",
            "The price: who sets it?",
            "who sets the quota?",
            "who owns the website?",
            "who owns the web site?",
            "who sets the price?",
        ]
    )
    assert [(g.question, g.count) for g in groups] == [
        ("who sets the price?", 4),  # the most frequent wording names the group
        ("who owns the website?", 2),
        ("who sets the quota?", 1),
    ]
    assert group_questions(["", "?!"]) == []


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.fetches: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") or (name == "xlink:href" and not (value or "").startswith("#")):
                self.fetches.append(f"{tag} {name}={value}")
        if tag in ("link", "script", "img", "iframe"):
            self.fetches.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _sample_report(store):
    now = datetime.now(UTC)
    for n, (status, text) in enumerate(
        [("answered", "who sets the quota?"), ("not_covered", "<b>what's</b> the weather & <!channel>?")] * 3
    ):
        row = dict(team="T1", channel_type="channel", status=status, question=text, top_passage=f"p{n}")
        store.log_question(
            **row,
            top_section="Pricing",
            score=20.0,
            latency_ms=100 + n,
            message_ts=f"{n}.1",
            now=now - timedelta(days=n),
        )
    store.record_feedback(
        team="T1", channel="C1", message_ts="0.1", user="U1", question="q", passage_id="p0", helpful=True
    )
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC")
    return build_report(store, since_days=7, now=now)


def test_the_html_report_is_one_self_contained_page_with_inline_charts(store, tmp_path):
    page = to_html(_sample_report(store))
    parsed = _Page()
    parsed.feed(page)
    assert parsed.tags.count("svg") == 1  # questions per day (votes are tables: they wrap on a phone)
    assert parsed.fetches == []  # nothing to fetch: no scripts, stylesheets, images or links
    assert "<!channel>" not in page and "<b>what" not in page  # user text escaped
    assert "&lt;b&gt;what&#x27;s&lt;/b&gt; the weather &amp; &lt;!channel&gt;?" in page
    assert "weather" in "".join(parsed.text)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_the_html_report_renders_in_headless_chromium(store, tmp_path, settings):
    browser = _chromium()
    if browser is None:
        if os.environ.get("ADVISOR_TEST_CHROMIUM") == "required":  # CI: never skip it
            pytest.fail("no Chromium on this machine (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    _sample_report(store)
    path = tmp_path / "report.html"
    result = invoke(
        "report", "--since", "7", "--html", str(path), env={"DATABASE_URL": settings.database_url}
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {path} (6 question(s))" in result.output
    shot = tmp_path / "report.png"
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    # The browser built the charts' SVG elements (text drawn by matplotlib kept as text).
    assert dom.count("<svg") == 1 and "Questions per day, by outcome" in dom
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1100,1600", path.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_html_report_reads_on_a_phone_without_sideways_scrolling(store, tmp_path):
    from tests.helpers import render_cards_script

    browser = _chromium()
    if browser is None:
        if os.environ.get("ADVISOR_TEST_CHROMIUM") == "required":  # CI: never skip it
            pytest.fail("no Chromium on this machine (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    _sample_report(store)
    long = "who should own the " + "very-long-unbroken-product-name-" * 6 + " launch?"
    store.log_question(
        team="T1",
        channel_type="channel",
        status="not_covered",
        question=long,
        top_section=None,
        top_passage=None,
        score=None,
        latency_ms=10,
        message_ts=None,
    )
    report = build_report(store, since_days=7, team_names={"T1": "A workspace with a rather long name, Inc."})
    page = tmp_path / "report.html"
    page.write_text(to_html(report), encoding="utf-8")
    metrics = render_cards_script().measure(browser, page, 390)
    assert metrics["overflow"] == 0, metrics  # nothing wider than the phone: no sideways scrolling
    assert "low confidence" in page.read_text()  # its own tile
