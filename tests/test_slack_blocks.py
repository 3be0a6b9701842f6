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


def vote_control(message: dict) -> dict:
    (block,) = [b for b in message["blocks"] if b["type"] == "context_actions"]
    (element,) = block["elements"]
    assert element["type"] == "feedback_buttons" and element["action_id"] == blocks.FEEDBACK
    return element


def test_answer_card_reads_verdict_quote_source_then_actions():
    card = blocks.answer_card(
        "who should set next year's sales quota?",
        "answered",
        "sales",
        [quote("The sales department sets the quota.", "Efficiency or stability?", owner="sales")],
        has_more=True,
    )
    verdict, passage, source, actions, vote = card["blocks"]
    assert verdict["text"]["text"] == "*Sales* owns this, per the article:"
    assert passage["text"]["text"] == ">The sales department sets the quota."  # the quote alone
    assert source["elements"][0]["text"] == (
        'From *"Sales" and "market" who is more important?* · section *Efficiency or stability?* · '
        "<https://www.example.com/article|example.com>"
    )
    assert "quota?" not in json.dumps(source)  # no question echo in a thread
    assert button_ids(card) == ["more_passages"]
    assert blocks.read_value(actions["elements"][0]["value"]) == {
        "q": "who should set next year's sales quota?",
        "o": 1,
        "k": "thread",
        "l": "en",
    }
    assert vote["type"] == "context_actions"
    element = vote_control(card)
    up, down = (blocks.read_value(element[b]["value"]) for b in ("positive_button", "negative_button"))
    assert up == {
        "q": "who should set next year's sales quota?",
        "p": "p_1",
        "k": "thread",
        "l": "en",
        "v": 1,
    }
    assert down["v"] == 0
    assert card["text"].startswith("Sales. “The sales department sets the quota.”")  # verdict first
    assert_within_limits(card)


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ("sales", "*Sales* owns this"),
        ("marketing", "*Marketing* owns this"),
        ("both", "*Both Sales and Marketing*: the article gives each a part."),
        (None, "*From the article:*"),
    ],
)
def test_the_verdict_is_said_once(owner, expected):
    card = blocks.answer_card("q?", "answered", owner, [quote(owner=owner)])
    line = card["blocks"][0]["text"]["text"]
    assert line.startswith(expected)
    name = blocks.verdict_name(owner) if owner else "From the article"
    assert line.count(name) == 1 and "Verdict" not in line


@pytest.mark.parametrize("kind", [blocks.PRIVATE, blocks.SHARED, blocks.ASKED])
def test_the_question_is_echoed_only_away_from_it(kind):
    card = blocks.answer_card("who owns <pricing>?", "answered", "sales", [quote()], kind=kind)
    first, verdict = card["blocks"][:2]  # the question first, then the verdict
    assert first["block_id"] == "question"
    assert first["elements"][0]["text"] == ":speech_balloon: *who owns &lt;pricing&gt;?*"
    assert verdict["block_id"] == "verdict"
    source = next(b for b in card["blocks"] if b.get("block_id") == "source")
    assert "pricing" not in source["elements"][0]["text"]  # the source line is not a second question


def test_private_card_has_share_as_its_one_primary_action_first():
    card = blocks.answer_card("q?", "answered", "both", [quote()], kind=blocks.PRIVATE, has_more=True)
    assert button_ids(card) == ["share_answer", "more_passages"]
    styles = [e.get("style") for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert styles == ["primary", None]
    shared = blocks.shared_by(card, "U123")
    assert any("Shared by <@U123>" in t for t in all_texts(shared))
    shared_line = next(
        b for b in blocks.shared_by(card, "<!channel>")["blocks"] if b.get("block_id") == "shared_by"
    )
    assert shared_line["elements"][0]["text"].startswith("Shared by Someone")


def test_low_confidence_says_so_plainly():
    card = blocks.answer_card("q?", "low_confidence", "marketing", [quote()])
    line = card["blocks"][0]["text"]["text"]
    assert "not sure the article answers this" in line and "*Probably Marketing*" in line
    assert card["text"].startswith("Probably Marketing (not sure the article answers this).")


def test_a_refusal_offers_the_closest_questions_as_buttons_and_a_vote():
    suggestions = ["Who sets the quota?", "Who owns the brand?", "Who runs ads?", "A fourth?"]
    card = blocks.answer_card(
        "what is the capital of France?", "not_covered", None, [quote()], suggestions=suggestions
    )
    assert "doesn't cover that" in card["blocks"][0]["text"]["text"]
    assert "Marketing finds the opportunities." not in json.dumps(card)
    rows = [b for b in card["blocks"] if "accessory" in b]
    assert [r["text"]["text"] for r in rows] == suggestions[:3]  # whole questions: never cut
    buttons = [r["accessory"] for r in rows]
    assert [b["action_id"] for b in buttons] == ["ask_suggestion_0", "ask_suggestion_1", "ask_suggestion_2"]
    assert {b["text"]["text"] for b in buttons} == {"Ask"}
    assert [blocks.read_value(b["value"])["q"] for b in buttons] == suggestions[:3]
    assert all(blocks.ASK_SUGGESTION_PATTERN.match(b["action_id"]) for b in buttons)
    up = blocks.read_value(vote_control(card)["positive_button"]["value"])
    assert up == {"q": "what is the capital of France?", "p": None, "k": "thread", "l": "en", "v": 1}
    assert card["text"].startswith(
        "The article doesn't cover that. The closest questions it answers: Who sets"
    )
    assert_within_limits(card)


def test_a_vote_is_shown_to_the_voter_with_fresh_block_ids_and_a_next_step():
    card = blocks.answer_card("q?", "answered", "sales", [quote()], kind=blocks.PRIVATE)
    mine = blocks.with_votes(card, blocks.Votes(helpful=2, not_helpful=1, mine=False))
    ids = [b["block_id"] for b in mine["blocks"]]
    assert not set(ids) & {b.get("block_id") for b in card["blocks"]}  # every block id is new
    line = next(b for b in mine["blocks"] if b["block_id"].startswith("votes."))
    assert "You found this not helpful" in line["elements"][0]["text"]
    assert "So far: 2 helpful · 1 not helpful" in line["elements"][0]["text"]
    steps = next(b for b in mine["blocks"] if b["block_id"].startswith("next_steps."))
    assert [e["action_id"] for e in steps["elements"]] == [blocks.OPEN_ASK_MODAL]  # rephrase
    assert blocks.read_value(steps["elements"][0]["value"])["q"] == "q?"
    again = blocks.with_votes(mine, blocks.Votes(helpful=3, not_helpful=1, mine=True))
    lines = [b for b in again["blocks"] if b["block_id"].startswith("votes.")]
    assert len(lines) == 1 and "You found this helpful" in lines[0]["elements"][0]["text"]  # replaced
    assert not any(b["block_id"].startswith("next_steps.") for b in again["blocks"])
    assert again["text"] == card["text"]
    note = blocks.vote_reply("q?", blocks.Votes(helpful=0, not_helpful=1, mine=False), kind=blocks.THREAD)
    assert "You found this not helpful" in json.dumps(note) and button_ids(note) == [blocks.OPEN_ASK_MODAL]
    assert button_ids(blocks.vote_reply("q?", blocks.Votes(helpful=1, mine=True), kind=blocks.THREAD)) == []


def test_user_and_article_text_is_escaped_everywhere():
    nasty = " ".join(INJECTIONS) + " & more"
    card = blocks.answer_card(
        f"who pays for {nasty}?",
        "answered",
        "sales",
        [quote(f"quote {nasty}", f"heading {nasty}", source_title=f"title {nasty}")],
        kind=blocks.PRIVATE,
    )
    assert_inert(card)
    context = card["blocks"][0]["elements"][0]["text"]  # the question, first on a private card
    assert (
        "&lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S1&gt; &lt;@U1&gt; &lt;https://evil|x&gt; &amp; more"
        in context
    )
    for message in (
        blocks.more_passages(nasty, [quote(nasty, nasty)], offset=1, has_more=True),
        blocks.not_covered(nasty, [nasty], kind=blocks.PRIVATE),
        blocks.welcome_message([nasty]),
        blocks.help_message([nasty]),
    ):
        assert_inert(message)


def test_slack_escaped_user_text_is_shown_as_typed():
    # Slack sends a typed "<" as "&lt;": it must display as "<", not "&lt;".
    card = blocks.answer_card("is 5 &lt; 6 &amp; true?", "answered", "sales", [quote()], kind=blocks.SHARED)
    assert "*is 5 &lt; 6 &amp; true?*" in card["blocks"][0]["elements"][0]["text"]


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
        kind=blocks.PRIVATE,
    )
    assert_within_limits(card)
    assert_inert(card)
    passage = next(b for b in card["blocks"] if b.get("block_id") == "passage_0")["text"]["text"]
    assert passage.startswith(">A very long sentence") and "…" in passage
    assert "&am…" not in passage and "&l…" not in passage  # never half an entity


def test_many_passages_stay_within_message_limits():
    quotes = [quote("x & y " * 250, f"Section {i}", passage_id=f"p_{i}") for i in range(80)]
    message = blocks.more_passages("q?", quotes, offset=1, has_more=True)
    assert_within_limits(message)
    assert message["blocks"][0]["block_id"] == "intro"
    assert message["blocks"][-1]["type"] == "actions"  # the share and next-page buttons survive
    assert sum(b.get("block_id", "").startswith("passage_") for b in message["blocks"]) >= 1


def test_more_passages_pages_on():
    message = blocks.more_passages(
        "q?", [quote(passage_id="p_2"), quote(passage_id="p_3")], offset=1, has_more=True, thread_ts="1.2"
    )
    share, more = message["blocks"][-1]["elements"]
    assert share["action_id"] == blocks.SHARE_PASSAGES and share["style"] == "primary"
    assert share["text"]["text"] == "Share in thread"
    assert blocks.read_value(share["value"]) == {"q": "q?", "o": 1, "t": "1.2", "k": "thread", "l": "en"}
    assert blocks.read_value(more["value"]) == {"q": "q?", "o": 3, "k": "thread", "l": "en"}
    assert message["blocks"][3]["elements"][0]["text"].startswith("Points to *Marketing*  ·  From *")
    # a private card has no thread: its passages are shared in the channel
    private = blocks.more_passages(
        "q?", [quote()], offset=1, has_more=False, share="channel", thread_ts="1.2"
    )
    (button,) = private["blocks"][-1]["elements"]
    assert button["text"]["text"] == "Share in channel" and blocks.read_value(button["value"])["t"] is None
    in_dm = blocks.more_passages("q?", [quote()], offset=1, has_more=False, share=None)
    assert button_ids(in_dm) == []
    last = blocks.more_passages("q?", [], offset=9, has_more=False)
    assert "That's everything" in last["text"] and button_ids(last) == []


def test_button_values_fit_with_a_long_question():
    question = "é" * 5000
    card = blocks.answer_card(question, "answered", "sales", [quote()], has_more=True, kind=blocks.PRIVATE)
    values = [e["value"] for b in card["blocks"] for e in b.get("elements", []) if e.get("type") == "button"]
    vote = vote_control(card)
    values += [vote["positive_button"]["value"], vote["negative_button"]["value"]]
    assert len(values) == 4
    for value in values:
        assert len(value) <= blocks.MAX_BUTTON_VALUE
        assert blocks.read_value(value)["q"] == "é" * blocks.QUESTION_VALUE_CHARS
    assert blocks.read_value("not json") == {}
    assert blocks.read_value("[1]") == {}


def test_help_is_a_few_lines_and_buttons():
    message = blocks.help_message(["Who sets the quota?", "Who runs ads?", "C?", "D?"])
    assert button_ids(message) == [blocks.OPEN_ASK_MODAL]
    rows = [b for b in message["blocks"] if "accessory" in b]
    assert [r["text"]["text"] for r in rows] == ["Who sets the quota?", "Who runs ads?", "C?"]
    ways = message["blocks"][-1]["elements"][0]["text"]
    assert "/advisor QUESTION" in ways and "/advisor tips on" in ways
    assert len(message["blocks"]) <= 6
    assert_within_limits(message)


def test_home_view_puts_admin_figures_first_then_asks_and_says_things_in_words():
    view = blocks.home_view(
        title="The <article>",
        publisher="Pub & Co",
        date="2023-12-01",
        url="https://example.com/a",
        sections=[
            SectionInfo(
                "Today or tomorrow?", "Sales is <today>.", "both", ("cash flow",), ("future demand",)
            ),
            SectionInfo("Behind the scenes", "Marketers do research.", "marketing"),
        ],
        examples=["Who sets the quota?", "Who runs ads?"],
        subscriptions=[
            ChannelTips("C123", "09:00", "Europe/Paris", "weekdays", True, None),
            ChannelTips("C456", "10:30", "Asia/Tokyo", "daily", True, "not_in_channel"),
            ChannelTips("C555", "10:30", "Asia/Tokyo", "daily", True, "is_archived"),
            ChannelTips("C666", "10:30", "Asia/Tokyo", "daily", True, "weird_error"),
            ChannelTips("C789", "10:30", "Asia/Tokyo", "daily", False, None),
        ],
        admin_blocks=[{"type": "section", "block_id": "admin", "text": {"type": "mrkdwn", "text": "A"}}],
    )
    assert view["type"] == "home" and len(view["blocks"]) <= blocks.MAX_HOME_BLOCKS
    assert view["blocks"][0]["block_id"] == "admin" and view["blocks"][1]["type"] == "divider"
    ask = next(b for b in view["blocks"] if b.get("block_id") == "home_actions")
    assert ask["elements"][0]["action_id"] == blocks.OPEN_ASK_MODAL
    rows = [b for b in view["blocks"] if "accessory" in b]
    assert [r["text"]["text"] for r in rows] == ["Who sets the quota?", "Who runs ads?"]
    assert all(blocks.ASK_SUGGESTION_PATTERN.match(r["accessory"]["action_id"]) for r in rows)
    assert blocks.read_value(rows[0]["accessory"]["value"]) == {
        "q": "Who sets the quota?",
        "k": "asked",
        "l": "en",
    }
    text = "\n".join(all_texts(view))
    assert "<https://example.com/a|The &lt;article&gt;> (Pub &amp; Co, 2023-12-01)" in text
    assert "• <#C123>: on weekdays at 09:00 Europe/Paris" in text
    assert (
        "• <#C456>: *paused*: the bot was removed from <#C456>; invite it back with `/invite @advisor`"
        in text
    )
    assert "• <#C555>: *paused*: <#C555> was archived" in text
    assert "Slack refused the last tip (weird_error); run `/advisor tips on` in <#C666>" in text
    assert "C789" not in text  # unsubscribed
    assert "/advisor tips on" in text


def test_suggested_prompts_have_short_titles_and_the_welcome_other_examples():
    questions = [
        "Who should set next year's sales quota?",
        "Should we build a sales team or a marketing team first?",
        "Who should do market research and competitor analysis?",
        "D?",
        "Who should run advertising and trade shows?",
        "F?",
    ]
    prompts = blocks.suggested_prompts(questions)
    assert prompts[0] == {"title": "Set next year's sales quota", "message": questions[0]}
    assert len(prompts) == 4  # Slack shows up to four
    for prompt, question in zip(prompts, questions, strict=False):
        assert len(prompt["title"]) <= blocks.messages.TITLE_CHARS and prompt["message"] == question
        assert prompt["title"].split()[-1].lower() not in ("a", "or", "the", "and")
    welcome = blocks.welcome_message(questions)
    assert welcome["text"].startswith("Hi! Ask me who should own a piece of work")
    shown = [b["text"]["text"] for b in welcome["blocks"] if "accessory" in b]
    assert shown and not set(shown) & {p["message"] for p in prompts[:2]}  # not the first prompts again
    assert_within_limits(welcome)


def test_tip_card_ends_with_the_footer():
    card = blocks.tip_card("Title", quote(), footer="Daily tips here: stop with `/advisor tips off`")
    assert [b["block_id"] for b in card["blocks"]] == ["tip_title", "tip_quote", "tip_source", "tip_footer"]
    assert card["blocks"][-1]["elements"][0]["text"] == "Daily tips here: stop with `/advisor tips off`"


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
