"""Questions in, Slack messages out: asks the core and hands plain data to the builders."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..retrieval import Advisor, Answer, Hit
from ..text import clean_question, has_words
from . import blocks
from .blocks import ChannelTips, Quote, SectionInfo


def is_question(text: str) -> bool:
    """True when ``text`` (Slack markup and mentions removed) has something to search for."""
    return has_words(clean_question(text))


class Cards:
    """Builds every message the bot sends about the article, from one loaded ``Advisor``."""

    def __init__(self, advisor: Advisor, *, top_k: int = 3):
        self.advisor = advisor
        self.top_k = max(2, top_k)
        # The tokenizer behind the model is not safe to call from several threads at once;
        # a question takes milliseconds, so listeners take turns.
        self._lock = threading.Lock()

    def ask(self, question: str, k: int) -> Answer:
        with self._lock:
            return self.advisor.ask(question, k=k)

    def quotes(self, hits: Sequence[Hit]) -> list[Quote]:
        result = []
        for hit in hits:
            document = self.advisor.document(hit.passage.document_id)
            source = document.source
            result.append(
                Quote(
                    text=hit.quote,
                    section=hit.passage.section,
                    owner=hit.owner,
                    passage_id=hit.passage.id,
                    source_title=document.title,
                    source_url=source.url if source else None,
                )
            )
        return result

    def answer(self, question: str, *, ephemeral: bool = False) -> dict:
        """The answer card for ``question`` (Slack's text, mentions already removed)."""
        return self.answered(question, ephemeral=ephemeral)[0]

    def answered(self, question: str, *, ephemeral: bool = False) -> tuple[dict, Answer]:
        """The answer card for ``question`` and the core's answer it shows (for the log)."""
        answer = self.ask(question, self.top_k)
        card = blocks.answer_card(
            question,
            answer.status,
            answer.owner,
            self.quotes(answer.hits[:1]) if answer.status != "not_covered" else [],
            examples=self.advisor.example_questions(),
            has_more=len(answer.hits) > 1,
            ephemeral=ephemeral,
        )
        return card, answer

    def more(self, question: str, offset: int, *, not_helpful: bool = False) -> dict:
        """Passages ``offset`` onwards (a page of them), with a button for the next page."""
        offset = max(1, min(int(offset), blocks.MAX_PASSAGES))
        end = min(offset + blocks.PAGE, blocks.MAX_PASSAGES)
        answer = self.ask(question, end + 1)
        hits = answer.hits[offset:end] if answer.status != "not_covered" else ()
        return blocks.more_passages(
            question,
            self.quotes(hits),
            offset=offset,
            has_more=len(answer.hits) > end and end < blocks.MAX_PASSAGES,
            not_helpful=not_helpful,
        )

    def help(self) -> dict:
        return blocks.help_message(self.advisor.example_questions())

    def home(self, subscriptions: Sequence | None = ()) -> dict:
        """The App Home view; ``subscriptions`` are the workspace's tip subscriptions (None:
        they could not be loaded)."""
        document = self.advisor.knowledge.documents[0]
        source = document.source
        return blocks.home_view(
            title=document.title,
            publisher=source.publisher if source else None,
            date=source.date if source else None,
            url=source.url if source else None,
            sections=[
                SectionInfo(heading=s.heading, takeaway=s.takeaway, owner=s.owner)
                for s in self.advisor.knowledge.sections()
            ],
            examples=self.advisor.example_questions(),
            subscriptions=None
            if subscriptions is None
            else [
                ChannelTips(
                    channel=s.channel,
                    local_time=s.local_time,
                    tz=s.tz,
                    days=s.days,
                    active=s.active,
                    paused_reason=s.paused_reason,
                )
                for s in subscriptions
            ],
        )
