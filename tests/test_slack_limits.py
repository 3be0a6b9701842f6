"""A 100-paragraph knowledge file full of long, hostile text still yields cards inside Slack's limits."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml
from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond

from bot.config import Settings
from bot.knowledge import load_knowledge
from bot.search.advisor import Advisor
from bot.search.store import build_index
from bot.slack.cards import Cards
from bot.slack.client import SingleWorkspace, make_client
from bot.slack.jobs import JobWorkers
from bot.slack.listeners.actions.answer_buttons import AnswerButtons
from bot.slack.listeners.commands.advisor import AdvisorCommand
from bot.slack.listeners.events.app_home import AppHome
from bot.slack.listeners.events.questions import Questions
from bot.slack.queue import JobQueue
from bot.storage import open_store
from tests.slack_harness import (
    BOT_USER,
    TEAM,
    assert_inert,
    assert_within_limits,
    block_action,
    button_of,
    command_form,
    event_body,
    mention,
    source_text,
    unique_id,
    vote_of,
)

QUESTION = "who sets the sales quota and the budget for leads?"
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
                # The enormous first paragraph answers the test's question, as curated: the word
                # soup alone scores below the article-fitted bar for a reply.
                "sentence_questions": [
                    {"quote": f"Paragraph {25 * s} says", "questions": [QUESTION.replace("?", f" in {s}?")]}
                ],
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
def listeners(fake, tmp_path_factory, core_embedder, core_data_dir):
    """The listener classes over an advisor of the huge article, in-process: what they post is
    what the bot's server would post (the same classes, the same WebClient, the fake Slack).
    (``core_data_dir``: its model export is copied into this index, not made again.)"""
    root = tmp_path_factory.mktemp("big-knowledge")
    knowledge_dir = root / "knowledge"
    knowledge_dir.mkdir()
    article = big_article()
    assert sum(len(s["paragraphs"]) for s in article["sections"]) == 100
    (knowledge_dir / "big.yaml").write_text(yaml.safe_dump(article, width=10_000), encoding="utf-8")
    knowledge = load_knowledge(knowledge_dir)
    advisor = Advisor(knowledge, core_embedder, build_index(knowledge, core_embedder, root / "index"))
    settings = Settings(
        knowledge_dir=knowledge_dir, data_dir=root, slack_api_url=fake.url, slack_bot_token="xoxb-test"
    )
    store = open_store(settings.database_url)
    cards = Cards(advisor, top_k=settings.top_k)
    client = make_client(settings)
    queue = JobQueue(store)
    questions, command = Questions(cards, store, queue), AdvisorCommand(cards, store, settings, queue)
    queue.add({**questions.handlers(), **command.handlers()})  # as their kinds' ``register`` do
    yield SimpleNamespace(
        client=client,
        questions=questions,
        buttons=AnswerButtons(cards, store),
        command=command,
        home=AppHome(cards, store),
        workers=JobWorkers(queue, SingleWorkspace(client)),  # run on the test's thread: run_due()
    )
    store.close()


class Acks:
    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, **kwargs) -> None:
        self.calls.append(kwargs)


def check(message: dict) -> None:
    assert_within_limits(message)
    assert_inert(message)


def test_cards_from_a_huge_article_stay_inside_the_limits(fake, listeners):
    client, context = listeners.client, BoltContext(team_id=TEAM, bot_user_id=BOT_USER)
    channel = unique_id("C")
    top = mention(QUESTION.replace("?", " in 0?"), channel=channel)
    listeners.questions.on_mention(body=event_body(top), event=top, context=context, client=client)
    listeners.workers.run_due()
    (card,) = fake.matching("chat.postMessage", channel=channel)
    check(card.body)
    assert card.body["blocks"][1]["block_id"] == "passage_0"
    # The quote is the article's (escaped, inert), the enormous paragraph its question was
    # curated for; cutting an enormous one to fit is in test_slack_blocks.
    assert card.body["blocks"][1]["text"]["text"].startswith(">Paragraph 0 says ")
    assert "<https://example.com/big%7C%3Carticle%3E?a=1&amp;b=2|example.com>" in source_text(
        card.body["blocks"]
    )

    # Page through "More passages" to the end: every page inside the limits.
    page_card, pages = card, 0
    while "more_passages" in json.dumps(page_card.body["blocks"]):
        pages += 1
        name = unique_id("m")
        body = block_action(
            button_of(page_card.body["blocks"], "more_passages"),
            response_url=fake.response_url(name),
            channel=channel,
            thread_ts=top["ts"],
        )
        listeners.buttons.more_passages(
            ack=Acks(),
            body=body,
            action=body["actions"][0],
            respond=Respond(response_url=fake.response_url(name)),
            context=context,
        )
        (page_card,) = fake.matching("response_url", path=f"/response_url/{name}")  # privately
        assert len(fake.matching("chat.postMessage", channel=channel)) == 1
        check(page_card.body)
    assert pages >= 3

    name = unique_id("cmd")
    form = command_form("who sets the sales quota?", fake.response_url(name), channel=channel)
    listeners.command.handle(ack=Acks(), command=form, context=context)
    listeners.workers.run_due()
    (private,) = fake.matching("response_url", path=f"/response_url/{name}")
    check(private.body)

    click = unique_id("nh")
    body = block_action(
        vote_of(private.body["blocks"], helpful=False),
        response_url=fake.response_url(click),
        channel=channel,
        ephemeral=True,
    )
    listeners.buttons.vote(
        ack=Acks(),
        body=body,
        action=body["actions"][0],
        respond=Respond(response_url=fake.response_url(click)),
        client=client,
        context=context,
    )
    (voted,) = fake.matching("response_url", path=f"/response_url/{click}")
    assert voted.body["replace_original"] is True
    check(voted.body)

    acks = Acks()
    help_form = command_form("help", fake.response_url(unique_id("h")))
    listeners.command.handle(ack=acks, command=help_form, context=context)
    (help_reply,) = acks.calls
    check(help_reply)

    user = unique_id("U")
    event = {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}
    listeners.home.on_home_opened(event=event, context=context, client=client)
    (home,) = fake.matching("views.publish", user_id=user)
    view = home.body["view"]
    assert len(view["blocks"]) <= 100
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
    assert len(json.dumps(view)) < 100_000
    assert_inert({"blocks": view["blocks"]})
