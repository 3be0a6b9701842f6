"""The App Home's admin section: this week's figures and the top unanswered questions.

Shown only to the workspace's admins and owners (``users.info``: ``is_admin`` / ``is_owner``),
built from the same ``bot.report.Report`` as ``advisor report``. ``admin_blocks`` is a pure
builder (plain data in, Block Kit out), which ``blocks.home_view`` puts at the end of the Home;
``admin_section`` is the one call the Home listener makes.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from ..experts_report import wait_text
from ..report import Report, ReportStore, build_report
from .blocks import MAX_SECTION_TEXT, plain, safe

logger = logging.getLogger(__name__)

ADMIN_BLOCK_PREFIX = "admin_"
TOP_UNANSWERED = 5


def admin_blocks(report: Report) -> list[dict]:
    """This week's figures for the workspace, and its top 5 unanswered questions."""
    share = report.answered_share
    latency = report.median_latency_ms
    votes = report.feedback
    tips = report.tips[0] if len(report.tips) == 1 else None
    fields = [
        f"*Questions*\n{report.questions}",
        f"*Answered*\n{f'{share:.0%}' if share is not None else '-'}",
        f"*Not covered*\n{report.by_status['not_covered']}",
        f"*Low confidence*\n{report.by_status['low_confidence']}",
        f"*Median reply time*\n{f'{latency / 1000:.1f} s' if latency is not None else '-'}",
        f"*Votes*\n:+1: {votes['helpful']}  :-1: {votes['not_helpful']}",
    ]
    experts = report.experts
    if experts.escalations or experts.saved:
        fields.append(
            f"*Asked an expert*\n{experts.escalations} ({experts.unanswered} waiting; "
            f"median answer {wait_text(experts.median_minutes_to_answer)})"
        )
        fields.append(f"*Saved answers*\n{len(experts.saved)}, shown {experts.reuses}×")
    if tips is not None:
        fields.append(f"*Tips posted*\n{tips.posted}" + (f" ({tips.failed} failed)" if tips.failed else ""))
        if tips.paused:
            fields.append(f"*Tip channels paused*\n{tips.paused}")
    blocks: list[dict] = [
        {"type": "divider", "block_id": f"{ADMIN_BLOCK_PREFIX}divider"},
        {
            "type": "section",
            "block_id": f"{ADMIN_BLOCK_PREFIX}title",
            "text": {"type": "mrkdwn", "text": "*This week* (only admins and owners see this)"},
        },
        {
            "type": "section",
            "block_id": f"{ADMIN_BLOCK_PREFIX}figures",
            "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]],
        },
    ]
    top = report.unanswered[:TOP_UNANSWERED]
    if top:
        lines = [f"{n}. {safe(g.question, 300)} ({g.count}×)" for n, g in enumerate(top, 1)]
        text = "*Top unanswered questions*\n" + "\n".join(lines)
    elif report.without_text and report.by_status["not_covered"]:
        text = "*Top unanswered questions*\nTheir text is not kept (ADVISOR_QUESTION_RETENTION_DAYS)."
    else:
        text = "*Top unanswered questions*\nNone this week."
    blocks.append(
        {
            "type": "section",
            "block_id": f"{ADMIN_BLOCK_PREFIX}unanswered",
            "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]},
        }
    )
    if experts.saved:  # the saved answers, most shown first, with how to change them
        lines = [f"#{s.id} {safe(s.question, 200)} (shown {s.uses}×)" for s in experts.saved[:TOP_UNANSWERED]]
        text = (
            "*Saved answers*\n"
            + "\n".join(lines)
            + "\nAll of them: `/advisor answers`; delete: `/advisor answers delete ID`"
        )
        blocks.append(
            {
                "type": "section",
                "block_id": f"{ADMIN_BLOCK_PREFIX}saved",
                "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]},
            }
        )
    blocks.append(
        {
            "type": "context",
            "block_id": f"{ADMIN_BLOCK_PREFIX}more",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": plain("The full report: advisor report --since 7 --html report.html", 200),
                }
            ],
        }
    )
    return blocks


def is_admin(client: WebClient, user: str) -> bool:
    """Whether ``user`` is an admin or owner of the workspace (``users.info``)."""
    info = client.users_info(user=user).get("user") or {}
    return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))


def admin_section(store: ReportStore, client: WebClient, user: str, team: str | None) -> list[dict]:
    """The admin section for ``user``, or [] if they are not an admin (or it cannot be built:
    logged, and the Home goes out without it)."""
    try:
        if not is_admin(client, user):
            return []
        return admin_blocks(build_report(store, since_days=7, team=team or ""))
    except Exception:
        logger.exception("could not build the admin section of the Home tab for %s", user)
        return []
