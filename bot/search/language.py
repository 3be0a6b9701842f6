"""Which language a question is written in: its script, then its function words.

A question in a non-Latin script is told by its letters (Han without kana: Chinese; kana:
Japanese; Hangul: Korean; Cyrillic: Russian; Arabic; Thai). A Latin-script question is told
by its commonest short words ("que", "los", "por" against "the", "what", "should"): a Slack
message in Spanish keeps its Spanish function words around the English jargon it borrows
("el pipeline de leads"), and an English question seldom carries two Spanish ones. Anything
undecided is English, the knowledge's own language, so the English path never changes for
an English question (every English question set is detected as English: tests and
``scripts/eval_sets.py``).
"""

from __future__ import annotations

import re

ENGLISH = "en"

# The languages told apart here: those of the multilingual model (USE multilingual v3,
# bot/search/multilingual.py), which reads Chinese in both scripts as one.
LANGUAGES = ("ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh")

_SCRIPTS = (  # (language, letters of its script); kana before Han: Japanese mixes both
    ("ja", re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")),
    ("zh", re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")

# Frequent short words of each Latin-script language, none of them an English word.
_FUNCTION_WORDS = {
    "en": "the a an is are was be to of and in on for with what who which how why should do does did we our "
    "you your it this that they their can i my me not or if when there have has at by from would could",
    "es": "el la los las un una unos unas de del que qué y o en es son está están por para con sin como "
    "cómo cuál cual quién quien cuando cuándo donde dónde se lo le les nos nuestro nuestra nuestros "
    "hoy ahora "
    "mi mis tu su sus más mas pero si sí hay tiene tienen hacer debe deberia debería ser muy también "
    "tambien porque porqué segun según articulo artículo equipo ventas",
    "pt": "o os as um uma de do da dos das que e em é são está para com sem como qual quem quando onde "
    "se não nosso nossa mais mas há tem fazer deve ser muito também porque você vocês vendas equipe",
    "fr": "le la les un une des de du que et ou en est sont pour avec sans comment quel quelle qui "
    "quand où se ne pas nous notre nos plus mais il y a faire doit être très aussi parce ventes équipe",
    "de": "der die das ein eine einen des dem den und oder ist sind für mit ohne wie welche welcher wer "
    "wann wo sich nicht wir unser unsere mehr aber gibt hat machen soll sein sehr auch weil vertrieb",
    "it": "il lo la gli le un una di del della che e o è sono per con senza come quale chi quando dove "
    "si non noi nostro nostra più ma c'è ha fare deve essere molto anche perché vendite squadra",
    "nl": "de het een en of is zijn voor met zonder hoe welke wie wanneer waar zich niet wij ons onze "
    "meer maar er heeft doen moet zijn heel ook omdat verkoop",
    "pl": "w z i na do się nie jest są dla jak kto kiedy gdzie czy co nasz nasza ale ma robić powinien "
    "być bardzo też ponieważ sprzedaż",
    "tr": "ve bir bu da de ile için mi mı mu ne nasıl kim neden nerede değil biz bizim daha ama var "
    "yapmak olmalı çok satış pazarlama",
}
_WORDS = {language: frozenset(words.split()) for language, words in _FUNCTION_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Letters English never writes: one tips a close call.
_MARKS = {"es": "ñ¿¡áíóú", "pt": "ãõç", "fr": "èêàùçœ", "de": "äöüß", "pl": "ąęłńśźż", "tr": "ğış"}


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the language ``text`` is written in (one of :data:`LANGUAGES`);
    English when nothing says otherwise."""
    letters = len(_LATIN.findall(text))
    for language, script in _SCRIPTS:
        count = len(script.findall(text))
        # A Chinese character is a word, often two: two of them among English jargon
        # ("CRM用Salesforce还是HubSpot好") make a Chinese question.
        if count >= 2 and count * 4 >= letters * 0.25:
            return language
    words = [w.casefold() for w in _WORD.findall(text)]
    if not words:
        return ENGLISH
    lowered = text.casefold()
    scores = {
        language: sum(w in vocabulary for w in words)
        + 2 * any(m in lowered for m in _MARKS.get(language, ""))
        for language, vocabulary in _WORDS.items()
    }
    best = max(scores, key=lambda language: (scores[language], language == ENGLISH))
    # Another language wins only by two clear words more than English finds.
    if best != ENGLISH and scores[best] >= scores[ENGLISH] + 2:
        return best
    return ENGLISH


def function_words(language: str) -> frozenset[str]:
    """The frequent short words of ``language`` that say nothing of a question's subject
    (empty for a language told by its script)."""
    return _WORDS.get(language, frozenset())
