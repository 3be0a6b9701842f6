"""The stance: what the article would say of the asker's plan (backs it, warns against it, or
it depends, with the condition), from evidence.

The evidence is the article's curated claims (``claims`` in a knowledge file: the sentence that
states a principle, its stance, and plans it would say that of, in a manager's words). A
claim's plans are indexed as keys of the stating sentence (kind ``plan:<stance>``,
bot.search.fitting), so they also route a plan to the principle. Two detectors:
:func:`is_plan` (narrow, cue patterns) routes a message as a plan; :func:`asks_judgement`
(broad, grammatical: the asker's side doing something, and a judgement asked for) decides who
gets a stance, and moves no ranking. The stance is that of the claim plan closest to the
message in meaning among the claims stated in the answer's top quote, else among those of its
top section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .corpus import Corpus
from .schema import PLAN

# The cue patterns a plan is routed by (:func:`is_plan`): "we plan to", "is it ok if",
# "our CEO wants", "should we", "would it work if", "thinking of", "any red flags?". A question
# about the article ("who sets the quota?", "why does the author say...") is not one.
_INTENT = (
    r"\b(we|we're|we've|we'll|we'd|i'm|i'd|i'll|i've|our|my|us|let's)"
    r"(\s+(are|were|have|had|just|also|still|now|really|finally|seriously|currently|all))*\s+"
    r"\b(plan|plans|planning|want|wants|wanted|going to|about to|thinking|considering|consider|"
    r"intend|decided|proposing|propose|proposed|moving|cutting|hiring|keeping|letting|making|"
    r"setting|building|adding|rolling|pulling|splitting|folding|spending|starting|launching|"
    r"modelling|modeling|relabelling|relabeling|treating|having|putting|sending|going)\b"
)
_JUDGE = (
    r"\b(should (we|i|our)|is it (ok|okay|fine|wise|sensible|smart|reasonable|a good idea)|"
    r"would it (work|make sense|be)|does (that|this|it) (make sense|work|sound)|"
    r"(good|bad|right) (idea|call|move|plan|approach|template|framing)|sensible|reasonable|"
    r"red flags?|any objections?|thoughts|worth it|overkill|premature|too early|"
    r"legit|sane|right fix|right call|go along)\b"
)
# Someone at the company deciding or proposing: "CEO wants", "my boss decided", "plan: ...".
_PROPOSER = (
    r"\b(ceo|cmo|cro|cfo|coo|cto|vp|boss|founder|gm|board|leadership|manager|director|head of \w+)"
    r"('s)?\s+(wants|decided|says|plans|plan|is planning|proposes|proposed|is rolling|thinks)\b"
    r"|^\W*(\w+\s+){0,2}(plan|proposal|proposed \w+)\s*(:|is\b|for\b)"
)
# An evaluative word shortly before the message's question mark: "ok for now?", "good sequencing?".
_VERDICT_ASKED = r"\b(ok|okay|fine|sound|sane|smart|wise|legit|good|right|sensible)\b[^.?!]{0,20}\?"
PLAN_CUES = re.compile(rf"{_INTENT}|{_JUDGE}|{_PROPOSER}|{_VERDICT_ASKED}", re.IGNORECASE)
# A question that asks about the article itself, never a plan however it is worded.
NAMES_ARTICLE = re.compile(r"\b(the article|the author|the writer|the piece|the text)\b", re.IGNORECASE)


_NAMES_PLAN = re.compile(rf"{_INTENT}|{_PROPOSER}", re.IGNORECASE)

# A message that asks for a judgement of a plan (:func:`asks_judgement`), two kinds of evidence,
# grammatical rather than keyed on one set's topics: the asker's side doing or intending
# something (a first-person or company-role subject with a verb of intending, deciding or
# doing) together with a request for a judgement (an evaluative word, "should we", a question),
# or a message framed as a proposal ("Plan: ...", "thinking of ...", "our CEO wants ...").
# A question opening with a question word that asks about the article itself is never one.
_FIRST = (
    r"\b(we|we're|we've|we'll|we'd|our|ours|us|let's|i|i'm|i've|i'll|i'd|my|me)\b"
    r"|\b(ceo|cmo|cro|cfo|coo|vp|boss|founders?|co-?founders?|board|leadership|management|"
    r"manager|director|chief executive|chief \w+ officer|head of \w+|vice president|hr)\b"
)
_DOING = (
    r"\b(plans?|planning|planned|want|wants|wanted|going to|gonna|about to|thinking|considering|"
    r"consider|says|said|thinks|intend\w*|decid\w*|propos\w*|pitch\w*|suggest\w*|push\w*|"
    r"insists?|moving|move|keep|keeping|cut|cutting|hire|hiring|build\w*|launch\w*|start\w*|"
    r"switch\w*|merg\w*|fold\w*|pull\w*|model\w*|run|running|set up|setting up|roll(ing)? out|"
    r"stop\w*|skip\w*|drop\w*|pausing|eliminat\w*|replac\w*|reorg\w*|restructur\w*|shift\w*|"
    r"put|putting|treat\w*|defin\w*|make|making|adopt\w*|use|using|let|letting|give|giving|"
    r"spend\w*|invest\w*|pilot\w*)\b"
)
_JUDGEMENT = (
    r"\?|\b(ok|okay|fine|wise|sensible|smart|reasonable|sound|sane|legit|risky|dumb|bad|good|"
    r"right|wrong|mistake|idea|thoughts?|objections?|red flags?|sanity|agree|backs?|support|"
    r"on board|endorse|worth|overkill|premature|advice|verdict|recommend\w*|overall|gotchas?)\b"
)
# The message framed as a proposal: "Plan: ...", "Launch plan for X: ...", "the plan is to",
# "thinking of ...", "Sanity check: ...".
_FRAMED = (
    r"^\W*([\w'-]+\s+){0,4}(plan|proposal|idea|proposed \w+|sanity check)\b[^.?!:]{0,40}:"
    r"|\b(the |our |my )?plan is to\b"
    r"|^\W*(thinking of|planning|considering|proposing|about to|going to)\b"
    r"|\b(should|shall|could|can|must) (we|i|our|my)\b"
    r"|\b(is it|would it|will it|does it|would that|does that|is that) (be )?(a )?"
    r"(ok|okay|fine|wise|sensible|smart|reasonable|a good idea|work|make sense|sound)\b"
)
FIRST = re.compile(_FIRST, re.IGNORECASE)
DOING = re.compile(_DOING, re.IGNORECASE)
JUDGEMENT = re.compile(_JUDGEMENT, re.IGNORECASE)
FRAMED = re.compile(_FRAMED, re.IGNORECASE)
# The proposal frames alone (the first three of _FRAMED), which no article question set uses.
PROPOSAL = re.compile(
    r"^\W*([\w'-]+\s+){0,4}(plan|proposal|idea|proposed \w+|sanity check)\b[^.?!:]{0,40}:"
    r"|\b(the |our |my )?plan is to\b"
    r"|^\W*(thinking of|planning|considering|proposing|about to|going to)\b",
    re.IGNORECASE,
)
# A question word opening a question about the article's own content ("why does the author...").
ABOUT_ARTICLE = re.compile(
    r"^\W*(how|what|which|when|where|who|whom|whose|why)\b[^?]{0,60}"
    r"\b(the article|the author|the writer|the piece|the text)\b"
    # or that asks to follow its content: "should we do what the article says about...?"
    r"|\b(what|how|why) (the article|the author|the writer|the piece|the text)\b",
    re.IGNORECASE,
)
# A question opening with a question word asks for a fact, an amount or a way ("how should we
# price...", "what percentage should we spend..."), unless its first sentence names a plan.
ASKS_WHAT = re.compile(r"^\W*(how|what|which|when|where|who|whom|whose|why)\b", re.IGNORECASE)


def is_plan(text: str) -> bool:
    """Whether the prepared message ``text`` is routed as a plan (the claims' plans as keys,
    the ``plans`` signal, the reply boundary's lift): the cue patterns, or a message framed as a
    proposal ("Plan: ...", "the plan is to...", "thinking of..."). Narrower than
    :func:`asks_judgement`: an article question taken for a plan here moves its answer
    (measured in docs/retrieval.md), so only cues that no article question set has are added."""
    if NAMES_ARTICLE.search(text):
        return False
    if ASKS_WHAT.search(text):
        return bool(_NAMES_PLAN.search(text))
    return bool(PLAN_CUES.search(text) or PROPOSAL.search(text))


def asks_judgement(text: str) -> bool:
    """Whether the prepared message ``text`` puts the asker's side's course of action up for
    judgement, however worded: it gets the article's stance. Broader than :func:`is_plan`; it
    decides nothing of the ranking, so an article question taken for a plan keeps its answer
    (and gets a stance line)."""
    if is_plan(text):
        return True
    if ABOUT_ARTICLE.search(text):
        return False
    if ASKS_WHAT.search(text):
        first = re.split(r"[?.!]", text, maxsplit=1)[0]
        return bool(FIRST.search(first) and DOING.search(first) and FRAMED.search(first))
    if FRAMED.search(text):
        return True
    return bool(FIRST.search(text) and DOING.search(text) and JUDGEMENT.search(text))


@dataclass(frozen=True)
class Stance:
    stance: str  # backs | warns | depends
    row: int  # the sentence row that states the principle
    condition: str | None  # for depends: what it depends on
    similarity: float  # the plan key's cosine with the question


class Claims:
    """The claims' plan keys of one loaded index, ready to match a question to."""

    def __init__(self, corpus: Corpus, conditions: dict[tuple[str, str], str]):
        """``conditions``: (plan text, stance) -> the condition of a ``depends`` claim."""
        keys = corpus.index.sentence_keys
        self.stances = [keys[i].kind[len(PLAN) :] for i in corpus.plan_keys]
        self.texts = [keys[i].text for i in corpus.plan_keys]
        self.rows = corpus.plan_key_rows
        self.vectors = corpus.index.sentence_key_vectors[corpus.plan_keys]
        self.sections = corpus.sentence_section[self.rows]
        self.conditions = conditions

    def __len__(self) -> int:
        return len(self.rows)

    def closest(self, q: np.ndarray) -> float:
        """The cosine of the question vector ``q`` with the closest plan of any claim."""
        return float((self.vectors @ q).max()) if len(self) else float("-inf")

    def match(self, q: np.ndarray, section: int, quoted: list[int] = ()) -> Stance | None:
        """The stance of the claim plan closest to the question vector ``q`` among the claims
        stated in the answer's quote (the sentence rows ``quoted``), or, where it states none,
        among those of the section row ``section`` (None: no claim there).

        The quote first: the sentence the plan was routed to is the principle that bears on it,
        and its claims' plans (one backing, one warning, as a rule) decide between them; a claim
        stated elsewhere in the section speaks of another principle."""
        mine = np.flatnonzero(np.isin(self.rows, list(quoted)))
        if not len(mine):
            mine = np.flatnonzero(self.sections == section)
        if not len(mine):
            return None
        similarity = self.vectors[mine] @ q
        best = int(mine[int(np.argmax(similarity))])
        stance = self.stances[best]
        return Stance(
            stance=stance,
            row=int(self.rows[best]),
            condition=self.conditions.get((self.texts[best], stance)),
            similarity=float(similarity.max()),
        )


def conditions_of(knowledge) -> dict[tuple[str, str], str]:
    """(plan, stance) -> condition, for every ``depends`` claim of ``knowledge``."""
    return {
        (plan, claim.stance): claim.condition
        for section in knowledge.retrievable_sections()
        for claim in section.claims
        if claim.condition
        for plan in claim.plans
    }
