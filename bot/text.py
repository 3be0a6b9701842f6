"""Question clean-up and the lexical tokeniser shared by indexing and search."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_QUESTION_CHARS = 1000  # the model reads ~256 word pieces; more text only costs time

_SLACK_LINK = re.compile(r"<(https?://[^|>]*)\|([^>]*)>")
_SLACK_BARE_LINK = re.compile(r"<(https?://[^|>]*)>")
_SLACK_CHANNEL = re.compile(r"<#[^|>]*\|([^>]*)>")  # a channel's name can carry meaning
_SLACK_TOKEN = re.compile(r"<[#@!][^>]*>")
_EMOJI_CODE = re.compile(r":[a-z0-9_+\-']+:")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Common English words plus question words: they carry no topic.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours hey hi hello please thanks thank pls guys team us let lets let's im i'm
    i'd we're ok okay""".split()
)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` that every database and encoder takes: a lone surrogate (JSON can carry
    ``\\ud800``; UTF-8 cannot) becomes U+FFFD, a NUL (PostgreSQL refuses it) is dropped.
    Paired surrogates never reach here: ``json.loads`` joins them into one character."""
    if not _LONE_SURROGATE.search(text) and "\x00" not in text:
        return text
    return _LONE_SURROGATE.sub("\ufffd", text).replace("\x00", "")


def clean_question(text: str) -> str:
    """Plain text from a Slack message: mentions (labelled or not) and markup removed, emoji dropped.

    Links keep their label, channel links their name."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SLACK_LINK.sub(r"\2", text)
    text = _SLACK_BARE_LINK.sub(r"\1", text)
    text = _SLACK_CHANNEL.sub(r"\1", text)
    text = _SLACK_TOKEN.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = _EMOJI_CODE.sub(" ", text)
    text = "".join(
        ch
        for ch in text
        if unicodedata.category(ch) not in ("So", "Sk", "Cs", "Co", "Cc", "Cf") or ch in "\n\t"
    )
    text = _SPACES.sub(" ", text).strip()
    return text[:MAX_QUESTION_CHARS]


def has_words(text: str) -> bool:
    """True when the text has at least one letter or digit to search for."""
    return any(ch.isalnum() for ch in text)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-worded, stemmed word tokens for BM25."""
    words = [w.replace("'", "") for w in _WORD.findall(text.lower())]
    words = [w for w in words if w not in STOPWORDS and len(w) > 1]
    return _stemmer().stemWords(words) if words else []


class Glossary:
    """Spells out curated abbreviations in a question ("who owns PLM?" -> "... product life ...")."""

    def __init__(self, terms: tuple[tuple[str, str], ...]):
        self._meaning = {term.lower(): meaning for term, meaning in terms}
        alternatives = sorted(self._meaning, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<![\w&])(" + "|".join(map(re.escape, alternatives)) + r")(?![\w&])", re.IGNORECASE)
            if alternatives
            else None
        )

    def expand(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._meaning[m.group(0).lower()], text)
