"""Block Kit for a tip: title, the quoted text, its section heading and a link to the source.

Pure builders: plain data in, Slack payload out. All article text is escaped.
"""

from __future__ import annotations

from ..slack.escape import escape
from .catalog import Tip


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def _link(url: str, label: str) -> str:
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def tip_message(tip: Tip, *, heading: str = "Tip of the day") -> dict:
    """``{"text": fallback, "blocks": [...]}`` for ``chat.postMessage`` or an ephemeral reply."""
    source = f"From \u201c{escape(tip.section_heading)}\u201d"
    if tip.source_url:
        source += " \u00b7 " + _link(tip.source_url, tip.document_title)
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f":bulb: *{escape(heading)}: {escape(tip.title)}*"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _quote(tip.quote)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": source}]},
    ]
    text = escape(f"{heading}: {tip.title} \u2014 \u201c{tip.quote}\u201d ({tip.section_heading})")
    return {"text": text, "blocks": blocks}
