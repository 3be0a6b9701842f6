"""The admin's report: what people ask, what the article does not cover, how tips fare.

Built from the store alone (the question log, the votes, the tip posts and subscriptions),
never from the model: ``build_report`` gives a ``Report`` of plain data, which ``advisor
report`` prints as text, as one JSON object (``to_json``) or as a self-contained HTML page
(``to_html``: matplotlib charts inlined as SVG, no network needed to view it). The App Home's
admin section (``bot.slack.admin_home``) shows a week of it.

Questions that are alike are counted together: texts are compared after lowercasing and
dropping punctuation, with rapidfuzz: the better of the plain edit-distance ratio (typos,
"web site") and the sorted-words ratio (word order); a question joins the first group whose
first question scores ``SIMILAR`` or more. Partial-match scorers (``WRatio``, token-set) were
tried and merge unrelated short questions that share a few words. 85 keeps "who sets the
price?" and "the price: who sets it?" together, and "who sets the price?" apart from "who sets
the quota?" (tests/test_report.py).
Questions whose text was purged (past ``ADVISOR_QUESTION_RETENTION_DAYS``) count in every
figure but cannot be listed.
"""

from __future__ import annotations

import html
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from rapidfuzz import fuzz, utils

from .experts_report import ExpertFigures, ExpertsReportStore, build_experts, experts_lines

if TYPE_CHECKING:
    from .knowledge import Knowledge
    from .storage import FeedbackRecord, LoggedQuestion
    from .tips.records import PostRecord, SubscriptionRecord


class ReportStore(ExpertsReportStore, Protocol):
    """What the report reads: the question log, the votes, the tip posts and subscriptions
    (``bot.storage.Store`` is one), and the experts' escalations and saved answers."""

    def logged_questions(
        self, *, since: datetime | None = None, team: str | None = None
    ) -> list[LoggedQuestion]: ...

    def votes_since(
        self, since: datetime | None = None, *, team: str | None = None
    ) -> list[FeedbackRecord]: ...

    def posts(self, team: str | None = None, channel: str | None = None) -> list[PostRecord]: ...

    def list_subscriptions(self, team: str | None = None) -> list[SubscriptionRecord]: ...


STATUSES = ("answered", "low_confidence", "not_covered")
SIMILAR = 85.0  # similarity (0-100, see ``similarity``) at which two questions count as one
TOP = 10  # questions listed per table


@dataclass(frozen=True)
class Grouped:
    question: str  # the group's most frequent wording
    count: int


@dataclass(frozen=True)
class Votes:
    name: str  # a section heading or a passage id
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class TipFigures:
    team: str
    posted: int
    failed: int  # failed or given up (Slack refused, or never reached)
    unconfirmed: int  # no answer from Slack: may have been posted
    paused: int  # channels paused now (bot removed, archived...)
    inactive: int  # subscriptions switched off (or the workspace left)
    subscriptions: int


@dataclass
class Report:
    since: datetime
    until: datetime
    team: str | None
    questions: int
    by_status: dict[str, int]
    by_channel_type: dict[str, int]
    per_day: list[dict]  # {"date": "YYYY-MM-DD", "answered": n, "low_confidence": n, "not_covered": n}
    median_latency_ms: float | None
    unanswered: list[Grouped]  # not covered by the article, grouped by similarity
    low_confidence: list[Grouped]
    feedback: dict[str, int]  # {"helpful": n, "not_helpful": n}
    votes_by_section: list[Votes]
    votes_by_passage: list[Votes]
    tips: list[TipFigures]
    without_text: int  # questions whose text is no longer kept
    teams: list[str] = field(default_factory=list)
    team_names: dict[str, str] = field(default_factory=dict)  # team id -> the workspace's name

    def team_name(self, team: str | None) -> str:
        """A workspace's name when known, else its id."""
        return self.team_names.get(team or "", team or "")

    experts: ExpertFigures = field(default_factory=ExpertFigures)  # bot/experts_report.py

    def to_json(self) -> dict:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data

    @property
    def answered_share(self) -> float | None:
        return self.by_status["answered"] / self.questions if self.questions else None


def similarity(a: str, b: str) -> float:
    """0-100: how alike two processed questions are (edit distance, or the same words reordered)."""
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def group_questions(texts: list[str], *, threshold: float = SIMILAR) -> list[Grouped]:
    """Group alike questions, biggest group first (ties: the one asked first)."""
    groups: list[tuple[str, Counter]] = []  # (the first question's processed text, wordings)
    for text in texts:
        key = utils.default_process(text)
        if not key:
            continue
        for first, wordings in groups:
            if similarity(key, first) >= threshold:
                wordings[text] += 1
                break
        else:
            groups.append((key, Counter({text: 1})))
    ranked = sorted(groups, key=lambda g: -sum(g[1].values()))  # stable: first asked wins ties
    return [Grouped(wordings.most_common(1)[0][0], sum(wordings.values())) for _, wordings in ranked]


QUOTE_WORDS = 8  # a passage is named by its section and the first words of its text


def passage_names(knowledge: Knowledge) -> dict[str, str]:
    """Passage id -> "section: “first words…”" for every passage of ``knowledge`` (the ids the
    votes carry), so the report names passages as a reader knows them, never by id."""
    from .passages import split_section

    names = {}
    for section in knowledge.sections():
        for passage in split_section(section):
            words = passage.text.split()
            first = " ".join(words[:QUOTE_WORDS]) + ("…" if len(words) > QUOTE_WORDS else "")
            names[passage.id] = f"{section.heading}: “{first}”"
    return names


def build_report(
    store: ReportStore,
    *,
    since_days: float = 7,
    team: str | None = None,
    now: datetime | None = None,
    passages: Mapping[str, str] | None = None,
    team_names: Mapping[str, str] | None = None,
) -> Report:
    """The report of the last ``since_days`` days (of one ``team``, or every workspace).
    ``passages`` names passage ids (``passage_names``), ``team_names`` workspace ids."""
    until = now or datetime.now(UTC)
    since = until - timedelta(days=since_days)
    logged = store.logged_questions(since=since, team=team)
    by_status = {status: 0 for status in STATUSES}
    per_day: dict[date, Counter] = defaultdict(Counter)
    for row in logged:
        by_status[row.status] = by_status.get(row.status, 0) + 1
        per_day[row.asked_at.astimezone(UTC).date()][row.status] += 1
    days = [since.date() + timedelta(days=n) for n in range((until.date() - since.date()).days + 1)]
    votes = store.votes_since(since, team=team)
    return Report(
        since=since,
        until=until,
        team=team,
        questions=len(logged),
        by_status=by_status,
        by_channel_type=dict(Counter(row.channel_type for row in logged).most_common()),
        per_day=[{"date": day.isoformat(), **{s: per_day[day][s] for s in STATUSES}} for day in days],
        median_latency_ms=statistics.median(r.latency_ms for r in logged) if logged else None,
        unanswered=group_questions([r.question for r in logged if r.status == "not_covered" and r.question]),
        low_confidence=group_questions(
            [r.question for r in logged if r.status == "low_confidence" and r.question]
        ),
        feedback={"helpful": sum(v.helpful for v in votes), "not_helpful": sum(not v.helpful for v in votes)},
        votes_by_section=_section_votes(logged),
        votes_by_passage=_passage_votes(votes, passages or {}),
        tips=_tip_figures(store, since, team),
        without_text=sum(1 for r in logged if r.question is None),
        teams=sorted({r.team for r in logged}),
        team_names=dict(team_names or {}),
        experts=build_experts(store, since=since, team=team),
    )


def _section_votes(logged) -> list[Votes]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in logged:
        if row.top_section and (row.helpful or row.not_helpful):
            totals[row.top_section][0] += row.helpful
            totals[row.top_section][1] += row.not_helpful
    return sorted(
        (Votes(k, *v) for k, v in totals.items()), key=lambda v: (-v.not_helpful, -v.helpful, v.name)
    )


def _passage_votes(votes, names: Mapping[str, str]) -> list[Votes]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for vote in votes:
        if vote.passage_id is None:
            name = "(a refusal: no passage)"
        else:
            name = names.get(vote.passage_id, vote.passage_id)
        totals[name][0 if vote.helpful else 1] += 1
    return sorted(
        (Votes(k, *v) for k, v in totals.items()), key=lambda v: (-v.not_helpful, -v.helpful, v.name)
    )


def _tip_figures(store: ReportStore, since: datetime, team: str | None) -> list[TipFigures]:
    posts = [p for p in store.posts(team=team) if p.claimed_at >= since]
    subscriptions = store.list_subscriptions(team)
    teams = sorted({p.team for p in posts} | {s.team for s in subscriptions})
    figures = []
    for name in teams:
        statuses = Counter(p.status for p in posts if p.team == name)
        mine = [s for s in subscriptions if s.team == name]
        figures.append(
            TipFigures(
                team=name,
                posted=statuses["sent"],
                failed=statuses["failed"] + statuses["gave_up"],
                unconfirmed=statuses["unknown"],
                paused=sum(1 for s in mine if s.active and s.paused_reason),
                inactive=sum(1 for s in mine if not s.active),
                subscriptions=len(mine),
            )
        )
    return figures


# --- text ------------------------------------------------------------------------------------


def to_text(report: Report) -> str:
    """The report for a terminal."""
    scope = f"workspace {report.team_name(report.team)}" if report.team else "all workspaces"
    lines = [
        f"advisor report, {scope}: {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC",
        f"questions: {report.questions} ("
        + ", ".join(f"{status.replace('_', ' ')} {n}" for status, n in report.by_status.items())
        + ")",
        "median latency: "
        + (f"{report.median_latency_ms:.0f} ms" if report.median_latency_ms is not None else "-"),
        f"votes: {report.feedback['helpful']} helpful, {report.feedback['not_helpful']} not helpful",
    ]
    for title, groups in (("not covered", report.unanswered), ("low confidence", report.low_confidence)):
        lines.append(f"top {title} questions:" if groups else f"top {title} questions: none")
        lines += [f"  {g.count:>4}  {g.question}" for g in groups[:TOP]]
    if report.votes_by_section:
        lines.append("votes per section (helpful / not helpful):")
        lines += [f"  {v.helpful:>4} / {v.not_helpful:<4} {v.name}" for v in report.votes_by_section[:TOP]]
    if report.tips:
        lines.append("tips per workspace: posted, failed, unconfirmed; channels paused, off, subscribed")
        lines += [
            f"  {report.team_name(t.team)}: {t.posted}, {t.failed}, {t.unconfirmed}; "
            f"{t.paused}, {t.inactive}, {t.subscriptions}"
            for t in report.tips
        ]
    lines += experts_lines(report.experts)
    if report.without_text:
        lines.append(f"({report.without_text} question(s) counted whose text is no longer kept)")
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------

_COLORS = {"answered": "#2e7d32", "low_confidence": "#f9a825", "not_covered": "#c62828"}
_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1000px;
color:#1d1d1d;padding:0 1rem;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.sub{color:#555;margin-top:0}
.figures{display:grid;gap:.6rem;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr))}
.figure{border:1px solid #ddd;border-radius:8px;padding:.6rem .8rem}
.figure b{display:block;font-size:1.6rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;width:1%;white-space:nowrap;overflow-wrap:normal}
.chart svg{width:100%;height:auto}.empty{color:#777}
.cards{display:grid;gap:.6rem;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr))}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem .8rem}.card h3{margin:0 0 .3rem;font-size:1rem}
.card dl{display:grid;grid-template-columns:1fr auto;gap:.1rem .8rem;margin:0}
.card dd{margin:0;text-align:right}
@media (max-width:600px){body{margin:1rem auto;padding:0 .75rem}td,th{padding:.35rem .3rem}}
"""


def _svg(figure) -> str:
    """A matplotlib figure as inline SVG markup (text kept as text, no external references)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    markup = buffer.getvalue()
    return markup[markup.index("<svg") :]


def _chart(report: Report) -> str:
    """Questions per day by outcome, as SVG. (Votes are tables, not charts: long section
    headings only stay readable on a phone as text that wraps.)"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "advisor-report", "font.size": 10})
    days = [d["date"][5:] for d in report.per_day]
    # Drawn narrow (5 in wide, 12 pt text) so the labels stay readable when a phone shrinks
    # the chart to its width (at 390 px, about 75 % of its drawn size).
    plt.rcParams.update({"font.size": 12})
    figure, axes = plt.subplots(figsize=(5, 3.4))
    bottom = [0] * len(days)
    for status in STATUSES:
        counts = [d[status] for d in report.per_day]
        axes.bar(days, counts, bottom=bottom, color=_COLORS[status], label=status.replace("_", " "))
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_ylabel("questions")
    axes.set_title("Questions per day, by outcome", pad=24)
    axes.legend(frameon=False, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))  # above the bars
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.get_major_locator().set_params(integer=True)
    if len(days) > 8:
        axes.set_xticks(range(0, len(days), max(1, len(days) // 6)))
    per_day = _svg(figure)

    return per_day


def _table(headers: list[str], rows: list[list], numeric: set[int]) -> str:
    if not rows:
        return '<p class="empty">None in this period.</p>'
    head = "".join(
        f'<th class="{"n" if i in numeric else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if i in numeric else ""}">{html.escape(str(c))}</td>' for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: Report) -> str:
    """One self-contained page: figures, charts inlined as SVG, tables. Every text is escaped."""
    per_day = _chart(report)
    scope = f"workspace {report.team_name(report.team)}" if report.team else "all workspaces"
    share = report.answered_share
    latency = report.median_latency_ms
    figures = [
        ("questions", report.questions),
        ("answered", f"{share:.0%}" if share is not None else "-"),
        ("not covered", report.by_status["not_covered"]),
        ("low confidence", report.by_status["low_confidence"]),
        ("median latency", f"{latency:.0f} ms" if latency is not None else "-"),
        ("helpful votes", report.feedback["helpful"]),
        ("not helpful", report.feedback["not_helpful"]),
    ]
    grouped = [[g.question, g.count] for g in report.unanswered[:TOP]]
    doubtful = [[g.question, g.count] for g in report.low_confidence[:TOP]]
    passages = [[v.name, v.helpful, v.not_helpful] for v in report.votes_by_passage[:TOP]]
    tips = "".join(
        f'<div class="card"><h3>{html.escape(report.team_name(t.team))}</h3><dl>'
        + "".join(
            f"<dt>{label}</dt><dd>{value}</dd>"
            for label, value in (
                ("tips posted", t.posted),
                ("failed", t.failed),
                ("unconfirmed", t.unconfirmed),
                ("channels paused", t.paused),
                ("channels off", t.inactive),
                ("subscriptions", t.subscriptions),
            )
        )
        + "</dl></div>"
        for t in report.tips
    )
    note = (
        f'<p class="empty">{report.without_text} question(s) are counted whose text is no longer kept '
        "(ADVISOR_QUESTION_RETENTION_DAYS).</p>"
        if report.without_text
        else ""
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>advisor report: {html.escape(scope)}</title><style>{_CSS}</style></head><body>",
        "<h1>What people ask the advisor</h1>",
        f'<p class="sub">{html.escape(scope)}, {report.since:%Y-%m-%d %H:%M} to '
        f"{report.until:%Y-%m-%d %H:%M} UTC</p>",
        '<div class="figures">'
        + "".join(
            f'<div class="figure"><b>{html.escape(str(v))}</b>{html.escape(k)}</div>' for k, v in figures
        )
        + "</div>",
        f'<div class="chart">{per_day}</div>',
        "<h2>Not covered by the article (grouped by similarity)</h2>",
        _table(["question", "asked"], grouped, {1}),
        "<h2>Answered with low confidence</h2>",
        _table(["question", "asked"], doubtful, {1}),
        note,
        "<h2>Votes</h2>",
        _table(
            ["section", "👍", "👎"],
            [[v.name, v.helpful, v.not_helpful] for v in report.votes_by_section[:TOP]],
            {1, 2},
        ),
        _table(["passage (section: first words)", "👍", "👎"], passages, {1, 2}),
        "<h2>Asked an expert</h2>",
        f"<p>{html.escape(experts_lines(report.experts)[0])}</p>",
        _table(
            ["saved answer", "shown", "helpful", "not helpful"],
            [[s.question, s.uses, s.helpful, s.not_helpful] for s in report.experts.saved[:TOP]],
            {1, 2, 3},
        ),
        "<h2>Daily tips per workspace</h2>",
        f'<div class="cards">{tips}</div>' if tips else '<p class="empty">No tips in this period.</p>',
        "</body></html>",
    ]
    return "\n".join(parts)
