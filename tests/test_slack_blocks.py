"""The Block Kit builders: pure functions, checked on their whole output without any mock."""

from __future__ import annotations

import json

import pytest

from bot.slack import blocks
from bot.slack.blocks import ChannelTips, Quote, SectionInfo
from bot.slack.escape import escape, unescape
from tests.slack_harness import all_texts, assert_inert, assert_within_limits

INJECTIONS = ["<!channel>", "<!here>", "<!subteam^S1>", "<@U1>", "<https://evil|x>"]


def quote(text="Marketing finds the opportunities.", section="Sell first or market first?", **kw):
    defaults = dict(
        owner="marketing",
        passage_id="p_1",
        source_title='"Sales" and "market" who is more important?',
        source_url="https://www.example.com/article",
    )
    return Quote(text=text, section=section, **{**defaults, **kw})


def button_ids(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_escape_round_trip():
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"
    assert unescape(escape("<!channel> & <@U1>")) == "<!channel> & <@U1>"


def test_answer_card_has_verdict_quote_heading_link_and_buttons():
    card = blocks.answer_card(
        "who should set next year's sales quota?",
        "answered",
        "sales",
        [quote("The sales department sets the quota.", "Efficiency or stability?", owner="sales")],
        has_more=True,
    )
    verdict, passage, context, actions = card["blocks"]
    assert verdict["text"]["text"].startswith("*Verdict: Sales.*")
    assert passage["text"]["text"] == (
        ">The sales department sets the quota.\n"
        "— *Efficiency or stability?* · "
        '<https://www.example.com/article|"Sales" and "market" who is more important?>'
    )
    assert "who should set next year's sales quota?" in context["elements"][0]["text"]
    assert button_ids(card) == ["more_passages", "feedback_helpful", "feedback_not_helpful"]
    values = [blocks.read_value(e["value"]) for e in actions["elements"]]
    assert values[0] == {"q": "who should set next year's sales quota?", "o": 1}
    assert values[1]["p"] == "p_1"
    assert card["text"].startswith("Verdict: Sales. “The sales department sets the quota.”")
    assert_within_limits(card)


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ("sales", "*Verdict: Sales.*"),
        ("marketing", "*Verdict: Marketing.*"),
        ("both", "*Verdict: Both Sales and Marketing.*"),
    ],
)
def test_verdict_line_per_owner(owner, expected):
    card = blocks.answer_card("q?", "answered", owner, [quote(owner=owner)])
    assert card["blocks"][0]["text"]["text"].startswith(expected)


def test_private_card_offers_share_in_channel():
    card = blocks.answer_card("q?", "answered", "both", [quote()], ephemeral=True)
    assert button_ids(card)[-1] == "share_answer"
    shared = blocks.shared_by(card, "U123")
    assert any("Shared by <@U123>" in t for t in all_texts(shared))
    assert blocks.shared_by(card, "<!channel>")["blocks"][-2]["elements"][0]["text"].startswith(
        "Shared by Someone"
    )


def test_low_confidence_says_so_plainly():
    card = blocks.answer_card("q?", "low_confidence", "marketing", [quote()])
    line = card["blocks"][0]["text"]["text"]
    assert "not sure the article answers this" in line and "*Marketing*" in line
    assert card["text"].startswith("Not sure the article answers this")


def test_not_covered_suggests_questions_and_shows_no_quote():
    examples = ["Who sets the quota?", "Who owns the brand?"]
    card = blocks.answer_card(
        "what is the capital of France?", "not_covered", None, [quote()], examples=examples
    )
    text = card["blocks"][0]["text"]["text"]
    assert "doesn't cover that" in text
    assert "• Who sets the quota?" in text and "• Who owns the brand?" in text
    assert "Marketing finds the opportunities." not in json.dumps(card)
    assert button_ids(card) == []
    assert card["text"].startswith("The article doesn't cover that. Try: Who sets the quota?")


def test_user_and_article_text_is_escaped_everywhere():
    nasty = " ".join(INJECTIONS) + " & more"
    card = blocks.answer_card(
        f"who pays for {nasty}?",
        "answered",
        "sales",
        [quote(f"quote {nasty}", f"heading {nasty}", source_title=f"title {nasty}")],
        ephemeral=True,
    )
    assert_inert(card)
    context = card["blocks"][2]["elements"][0]["text"]
    assert (
        "&lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S1&gt; &lt;@U1&gt; &lt;https://evil|x&gt; &amp; more"
        in context
    )
    for message in (
        blocks.more_passages(nasty, [quote(nasty, nasty)], offset=1, has_more=True),
        blocks.not_covered(nasty, [nasty]),
        blocks.help_message([nasty]),
    ):
        assert_inert(message)


def test_slack_escaped_user_text_is_shown_as_typed():
    # Slack sends a typed "<" as "&lt;": it must display as "<", not "&lt;".
    card = blocks.answer_card("is 5 &lt; 6 &amp; true?", "answered", "sales", [quote()])
    assert "*Q:* is 5 &lt; 6 &amp; true?" in card["blocks"][2]["elements"][0]["text"]


def test_source_link_cannot_be_bent():
    text = blocks.link("https://example.com/a|b<c>d?x=1&y=2", "T")
    assert text == "<https://example.com/a%7Cb%3Cc%3Ed?x=1&amp;y=2|T>"
    assert blocks.link("javascript:alert(1)", "T") == "T"
    assert blocks.link(None, "<!here>") == "&lt;!here&gt;"


def test_huge_texts_are_cut_inside_limits():
    long_quote = ("A very long sentence about <b> sales & marketing " * 400).strip()
    card = blocks.answer_card(
        "why? " * 2000,
        "answered",
        "both",
        [quote(long_quote, "H & <h> " * 300, source_title="T & <t> " * 100)],
        has_more=True,
        ephemeral=True,
    )
    assert_within_limits(card)
    assert_inert(card)
    passage = card["blocks"][1]["text"]["text"]
    assert passage.startswith(">A very long sentence") and "…" in passage
    assert "&am…" not in passage and "&l…" not in passage  # never half an entity


def test_many_passages_stay_within_message_limits():
    quotes = [quote("x & y " * 250, f"Section {i}", passage_id=f"p_{i}") for i in range(80)]
    message = blocks.more_passages("q?", quotes, offset=1, has_more=True)
    assert_within_limits(message)
    assert message["blocks"][0]["block_id"] == "intro"
    assert message["blocks"][-1]["type"] == "actions"  # the next-page button survives trimming
    assert sum(b.get("block_id", "").startswith("passage_") for b in message["blocks"]) >= 1


def test_more_passages_pages_on():
    message = blocks.more_passages(
        "q?", [quote(passage_id="p_2"), quote(passage_id="p_3")], offset=1, has_more=True
    )
    more = message["blocks"][-1]["elements"][0]
    assert blocks.read_value(more["value"]) == {"q": "q?", "o": 3}
    assert "_Points to Marketing._" in message["blocks"][2]["text"]["text"]
    last = blocks.more_passages("q?", [], offset=9, has_more=False)
    assert "That's everything" in last["text"] and button_ids(last) == []


def test_not_helpful_page_apologises():
    message = blocks.more_passages("q?", [quote()], offset=1, has_more=False, not_helpful=True)
    assert message["text"].startswith("Sorry that didn't help.")


def test_button_values_fit_with_a_long_question():
    question = "é" * 5000
    card = blocks.answer_card(question, "answered", "sales", [quote()], has_more=True, ephemeral=True)
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["value"]) <= blocks.MAX_BUTTON_VALUE
                assert blocks.read_value(element["value"])["q"] == "é" * blocks.QUESTION_VALUE_CHARS
    assert blocks.read_value("not json") == {}
    assert blocks.read_value("[1]") == {}


def test_help_lists_usage_and_examples():
    message = blocks.help_message(["Who sets the quota?"])
    usage = message["blocks"][0]["text"]["text"]
    assert "/advisor QUESTION" in usage and "/advisor tips on" in usage
    assert "• Who sets the quota?" in message["blocks"][1]["text"]["text"]
    assert_within_limits(message)


def test_home_view_lists_sections_examples_tips_and_channels():
    view = blocks.home_view(
        title="The <article>",
        publisher="Pub & Co",
        date="2023-12-01",
        url="https://example.com/a",
        sections=[SectionInfo("Sell first or market first?", "Marketing comes <first>.", "both")] * 3,
        examples=["Who sets the quota?"],
        subscriptions=[
            ChannelTips("C123", "09:00", "Europe/Paris", "weekdays", True, None),
            ChannelTips("C456", "10:30", "Asia/Tokyo", "daily", True, "not_in_channel"),
            ChannelTips("C789", "10:30", "Asia/Tokyo", "daily", False, None),
        ],
    )
    assert view["type"] == "home" and len(view["blocks"]) <= blocks.MAX_HOME_BLOCKS
    text = "\n".join(all_texts(view))
    assert "<https://example.com/a|The &lt;article&gt;> (Pub &amp; Co, 2023-12-01)" in text
    assert "*Sell first or market first?* (Both Sales and Marketing)\nMarketing comes &lt;first&gt;." in text
    assert "• <#C123> at 09:00 Europe/Paris, weekdays" in text
    assert "• <#C456> at 10:30 Asia/Tokyo, daily — paused: not_in_channel" in text
    assert "C789" not in text  # unsubscribed
    assert "/advisor tips on" in text
    assert "open_ask_modal" in json.dumps(view)


def test_home_view_without_subscriptions():
    view = blocks.home_view(title="T", publisher=None, date=None, url=None, sections=[], examples=[])
    assert "No channel in this workspace gets daily tips yet." in json.dumps(view)


def test_home_view_when_subscriptions_could_not_be_loaded_says_so():
    view = json.dumps(
        blocks.home_view(
            title="T", publisher=None, date=None, url=None, sections=[], examples=[], subscriptions=None
        )
    )
    assert "I couldn't load the channels subscribed to daily tips right now." in view
    assert "No channel" not in view


def test_ask_form_unavailable_says_how_else_to_ask():
    message = blocks.ask_form_unavailable()
    assert message["text"].startswith("Sorry, I couldn't open the question form.")
    assert "`/advisor QUESTION`" in message["text"]
    assert_within_limits(message)


def test_ask_modal_shape():
    modal = blocks.ask_modal()
    assert modal["callback_id"] == blocks.ASK_MODAL
    assert modal["blocks"][0]["block_id"] == blocks.ASK_INPUT_BLOCK
    assert modal["blocks"][0]["element"]["action_id"] == blocks.ASK_INPUT_ACTION


def test_error_message_is_plain_and_friendly():
    message = blocks.error_message()
    assert message["text"].startswith("Sorry, something went wrong")
    assert_within_limits(message)
