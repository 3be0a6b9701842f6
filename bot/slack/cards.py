"""Questions in, Slack messages out: asks the core and hands plain data to the builders."""

from __future__ import annotations

from collections.abc import Sequence

from ..search.advisor import Advisor
from ..search.answer import Answer, Hit, not_covered_line
from ..text import clean_question, has_words
from . import blocks
from .blocks import ChannelTips, Quote, SectionInfo


def is_question(text: str) -> bool:
    """True when ``text`` (Slack markup and mentions removed) has something to search for."""
    return has_words(clean_question(text))


def section_info(section) -> SectionInfo:
    """A section for the Home tab: its takeaway and the jobs it gives each department (the
    first topic of each curated assignment, in the article's order, without repeats)."""
    jobs: dict[str, list[str]] = {"sales": [], "marketing": []}
    for assignment in section.assignments:
        listed = jobs.get(assignment.owner)
        if listed is not None and assignment.topics and assignment.topics[0] not in listed:
            listed.append(assignment.topics[0])
    return SectionInfo(
        heading=section.heading,
        takeaway=section.takeaway,
        owner=section.owner,
        sales=tuple(jobs["sales"][:3]),
        marketing=tuple(jobs["marketing"][:3]),
    )


class Cards:
    """Builds every message the bot sends about the article, from one loaded ``Advisor``
    (shared between threads: the core takes care of its own thread safety)."""

    def __init__(self, advisor: Advisor, *, top_k: int = 3):
        self.advisor = advisor
        self.top_k = max(2, top_k)

    @staticmethod
    def quotes(hits: Sequence[Hit]) -> list[Quote]:
        return [
            Quote(
                text=hit.quote,
                section=hit.passage.section,
                owner=hit.owner,
                passage_id=hit.passage.id,
                source_title=hit.document_title,
                source_url=hit.source.url if hit.source else None,
            )
            for hit in hits
        ]

    def answer(
        self, question: str, *, kind: str = blocks.THREAD, ephemeral: bool = False, locale: str | None = None
    ) -> dict:
        """The answer card for ``question`` (Slack's text, mentions already removed), laid out
        for where it is shown (``blocks.THREAD``, ``PRIVATE``, ``SHARED`` or ``ASKED``) and in the
        asker's language (``locale``: their Slack locale, see ``blocks.card_language``); a
        refusal offers the three covered questions closest to it. ``ephemeral`` means
        ``kind=PRIVATE``."""
        return self.answered(question, kind=kind, ephemeral=ephemeral, locale=locale)[0]

    def answered(
        self,
        question: str,
        *,
        kind: str = blocks.THREAD,
        ephemeral: bool = False,
        locale: str | None = None,
        lang: str | None = None,
    ) -> tuple[dict, Answer]:
        """The answer card for ``question`` and the core's answer it shows (for the log), from
        one call into the core. ``lang`` forces the card's language (a click on a card keeps
        the card's); otherwise it is chosen from ``locale`` and the question."""
        kind = blocks.PRIVATE if ephemeral else kind
        answer = self.advisor.ask(question, k=self.top_k)
        lang = (
            lang
            if lang in blocks.LANGUAGES
            else blocks.card_language(locale, answer=answer, question=question)
        )
        covered = answer.status != "not_covered"
        view = answer.article_view
        card = blocks.answer_card(
            question,
            answer.status,
            answer.owner,
            self.quotes(answer.hits[:1]) if covered else [],
            suggestions=answer.suggestions,
            has_more=len(answer.hits) > 1,
            kind=kind,
            lang=lang,
            stance=answer.stance,
            stance_quote=answer.stance_quote,
            stance_condition=answer.stance_condition,
            company=covered and answer.hits[0].company,
            article_view=self.quotes([view])[0] if view is not None else None,
            refusal=not_covered_line(answer.documents) if len(answer.documents) > 1 else None,
        )
        return card, answer

    def examples(self) -> list[str]:
        return self.advisor.example_questions()

    def more(
        self,
        question: str,
        offset: int,
        *,
        share: str | None = "thread",
        thread_ts: str | None = None,
        kind: str = blocks.THREAD,
        lang: str = "en",
    ) -> dict:
        """Passages ``offset`` onwards (a page of them), with a button for the next page and
        (``share``: "thread", "channel" or None) one to share them where the card is."""
        offset = max(1, min(int(offset), blocks.MAX_PASSAGES))
        end = min(offset + blocks.PAGE, blocks.MAX_PASSAGES)
        answer = self.advisor.ask(question, k=end + 1)
        hits = answer.hits[offset:end] if answer.status != "not_covered" else ()
        return blocks.more_passages(
            question,
            self.quotes(hits),
            offset=offset,
            has_more=len(answer.hits) > end and end < blocks.MAX_PASSAGES,
            share=share,
            thread_ts=thread_ts,
            kind=kind,
            lang=lang,
        )

    def help(self, lang: str = "en") -> dict:
        return blocks.help_message(self.advisor.example_questions(), lang)

    def welcome(self, lang: str = "en") -> dict:
        return blocks.welcome_message(self.advisor.example_questions(), lang)

    def home(self, subscriptions: Sequence | None = (), *, admin_blocks: Sequence[dict] = ()) -> dict:
        """The App Home view; ``subscriptions`` are the workspace's tip subscriptions (None:
        they could not be loaded); ``admin_blocks`` (an admin's figures) go first."""
        document = self.advisor.knowledge.documents[0]
        source = document.source
        return blocks.home_view(
            title=document.title,
            publisher=source.publisher if source else None,
            date=source.date if source else None,
            url=source.url if source else None,
            sections=[section_info(s) for s in self.advisor.knowledge.sections()],
            admin_blocks=admin_blocks,
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
