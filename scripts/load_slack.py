"""Load test: signed app_mention events against the real HTTP server and the fake Slack.

Starts the fake Slack Web API in this process and ``python -m bot serve --http`` as a
subprocess pointed at it, sends COUNT signed mentions (CONCURRENCY at a time, each in its
own channel), then reports ack latency, posts, duplicates, lost answers and the time from
sending an event to its answer reaching Slack. Not a test: figures depend on the machine.

    .venv/bin/python scripts/load_slack.py [--count 200] [--concurrency 20] [--retries 0] [--pace 0]

``--retries N`` also re-delivers every event N more times (X-Slack-Retry-Num 1..N), as
Slack does when an ack is slow; the answer count must not change. ``--pace S`` makes each
sender wait S seconds between events (``--concurrency 1 --pace 0.2`` measures one question at
a time, without queueing). Exits 1 unless every event was acked with 200 and answered once.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_slack import FakeSlack  # noqa: E402
from tests.slack_harness import BotServer, bot_env, event_body, mention  # noqa: E402

QUESTIONS = [
    "who should set next year's sales quota?",
    "who is responsible for this quarter's cash flow?",
    "who should generate leads and future demand?",
    "who owns the long-term marketing strategy?",
    "should we sell first or market first?",
    "who handles the brand and advertising?",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--retries", type=int, default=0, help="re-deliveries of each event")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds each sender waits between events")
    parser.add_argument("--data-dir", type=Path, help="keep the index here between runs")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for answers")
    args = parser.parse_args()

    fake = FakeSlack().start()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="advisor-load-"))
    print(f"starting the bot (data dir {data_dir}) ...", flush=True)
    server = BotServer(bot_env(fake.url, data_dir)).start(timeout=600)
    sender = server.sender()
    try:
        bodies = [
            event_body(mention(QUESTIONS[i % len(QUESTIONS)], channel=f"CLOAD{i:05d}"))
            for i in range(args.count)
        ]
        sent_at: dict[str, float] = {}
        acks: list[float] = []
        statuses: list[int] = []

        def deliver(i: int) -> None:
            body = bodies[i]
            sent_at.setdefault(body["event"]["channel"], time.monotonic())
            for retry in range(args.retries + 1):
                reply = sender.event(body, retry=retry)
                acks.append(reply.seconds)
                statuses.append(reply.status)
            time.sleep(args.pace)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(deliver, range(args.count)))
        sent_seconds = time.monotonic() - started

        deadline = time.monotonic() + args.timeout
        while len(fake.posts()) < args.count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # late duplicates would show up here
        posts = fake.posts()
        by_channel: dict[str, list] = {}
        for post in posts:
            by_channel.setdefault(post.body.get("channel"), []).append(post)
        duplicates = sum(len(p) - 1 for p in by_channel.values() if len(p) > 1)
        lost = sum(1 for body in bodies if body["event"]["channel"] not in by_channel)
        to_post = [
            min(p.at for p in by_channel[channel]) - sent_at[channel]
            for channel in sent_at
            if channel in by_channel
        ]
        elapsed = max(p.at for p in posts) - started if posts else float("nan")
        ok = sum(1 for s in statuses if s == 200)

        print(
            f"events sent:        {args.count} x {args.retries + 1} deliveries, {args.concurrency} at a time"
        )
        print(f"acked with 200:     {ok} / {len(statuses)} (other: {sorted(set(statuses) - {200})})")
        print(
            f"ack latency:        p50 {ms(percentile(acks, 0.5))}, p99 {ms(percentile(acks, 0.99))}, "
            f"max {ms(max(acks))}"
        )
        print(f"posts:              {len(posts)} (expected {args.count})")
        print(f"duplicates:         {duplicates}")
        print(f"lost:               {lost}")
        if to_post:
            print(
                f"event -> post:      p50 {ms(percentile(to_post, 0.5))}, "
                f"p99 {ms(percentile(to_post, 0.99))}, max {ms(max(to_post))}"
            )
        print(
            f"throughput:         {len(posts) / elapsed:.1f} answers/s "
            f"(all sent in {sent_seconds:.2f} s, all answered in {elapsed:.2f} s)"
        )
        good = ok == len(statuses) and len(posts) == args.count and duplicates == 0 and lost == 0
        return 0 if good else 1
    finally:
        server.stop()
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
