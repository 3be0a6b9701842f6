"""Is a message small talk (an acknowledgement, an emoji, a greeting) rather than a question?
And does a direct message ask for a welcome ("hi", "help", "what can you do?")?

Used in threads the bot follows: the asker's "thanks!", "ok", ":+1:" or "got it, cool" get no
reply, while anything that reads as a question is still answered. Deliberately narrow: a
message is small talk only when every word in it is one of the words below (and it has no
question mark), so "ok but who runs the ads" is a question.
"""

from __future__ import annotations

import re

# Words that make up acknowledgements, thanks, agreement and greetings, and nothing else.
SMALL_TALK_WORDS = frozenset(
    """
    thanks thank thx ty tysm tnx cheers merci danke gracias appreciated appreciate it you so much
    very a lot lots many again ok okay k kk okey alright allright right sure yes yeah yep yup
    no nope nah got gotcha understood noted roger perfect great good nice cool awesome amazing
    brilliant excellent super sweet fab fantastic wonderful lovely neat wow lol haha hah makes
    sense sounds that thats its will do fine fair enough clear all done works for me helpful
    hi hello hey hiya morning afternoon evening bye goodbye later see ya oh ah
    """.split()
)
MAX_WORDS = 8
_MARKUP = re.compile(r"<[^>]*>|:[a-z0-9_+\-']+:")  # mentions, links, :emoji: codes
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def is_small_talk(text: str) -> bool:
    """True for acknowledgements and small talk ("thanks!", "ok", ":+1:", "got it, cool");
    False for anything that reads as a question."""
    text = _MARKUP.sub(" ", (text or "").lower())
    if "?" in text:
        return False
    words = [w.replace("'", "") for w in _WORD.findall(text)]
    if not words:
        return not re.search(r"\d", text)  # emoji, punctuation or nothing at all
    return len(words) <= MAX_WORDS and all(w in SMALL_TALK_WORDS for w in words)


# What asks about the bot itself rather than about the article ("help", "what can you do?"),
# in the languages of the cards; compared whole, after lowercasing and dropping punctuation.
ABOUT_ME = frozenset(
    phrase.strip()
    for phrase in """
    help|help me|helpme|menu|start|get started|what can you do|what do you do|who are you|
    what are you|how does this work|how do you work|how do i use this|how do i use you|
    what is this|what can i ask|what can i ask you|what should i ask|commands|usage|
    帮助|你能做什么|你是谁|怎么用|你好|您好|嗨|谢谢|
    ayuda|qué puedes hacer|que puedes hacer|quién eres|quien eres|hola|gracias
    """.replace("\n", "").split("|")
    if phrase.strip()
)
_PUNCTUATION = re.compile(r"[^\w\s']+")


def wants_welcome(text: str) -> bool:
    """True when a direct message is small talk ("hi", "thanks!") or asks what the bot is or
    does ("help", "what can you do?"): answered with a welcome, not a refusal. The same words
    inside a real question ("hi, who sets the quota?") are not: that is answered."""
    cleaned = " ".join(_PUNCTUATION.sub(" ", _MARKUP.sub(" ", (text or "").lower())).split())
    if cleaned in ABOUT_ME:
        return True
    return is_small_talk(text)
