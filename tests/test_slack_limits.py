"""A 100-paragraph knowledge file full of long, hostile text still yields cards inside Slack's limits."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.slack_harness import (
    BotServer,
    assert_inert,
    assert_within_limits,
    block_action,
    bot_env,
    button_of,
    command_form,
    event_body,
    mention,
    unique_id,
)

HOSTILE = "<!channel> <!here> <!subteam^S1> <@U1> <https://evil|x> & "
WORDS = "sales quota pricing leads brand customers forecast territory campaign budget".split()


def paragraph(i: int, words: int) -> str:
    # One sentence (no full stop inside), so each paragraph is one long passage and quote.
    body = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(words))
    return f"Paragraph {i} says {HOSTILE}the team handles {body} and more"


def big_article() -> dict:
    sections = []
    for s, owner in enumerate(("sales", "marketing", "both", "sales")):
        sections.append(
            {
                "id": f"section-{s}",
                "heading": f"Section {s}: who owns the {HOSTILE}" + "very long heading " * 40,
                "takeaway": f"Takeaway {s} {HOSTILE}" + "the sales quota is set here " * 80,
                "owner": owner,
                "questions": [f"Who sets the sales quota in section {s}?"],
                # 25 paragraphs a section, 100 in all; every fifth is enormous.
                "paragraphs": [paragraph(25 * s + p, 900 if p % 5 == 0 else 120) for p in range(25)],
            }
        )
    return {
        "kind": "article",
        "id": "big",
        "title": f"A {HOSTILE}title " + "that goes on " * 30,
        "source": {
            "publisher": f"Publisher {HOSTILE}",
            "date": "2024-01-01",
            "url": "https://example.com/big|<article>?a=1&b=2",
        },
        "sections": sections,
    }


@pytest.fixture(scope="module")
def bot(fake, tmp_path_factory):
    root = tmp_path_factory.mktemp("big-knowledge")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    article = big_article()
    assert sum(len(s["paragraphs"]) for s in article["sections"]) == 100
    (knowledge / "big.yaml").write_text(yaml.safe_dump(article, width=10_000), encoding="utf-8")
    env = bot_env(fake.url, root / "data", ADVISOR_KNOWLEDGE_DIR=str(knowledge))
    server = BotServer(env).start(timeout=600)
    yield server
    server.stop()


def wait_calls(fake, method, count=1, timeout=15.0, **where):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [
            c
            for c in fake.calls_to(method)
            if all(c.body.get(k) == v or c.path == v for k, v in where.items())
        ]
        if len(found) >= count:
            return found
        time.sleep(0.01)
    raise AssertionError(f"no {method} call with {where}")


def check(message: dict) -> None:
    assert_within_limits(message)
    assert_inert(message)


def test_cards_from_a_huge_article_stay_inside_the_limits(fake, bot):
    slack = bot.sender()
    channel = unique_id("C")
    top = mention("who sets the sales quota and the budget for leads?", channel=channel)
    slack.event(event_body(top))
    (card,) = wait_calls(fake, "chat.postMessage", channel=channel)
    check(card.body)
    assert card.body["blocks"][1]["block_id"] == "passage_0"
    assert "…" in card.body["blocks"][1]["text"]["text"]  # the enormous quote was cut
    assert "<https://example.com/big%7C%3Carticle%3E?a=1&amp;b=2|" in card.body["blocks"][1]["text"]["text"]

    # Page through "More passages" to the end: every page inside the limits.
    page_card, pages = card, 0
    while "more_passages" in json.dumps(page_card.body["blocks"]):
        pages += 1
        more = button_of(page_card.body["blocks"], "more_passages")
        slack.interaction(
            block_action(
                more, response_url=fake.response_url(unique_id("m")), channel=channel, thread_ts=top["ts"]
            )
        )
        page_card = wait_calls(fake, "chat.postMessage", pages + 1, channel=channel)[-1]
        check(page_card.body)
    assert pages >= 3

    name = unique_id("cmd")
    slack.command(command_form("who sets the sales quota?", fake.response_url(name), channel=channel))
    (private,) = wait_calls(fake, "response_url", path=f"/response_url/{name}")
    check(private.body)

    click = unique_id("nh")
    slack.interaction(
        block_action(
            button_of(private.body["blocks"], "feedback_not_helpful"),
            response_url=fake.response_url(click),
            channel=channel,
            ephemeral=True,
        )
    )
    (offer,) = wait_calls(fake, "response_url", path=f"/response_url/{click}")
    check(offer.body)

    help_reply = slack.command(command_form("help", fake.response_url(unique_id("h"))))
    check(json.loads(help_reply.body))

    user = unique_id("U")
    slack.event(event_body({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}))
    (home,) = wait_calls(fake, "views.publish", user_id=user)
    view = home.body["view"]
    assert len(view["blocks"]) <= 100
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
    assert len(json.dumps(view)) < 100_000
    assert_inert({"blocks": view["blocks"]})
