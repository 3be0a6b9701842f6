"""The cards' words: one catalog per language with the same keys, the language a card is in,
and the asker's locale read once per user."""

from __future__ import annotations

import ast
import re
import string

import pytest

from bot.knowledge import VERDICTS
from bot.slack import blocks
from bot.slack.blocks import words
from bot.slack.client import make_client
from bot.slack.locales import Locales
from tests.slack_harness import assert_inert, assert_within_limits


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", [lang for lang in words.LANGUAGES if lang != "en"])
def test_every_language_says_everything_english_does_with_the_same_placeholders(lang):
    english, other = words.catalog("en"), words.catalog(lang)
    assert set(english) <= set(other), set(english) - set(other)
    for key, template in english.items():
        assert placeholders(other[key]) == placeholders(template), key
    for owner in VERDICTS:  # the owners' names (English ones are bot.knowledge.VERDICTS)
        assert other[f"owner.{owner}"] and blocks.verdict_name(owner, lang) == other[f"owner.{owner}"]
    assert blocks.verdict_name("sales", "en") == VERDICTS["sales"]


def test_the_language_of_a_card():
    assert words.from_locale("zh-CN") == "zh" and words.from_locale("es_ES") == "es"
    assert words.from_locale("en-GB") == "en" and words.from_locale("fr-FR") is None
    assert words.from_text("谁应该制定明年的销售配额？") == "zh"
    assert words.from_text("¿Quién debe fijar la cuota de ventas?") == "es"
    assert words.from_text("who should set the quota?") == "en"
    assert words.from_text("who owns 1 市 thing") == "en"  # one stray character is not a language
    # a non-English locale wins; Slack's default (en-US) leaves it to the question
    assert words.card_language("es-ES", question="who sets the quota?") == "es"
    assert words.card_language("en-US", question="谁负责销售配额？") == "zh"
    assert words.card_language(None, question="who sets the quota?") == "en"

    class Answer:
        language = "es"

    assert words.card_language("en-US", answer=Answer(), question="quota") == "es"  # the core's, when given


@pytest.mark.parametrize("lang", words.LANGUAGES)
def test_every_card_builds_in_every_language_within_limits(lang):
    quote = blocks.Quote(
        "Sales sets the quota.", "Efficiency or stability?", "sales", "p_1", "Title", "https://e.com"
    )
    messages = [
        blocks.answer_card("q?", "answered", "sales", [quote], kind=blocks.PRIVATE, has_more=True, lang=lang),
        blocks.answer_card("q?", "low_confidence", "both", [quote], kind=blocks.PRIVATE, lang=lang),
        blocks.answer_card("q?", "answered", "sales", [quote], stance="warns", lang=lang),
        blocks.not_covered("q?", ["A?", "B?"], kind=blocks.PRIVATE, lang=lang),
        blocks.more_passages("q?", [quote], offset=1, has_more=True, lang=lang),
        blocks.help_message(["A?"], lang),
        blocks.welcome_message(["A?", "B?", "C?"], lang),
        blocks.error_message(lang),
        blocks.vote_reply(
            "q?", blocks.Votes(helpful=1, not_helpful=1, mine=False), kind=blocks.THREAD, lang=lang
        ),
    ]
    for message in messages:
        assert_within_limits(message)
        assert_inert(message)
    card = messages[0]
    if lang != "en":  # the note that the quote is English, in the asker's language
        assert words.say(lang, "source.english") in card["blocks"][-3]["elements"][0]["text"]
    assert card["blocks"][2]["text"]["text"] == ">Sales sets the quota."  # never translated


def test_no_card_word_is_left_in_the_builders():
    """The words a card says are the catalog's: no string in the card builders' code (their
    docstrings aside) holds a sentence of the answer card, the refusal or the buttons."""
    strings = []
    for name in ("answers", "messages"):
        tree = ast.parse(open(f"bot/slack/blocks/{name}.py", encoding="utf-8").read())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        strings += [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        ]
    code = "\n".join(strings)
    for template in words.catalog("en").values():
        longest = max(re.split(r"\{[a-z_]+\}", template), key=len).strip(" *:.")
        if len(longest) > 12:
            assert longest not in code, longest


def test_a_users_locale_is_read_once_and_cached(fake_slack, settings):
    fake_slack.users["ULOC"] = {"id": "ULOC", "locale": "es-ES"}
    locales, client = Locales(), make_client(settings)
    assert locales.of(client, "ULOC", "T1") == "es-ES"
    assert locales.of(client, "ULOC", "T1") == "es-ES"
    calls = [c for c in fake_slack.calls_to("users.info") if c.body.get("user") == "ULOC"]
    assert len(calls) == 1 and calls[0].body["include_locale"] in ("1", "true", True)
    fake_slack.fail("users.info", "user_not_found")
    assert locales.of(client, "UOTHER", "T1") is None  # unknown: the card follows the question
