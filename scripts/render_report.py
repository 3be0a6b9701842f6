"""Render ``advisor report --html`` in headless Chromium and save a screenshot (docs/report.png).

A scripted demo week is written into a throwaway SQLite database through the store (the same
calls the bot makes): questions of each outcome on several days, votes, tip posts. Then the
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

from bot.report import build_report, to_html  # noqa: E402
from bot.storage import open_store  # noqa: E402
from bot.tips.order import make_picker  # noqa: E402

ANSWERED = [
    ("who should set next year's sales quota?", "Which is more important between efficiency and stability?"),
    ("who runs the trade show booth?", 'Which is more important "front stage" or "behind the scenes"?'),
    ("who owns the website?", 'Which is more important, "Army" or "Air Force"?'),
]
NOT_COVERED = [
    "what's the wifi password?",
    "What is the wifi password",
    "when is the summer party?",
    "how do I book a meeting room?",
    "what's the weather in Paris today?",
]
LOW = ["what book does the article mention", "the 'pull the car' thing — what does that mean"]


def demo(store, now: datetime) -> None:
    rng = random.Random(7)
    for day in range(7):
        at = now - timedelta(days=6 - day, hours=2)
        for n in range(rng.randint(4, 12)):
            kind = rng.random()
            if kind < 0.6:
                question, section = rng.choice(ANSWERED)
                status = "answered"
            elif kind < 0.8:
                question, section, status = (
                    rng.choice(LOW),
                    "Which is more important today or tomorrow?",
                    "low_confidence",
                )
            else:
                question, section, status = rng.choice(NOT_COVERED), None, "not_covered"
            ts = f"{at.timestamp() + n:.6f}"
            store.log_question(
                team="T1",
                channel_type=rng.choice(["channel", "im", "group"]),
                status=status,
                question=question,
                top_section=section,
                top_passage=f"{section}#1" if section else None,
                score=rng.uniform(10, 40),
                latency_ms=rng.randint(20, 900),
                message_ts=ts,
                now=at + timedelta(minutes=n),
            )
            if status != "not_covered" and rng.random() < 0.4:
                store.record_feedback(
                    team="T1",
                    channel="C1",
                    message_ts=ts,
                    user=f"U{n}",
                    question=question,
                    passage_id=f"{section}#1",
                    helpful=rng.random() < 0.7,
                )
    store.subscribe(team="T1", channel="C1", local_time="09:00", tz="UTC", days="daily")
    for day in range(5):
        post = store.claim_post(
            team="T1",
            channel="C1",
            local_date=date.today() - timedelta(days=day),
            pick=make_picker(["t1", "t2", "t3"], team="T1", channel="C1"),
            max_attempts=5,
            now=now - timedelta(days=day),
        )
        store.finish_post(post.id, status="sent" if day else "failed", message_ts="1.1", now=now)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "report.png")
    parser.add_argument("--html", type=Path, default=None)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no Chromium found: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
        now = datetime.now(UTC)
        demo(store, now)
        page = to_html(build_report(store, since_days=7, now=now))
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
                "--window-size=1100,1650",
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
