"""The cards' own words, one catalog per language (``en.yaml``, ``zh.yaml``, ``es.yaml`` beside
this file, the same keys in each), and which language a card is in.

Builders call ``say(lang, key, **values)``; no card wording lives in code. A missing key in a
language falls back to English (the catalogs are checked to have the same keys by
tests/test_slack_words.py). The article's quotes are never translated: a card in another
language says that the article is quoted in English.

A card's language (``card_language``): the Slack user's locale when it is one of ours and not
English (Slack's default, ``en-US``, says little: most people never change it), else the
question's own language (``Answer.language`` when the core gives one, else a script check of
the question), else English.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

LANGUAGES = ("en", "zh", "es")
DEFAULT = "en"
_HERE = Path(__file__).resolve().parent

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Words and marks that only Spanish of our languages uses; two of them make a question Spanish.
_SPANISH = re.compile(
    r"[¿¡ñ]|\b(?:quién|quien|qué|cómo|debe|deberíamos|debería|ventas|el|la|los|las|del|una|para|"
    r"nuestro|nuestra|equipo|empresa|porque|cuál)\b",
    re.IGNORECASE,
)


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """The catalog of ``lang`` (a key of ``LANGUAGES``): key -> template."""
    with open(_HERE / f"{lang}.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    return {str(k): str(v) for k, v in data.items()}


def language(lang: str | None) -> str:
    """``lang`` if it is one of ours, else English."""
    return lang if lang in LANGUAGES else DEFAULT


def say(lang: str | None, key: str, **values: str) -> str:
    """The words for ``key`` in ``lang`` (English when the language or the key is missing),
    with ``values`` filled in."""
    template = catalog(language(lang)).get(key)
    if template is None:
        template = catalog(DEFAULT)[key]
    return template.format(**values) if values else template


def from_locale(locale: str | None) -> str | None:
    """``zh-CN`` -> ``zh``, ``es-ES`` -> ``es``, ``en-US`` -> ``en``; None for others."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def from_text(text: str) -> str:
    """The language a question is written in, by its script (Han: Chinese) and a few words only
    Spanish uses; English otherwise."""
    text = text or ""
    if len(_HAN.findall(text)) >= 2:
        return "zh"
    if len(_SPANISH.findall(text)) >= 2:
        return "es"
    return DEFAULT


def card_language(locale: str | None = None, *, answer=None, question: str = "") -> str:
    """The language of a card: a non-English Slack locale of ours, else the question's language
    (the core's ``Answer.language`` when it has one), else English."""
    chosen = from_locale(locale)
    if chosen and chosen != DEFAULT:
        return chosen
    detected = language(getattr(answer, "language", None) or None) if answer is not None else None
    if detected and detected != DEFAULT:
        return detected
    return from_text(question)
