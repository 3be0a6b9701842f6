"""Render ``advisor report --html`` in headless Chromium and save a screenshot (docs/report.png).

A scripted demo week is written into a throwaway SQLite database through the store (the same
calls the bot makes): questions asked of the real Advisor (so outcomes, sections and passage
ids are production's), votes on those passages, tip posts. Then the
page is built by ``bot.report.to_html`` and Chromium (``apt-get install chromium``) renders it.

    .venv/bin/python scripts/render_report.py [--out docs/report.png] [--html /tmp/report.html]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.report import build_report, passage_names, to_html  # noqa: E402
from bot.storage import open_store  # noqa: E402
from bot.tips.order import make_picker  # noqa: E402

# Questions people might ask; their outcome, section and passage come from the real Advisor.
QUESTIONS = [
    "who should set next year's sales quota?",
    "who runs the trade show booth?",
    "who owns the website?",
    "who should generate leads for next quarter?",
    "who talks to customers about price?",
    "what book does the article mention",
    "the 'pull the car' thing, what does that mean",
    "what's the wifi password?",
    "What is the wifi password",
    "when is the summer party?",
    "how do I book a meeting room?",
]


def demo(store, advisor, now: datetime, *, team: str = "T1") -> None:
    """A week of questions asked of the real ``advisor`` and logged with the fields the bot
    logs (``bot.slack.question_log``: status, top section and passage of the real answer), votes
    on the real passages, and tip posts, written through the store's own calls."""
    rng = random.Random(7)
    answers = {q: advisor.ask(q) for q in QUESTIONS}
    for day in range(7):
        at = now - timedelta(days=6 - day, hours=2)
        for n in range(rng.randint(4, 12)):
            question = rng.choice(QUESTIONS)
            answer = answers[question]
            top = answer.hits[0] if answer.hits and answer.status != "not_covered" else None
            ts = f"{at.timestamp() + n:.6f}"
            store.log_question(
                team=team,
                channel_type=rng.choice(["channel", "im", "group"]),
                status=answer.status,
                question=question,
                top_section=top.passage.section if top else None,
                top_passage=top.passage.id if top else None,
                score=round(float(top.score), 4) if top else None,
                latency_ms=rng.randint(20, 900),
                message_ts=ts,
                now=at + timedelta(minutes=n),
            )
            if rng.random() < 0.4:
                store.record_feedback(
                    team=team,
                    channel="C1",
                    message_ts=ts,
                    user=f"U{n}",
                    question=question,
                    passage_id=top.passage.id if top else None,
                    helpful=rng.random() < (0.75 if top else 0.3),
                )
    store.subscribe(team=team, channel="C1", local_time="09:00", tz="UTC", days="daily")
    for day in range(5):
        post = store.claim_post(
            team=team,
            channel="C1",
            local_date=date.today() - timedelta(days=day),
            pick=make_picker(["t1", "t2", "t3"], team=team, channel="C1"),
            max_attempts=5,
            now=now - timedelta(days=day),
        )
        store.finish_post(post.id, status="sent" if day else "failed", message_ts="1.1", now=now)


TEAM_NAMES = {"T1": "Example Co"}  # what team.info answers for the demo workspace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "report.png")
    parser.add_argument("--html", type=Path, default=None)
    parser.add_argument("--width", type=int, default=1100, help="CSS pixels (390: a phone)")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no Chromium found: apt-get install -y chromium", file=sys.stderr)
        return 2
    from bot.config import Settings
    from bot.search.advisor import Advisor

    settings = Settings()
    advisor = Advisor.load(settings)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
        now = datetime.now(UTC)
        demo(store, advisor, now)
        report = build_report(
            store, since_days=7, now=now, passages=passage_names(advisor.knowledge), team_names=TEAM_NAMES
        )
        page = to_html(report)
        store.close()
        html = args.html or Path(tmp) / "report.html"
        html.write_text(page, encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--screenshot={args.out.resolve()}",
                f"--window-size={args.width},1800",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
