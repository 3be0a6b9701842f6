"""Experts without Slack: the store's experts area (SQLite and PostgreSQL), the cards' builders,
the channel forms ``/advisor experts`` accepts, the report's figures and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bot.cli.experts import answers, experts
from bot.report import build_report, to_text
from bot.search.saved import SavedMatcher
from bot.slack.admin_home import admin_blocks
from bot.slack.blocks.common import Quote
from bot.slack.blocks.experts import (
    SavedCard,
    escalation_post,
    expert_answer,
    resolved,
    saved_answers_list,
    with_saved_answer,
)
from bot.slack.cards import Cards
from bot.slack.experts import ExpertDesk, parse_channel
from bot.slack.listeners.experts.escalations import question_from_post
from bot.storage import open_store
from bot.storage.rows import utcnow
from tests.slack_harness import assert_inert, assert_within_limits

pytest_plugins = ["tests.pg"]  # database_url: a SQLite file and a PostgreSQL database

HOSTILE = "who owns <!channel> pricing? <@U1> said <https://evil.example|x> & more"


@pytest.fixture
def db(database_url):
    store = open_store(database_url)
    yield store
    store.close()


def escalate(store, key="k1", team="T1", question="who pays for the booth?"):
    return store.claim_escalation(
        key=key,
        team=team,
        asker="UQ",
        channel="C1",
        thread_ts="1.1",
        question=question,
        status="not_covered",
        experts_channel="CX",
    )


def test_an_escalation_is_claimed_once_and_answered_once(db):
    first = escalate(db)
    again = escalate(db, question="changed")  # a retry finds the row claimed before
    assert again.id == first.id and again.question == "who pays for the booth?"
    db.escalation_posted(first.id, "9.9")
    assert db.escalation_at("T1", "CX", "9.9").id == first.id
    assert db.escalation_at("T2", "CX", "9.9") is None  # another workspace's thread
    answered = db.record_expert_answer(first.id, expert="UE", answer="Field Marketing pays.")
    later = db.record_expert_answer(first.id, expert="UE", answer="Field Marketing pays, AEs their travel.")
    assert later.answered_at == answered.answered_at  # the first reply's time stays
    assert later.answer.endswith("their travel.")


def test_saved_answers_are_per_workspace_and_gone_when_deleted_or_uninstalled(db):
    escalation = escalate(db)
    saved = db.save_answer(
        team="T1", question="q", answer="a", expert="UE", saved_by="UE", escalation_id=escalation.id
    )
    again = db.save_answer(
        team="T1", question="q2", answer="a", expert="UE", saved_by="UA", escalation_id=escalation.id
    )
    assert again.id == saved.id and again.question == "q2"  # saving twice updates
    other = db.save_answer(team="T2", question="q", answer="b", expert="UF", saved_by="UF")
    assert [s.id for s in db.saved_answers("T1")] == [saved.id]
    assert (
        db.edit_saved_answer("T1", saved.id, answer="a2") and db.saved_answer("T1", saved.id).answer == "a2"
    )
    assert not db.edit_saved_answer("T2", saved.id, answer="x")  # not T2's
    assert not db.delete_saved_answer("T2", saved.id)
    db.set_experts_channel("T1", "CX")
    db.record_saved_use("T1", saved.id, "C1", "5.5")
    assert db.forget_experts("T1") == 1
    assert db.saved_answers("T1") == [] and db.experts_channel("T1") is None
    assert db.saved_usage(team="T1") == []
    assert [s.id for s in db.saved_answers("T2")] == [other.id]
    assert db.delete_saved_answer("T2", other.id) and db.saved_answers("T2") == []


def test_retention_clears_the_texts_of_escalations(db):
    old = escalate(db, key="old")
    db.record_expert_answer(old.id, expert="UE", answer="text")
    assert db.purge_question_text(0, now=utcnow() + timedelta(seconds=1)) == 0  # no logged question
    (kept,) = db.escalations()
    assert kept.question is None and kept.answer is None and kept.answered_at is not None


def test_the_report_shows_escalations_waits_and_reuse_with_votes(db):
    answered, waiting = escalate(db, key="a"), escalate(db, key="b")
    db.record_expert_answer(answered.id, expert="UE", answer="text")
    saved = db.save_answer(
        team="T1", question="who pays for the booth?", answer="FM", expert="UE", saved_by="UE"
    )
    db.record_saved_use("T1", saved.id, "C2", "7.7")
    db.record_saved_use("T1", saved.id, "C3", None)
    db.record_feedback(
        team="T1", channel="C2", message_ts="7.7", user="U9", question="q", passage_id=None, helpful=False
    )
    report = build_report(db, team="T1")
    figures = report.experts
    assert (figures.escalations, figures.answered, figures.unanswered) == (2, 1, 1)
    assert figures.median_minutes_to_answer is not None
    (used,) = figures.saved
    assert (used.uses, used.helpful, used.not_helpful) == (2, 0, 1)
    home = {b["block_id"]: b for b in admin_blocks(report)}
    assert "who pays for the booth? (shown 2×)" in home["admin_saved"]["text"]["text"]
    fields = [f["text"] for f in home["admin_figures"]["fields"]]
    assert "*Asked an expert*\n2 (1 waiting; median answer 0 min)" in fields
    text = to_text(report)
    assert "asked an expert: 2 (1 answered, 1 waiting)" in text and "shown 2 time(s)" in text
    assert json.dumps(report.to_json(), default=str)
    assert waiting.id != answered.id


def test_the_channel_forms_slack_sends():
    assert parse_channel("<#C0123ABC|sales-experts>") == "C0123ABC"
    assert parse_channel("<#C0123ABC>") == "C0123ABC"
    assert parse_channel(" C0123ABC ") == "C0123ABC"
    assert parse_channel("#sales-experts") is None  # unescaped: no id to keep
    assert parse_channel("<@U0123ABC>") is None


def test_expert_cards_never_ping_and_keep_in_limits():
    quote = Quote(
        text="Marketing sets prices.", section="Pricing", owner="marketing", passage_id="p1", source_title="t"
    )
    post = escalation_post(
        question=HOSTILE * 40,
        asker="UQ9ABC",
        status="low_confidence",
        quote=quote,
        owner="marketing",
        permalink="https://example.slack.com/archives/C1/p1",
        escalation_id=4,
    )
    for message in (post, expert_answer("U7", HOSTILE * 60), resolved(post, "U7", 4, saved_by="U8")):
        assert_inert(message)
        assert_within_limits(message)
    assert question_from_post(post).startswith("who owns <!channel> pricing?")  # the text, unescaped
    saved = SavedCard(id=1, question=HOSTILE, answer=HOSTILE, expert="U7", answered_at=utcnow())
    card = {
        "text": "t",
        "blocks": [{"type": "section", "block_id": "verdict", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    covered = with_saved_answer(card, saved, covered=True)
    ids = [b.get("block_id") for b in covered["blocks"]]
    assert ids.index("saved_answer") < ids.index("article_says") < ids.index("verdict")
    refused = with_saved_answer(card, saved, covered=False)
    assert "verdict" not in [b.get("block_id") for b in refused["blocks"]]
    for message in (covered, refused, saved_answers_list([saved])):
        assert_inert(message)
        assert_within_limits(message)


def test_the_cli_sets_shows_and_turns_off_the_channel_and_edits_saved_answers(settings, database_url):
    settings = settings.with_overrides(database_url_env=database_url)
    runner = CliRunner()

    def run(group, *args, ok=True):
        result = runner.invoke(group, list(args), obj=settings, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    assert "CX1" in run(experts, "set", "T1", "<#CX1|experts>")
    assert "CX1" in run(experts, "show", "T1")
    assert "off" in run(experts, "off", "T1")
    assert "no experts channel" in run(experts, "show", "T1")
    run(experts, "set", "T1", "#experts", ok=False)
    store = open_store(database_url)
    try:
        saved = store.save_answer(team="T1", question="who pays?", answer="FM", expert="UE", saved_by="UE")
        assert "who pays?" in run(answers, "list", "T1")
        run(answers, "edit", "T1", str(saved.id), "--answer", "Field Marketing")
        assert store.saved_answer("T1", saved.id).answer == "Field Marketing"
        run(answers, "delete", "T2", str(saved.id), ok=False)
        run(answers, "delete", "T1", str(saved.id))
        assert store.saved_answers("T1") == []
    finally:
        store.close()


def test_the_desk_shows_a_workspace_only_its_own_saved_answer_and_runs_the_model_once(
    db, core_advisor, monkeypatch
):
    """A paraphrase in the workspace that saved the answer gets it on its card; the same question
    in another workspace, and an unrelated one, do not. The model runs once per question: the
    saved matching reuses the article search's embedding."""
    desk = ExpertDesk(db, SavedMatcher.from_advisor(core_advisor))
    cards = Cards(core_advisor)
    deck = db.save_answer(
        team="T1",
        question="where's the latest pitch deck? the one in Google Drive still has the old logo",
        answer="Always pull it from Highspot: the 'Corporate Pitch Deck FY25' spot is the approved one.",
        expert="UE",
        saved_by="UE",
    )
    db.save_answer(
        team="T1",
        question="Who pays for the booth at SaaStr - is that marketing's budget or does sales chip in?",
        answer="The booth, sponsorship fee and booth staff's travel come out of the Field Marketing budget.",
        expert="UF",
        saved_by="UF",
    )
    calls: list[list[str]] = []
    encode_tokens = core_advisor.embedder.encode_tokens

    def counted(texts, **options):
        calls.append(list(texts))
        return encode_tokens(texts, **options)

    monkeypatch.setattr(core_advisor.embedder, "encode_tokens", counted)

    def shown(team: str, question: str) -> int | None:
        card, answer = cards.answered(question)
        message, saved_id = desk.decorate(team, question, card, answer)
        ids = [b.get("block_id") for b in message["blocks"]]
        assert ("saved_answer" in ids) == (saved_id is not None)
        return saved_id

    paraphrase = "where do I find the current corporate sales deck? mine has outdated branding"
    assert shown("T1", paraphrase) == deck.id  # the saved texts are embedded (and kept) here
    calls.clear()
    assert (
        shown("T1", "is there a newer version of our pitch deck somewhere? the logo on mine is old")
        == deck.id
    )
    assert shown("T2", paraphrase) is None  # another workspace's answer is never shown
    assert shown("T1", "who should set next year's sales quota?") is None
    assert len(calls) == 3 and all(len(texts) == 1 for texts in calls)  # once per question
