"""The App Home's admin section: this week's figures first, the top unanswered questions, and
a button that sends the full report to the admin's DM.

Shown only to the workspace's admins and owners (``users.info``: ``is_admin`` / ``is_owner``),
built from the same ``bot.report.Report`` as ``advisor report``. ``admin_blocks`` is a pure
builder (plain data in, Block Kit out), which ``blocks.home_view`` puts first; ``admin_section``
is the one call the Home listener makes, ``send_full_report`` the button's.

The full report reaches a Slack admin as a file in their DM with the bot (the same
self-contained HTML page as ``advisor report --html``), not as a link: a file is covered by
Slack's own sign-in and permissions (only that admin can open it), needs no public address for
the bot, no signing secret of ours, and does not expire in a browser tab (docs/slack.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk import WebClient

from ..experts_report import wait_text
from ..report import Report, ReportStore, build_report, to_html
from .blocks import MAX_SECTION_TEXT, safe
from .blocks.common import _button

logger = logging.getLogger(__name__)

ADMIN_BLOCK_PREFIX = "admin_"
TOP_UNANSWERED = 3
SEND_REPORT = "send_full_report"  # the admin's button: the full report as a file in their DM
REPORT_DAYS = 7


def admin_blocks(report: Report) -> list[dict]:
    """This week's figures for the workspace, its top unanswered questions, and the button that
    sends the full report."""
    share = report.answered_share
    latency = report.median_latency_ms
    votes = report.feedback
    tips = report.tips[0] if len(report.tips) == 1 else None
    fields = [
        f"*Questions*\n{report.questions}",
        f"*Answered*\n{f'{share:.0%}' if share is not None else '-'}",
        f"*Not covered*\n{report.by_status['not_covered']}",
        f"*Low confidence*\n{report.by_status['low_confidence']}",
        f"*Median reply*\n{f'{latency / 1000:.1f} s' if latency is not None else '-'}",
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
        {
            "type": "section",
            "block_id": f"{ADMIN_BLOCK_PREFIX}title",
            "text": {"type": "mrkdwn", "text": "*This week* · only admins and owners see this"},
        },
        {
            "type": "section",
            "block_id": f"{ADMIN_BLOCK_PREFIX}figures",
            "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]],
        },
    ]
    top = report.unanswered[:TOP_UNANSWERED]
    if top:
        lines = [f"{n}. {safe(g.question, 200)} ({g.count}×)" for n, g in enumerate(top, 1)]
        text = "*Top unanswered*\n" + "\n".join(lines)
    elif report.without_text and report.by_status["not_covered"]:
        text = "*Top unanswered*\nTheir text is not kept (ADVISOR_QUESTION_RETENTION_DAYS)."
    else:
        text = "*Top unanswered*\nNone this week."
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
            "type": "actions",
            "block_id": f"{ADMIN_BLOCK_PREFIX}more",
            "elements": [_button("Send me the full report", SEND_REPORT, str(REPORT_DAYS))],
        }
    )
    return blocks


def is_admin(client: WebClient, user: str) -> bool:
    """Whether ``user`` is an admin or owner of the workspace (``users.info``)."""
    info = client.users_info(user=user).get("user") or {}
    return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))


def team_names(client: WebClient, team: str | None) -> dict[str, str]:
    """``{team id: the workspace's name}`` from ``team.info`` ({} if Slack does not say)."""
    try:
        info = client.team_info().get("team") or {}
    except Exception as exc:
        logger.warning("could not read the workspace's name: %s", exc)
        return {}
    name = info.get("name")
    return {team or info.get("id") or "": name} if name else {}


def admin_section(store: ReportStore, client: WebClient, user: str, team: str | None) -> list[dict]:
    """The admin section for ``user``, or [] if they are not an admin (or it cannot be built:
    logged, and the Home goes out without it)."""
    try:
        if not is_admin(client, user):
            return []
        return admin_blocks(build_report(store, since_days=REPORT_DAYS, team=team or ""))
    except Exception:
        logger.exception("could not build the admin section of the Home tab for %s", user)
        return []


def send_full_report(
    store: ReportStore, client: WebClient, user: str, team: str | None, passages: Mapping[str, str]
) -> bool:
    """Post the full report (HTML) as a file in ``user``'s DM; False (and nothing sent) if they
    are not an admin or owner any more."""
    if not is_admin(client, user):
        return False
    report = build_report(
        store, since_days=REPORT_DAYS, team=team or "", passages=passages, team_names=team_names(client, team)
    )
    channel = client.conversations_open(users=user)["channel"]["id"]
    client.files_upload_v2(
        channel=channel,
        content=to_html(report),
        filename=f"advisor-report-{report.until:%Y-%m-%d}.html",
        title=f"advisor report, last {REPORT_DAYS} days",
        initial_comment=(
            f"The full report for the last {REPORT_DAYS} days: {report.questions} question(s). "
            "Open the file in a browser (it needs no network)."
        ),
    )
    return True
