"""Whose job a company playbook's quote gives: Sales, Marketing, or neither said.

Nobody curated a playbook, so its quotes carry no assignment; the department a quote names as
doing the job stands in for one, so that an answer can show where the company's rule and the
article's differ (bot.search.advisor). Read from the words companies use for their teams; a
department the quote denies the job ("sits inside Sales, not Marketing", "Marketing does not
set quotas", "Marketing's role is limited to ...") does not count, and a table row's "Owner:"
cell speaks for the row.
"""

from __future__ import annotations

import re

_TEAMS = {
    "sales": (
        r"sales(?! (?:and|&) marketing)|account executives?|AEs?|SDRs?|BDRs?|sales reps?|reps?"
        r"|(?:sales )?representatives?|territory managers?|key account managers?|CRO|regional VPs?"
        r"|sales enablement|sales managers?|inside sales"
    ),
    "marketing": (
        r"marketing|demand gen(?:eration)?|PMMs?|product marketing|brand(?: &| and) content|CMO"
        r"|growth marketing|field marketing|marketing ops(?:erations)?"
    ),
}
# Acronyms count only in capitals ("AEs", "CRO"); words in any case.
_MENTION = re.compile(
    "|".join(f"(?P<{team}>\\b(?:{words})\\b)" for team, words in _TEAMS.items()), re.IGNORECASE
)
_ACRONYM = re.compile(r"^(?:AEs?|SDRs?|BDRs?|CRO|CMO|PMMs?)$", re.IGNORECASE)
_DENIED_BEFORE = re.compile(
    r"\b(?:not|never|no|nor|rather than|instead of|except)\s+(?:the\s+)?$", re.IGNORECASE
)
_DENIED_AFTER = re.compile(
    r"^(?:'s)?\s*(?:does not|doesn't|do not|don't|is not|isn't|are not|aren't|never|cannot|can't"
    r"|may not|must not|role is limited|is consulted|are consulted|is only consulted)\b",
    re.IGNORECASE,
)
_OWNER_CELL = re.compile(r"\b(?:owner|owned by|approver|decides|admin)\s*:\s*([^;]+)", re.IGNORECASE)
# Words that are a team's name only as a modifier: "sales quota" is a quota, not Sales.
_MODIFIES = re.compile(r"^\s+(?:quotas?|targets?|numbers?|cost center|pipeline|plan)\b", re.IGNORECASE)


def _mentions(text: str) -> list[str]:
    found = []
    for match in _MENTION.finditer(text):
        word = match.group(0)
        if _ACRONYM.match(word) and not word[:2].isupper():
            continue
        if _DENIED_BEFORE.search(text[: match.start()][-24:]) or _DENIED_AFTER.match(text[match.end() :]):
            continue
        if word.lower() == "sales" and _MODIFIES.match(text[match.end() :]):
            continue
        found.append(match.lastgroup)
    return found


def company_owner(quote: str) -> str | None:
    """The department ``quote`` gives the job to (``sales``, ``marketing``), or None when it
    names none, or both without saying which owns it."""
    cell = _OWNER_CELL.search(quote)
    mentions = _mentions(cell.group(1)) if cell else []
    mentions = mentions or _mentions(quote)
    if not mentions:
        return None
    return mentions[0]
