"""Load test: signed app_mention events against the real HTTP server and the fake Slack.

Starts the fake Slack Web API in this process and ``python -m bot serve --http`` as a
subprocess pointed at it, sends COUNT signed mentions (CONCURRENCY at a time, each in its
own channel), then reports ack latency, posts, duplicates, lost answers and the time from
sending an event to its answer reaching Slack, once for each ``--post-delays`` value (Slack
taking that long to answer every post; default 0 and 1 s). Then, side by side, the two
gunicorn worker classes (gthread, asgi) under ``--slow-clients`` connections trickling a byte
a second: /healthz and signed-event ack latency. Not a test: figures depend on the machine.

    .venv/bin/python scripts/load_slack.py [--count 200] [--concurrency 20] [--post-delays 0,1]
        [--slow-clients 24] [--retries 0] [--pace 0]

``--retries N`` also re-delivers every event N more times (X-Slack-Retry-Num 1..N), as
Slack does when an ack is slow; the answer count must not change. ``--pace S`` makes each
sender wait S seconds between events (``--concurrency 1 --pace 0.2`` measures one question at
a time, without queueing). Exits 1 unless every event was acked with 200 and answered once.
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.storage import open_store  # noqa: E402
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


def run_load(fake, server, args, post_delay: float) -> bool:
    """COUNT mentions, CONCURRENCY at a time, with every Slack post taking ``post_delay`` s."""
    fake.calls.clear()
    if post_delay:
        fake.delay("chat.postMessage", post_delay, times=args.count * (args.retries + 1) + 10)
    sender = server.sender()
    tag = f"{int(post_delay * 1000)}"
    bodies = [
        event_body(mention(QUESTIONS[i % len(QUESTIONS)], channel=f"CLOAD{tag}X{i:05d}"))
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
    # Event -> post: until the post reached Slack (its arrival; a delayed post is Slack's then).
    to_post = [
        min(p.at for p in by_channel[channel]) - sent_at[channel]
        for channel in sent_at
        if channel in by_channel
    ]
    elapsed = max(p.at for p in posts) - started if posts else float("nan")
    ok = sum(1 for s in statuses if s == 200)

    print(f"--- Slack posts taking {post_delay:g} s ---")
    print(f"events sent:        {args.count} x {args.retries + 1} deliveries, {args.concurrency} at a time")
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
        f"(all sent in {sent_seconds:.2f} s, all answered in {elapsed:.2f} s)",
        flush=True,
    )
    return ok == len(statuses) and len(posts) == args.count and duplicates == 0 and lost == 0


def slow_clients(fake, server, connections: int) -> None:
    """``connections`` clients trickling a request body a byte a second; meanwhile 10 /healthz
    and 5 signed events, each timed (a timeout counts as 5 s)."""
    sender = server.sender()
    open_ = []
    for _ in range(connections):
        conn = socket.create_connection((sender.host, sender.port))
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        open_.append(conn)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for conn in open_:
                try:
                    conn.sendall(b"a")
                except OSError:
                    pass

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    time.sleep(2.0)

    def timed(call) -> float:
        try:
            reply = call()
            return reply.seconds if reply.status < 500 else 5.0
        except OSError:
            return 5.0

    health = [timed(lambda: sender.request("GET", "/healthz", timeout=5)) for _ in range(10)]
    events = [
        timed(lambda i=i: sender.event(event_body(mention(QUESTIONS[0], channel=f"CSLOW{i}")), timeout=5))
        for i in range(5)
    ]
    stop.set()
    feeder.join()
    for conn in open_:
        conn.close()
    print(
        f"{connections} slow clients:    /healthz max {ms(max(health))} (p50 {ms(percentile(health, 0.5))}), "
        f"signed event ack max {ms(max(events))} ({sum(1 for e in events if e >= 5.0)} of 5 timed out)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--retries", type=int, default=0, help="re-deliveries of each event")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds each sender waits between events")
    parser.add_argument(
        "--post-delays", default="0,1", help="comma-separated seconds each Slack post takes, one run each"
    )
    parser.add_argument(
        "--slow-clients", type=int, default=24, help="trickling connections per worker class (0: skip)"
    )
    parser.add_argument("--data-dir", type=Path, help="keep the index here between runs")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for answers")
    args = parser.parse_args()

    fake = FakeSlack().start()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="advisor-load-"))
    good = True
    try:
        print(f"starting the bot (data dir {data_dir}) ...", flush=True)
        server = BotServer(bot_env(fake.url, data_dir)).start(timeout=600)
        try:
            for delay in (float(d) for d in args.post_delays.split(",") if d.strip()):
                good = run_load(fake, server, args, delay) and good
                database = open_store(f"sqlite:///{data_dir / 'advisor.sqlite3'}")
                wait = time.monotonic() + args.timeout
                while database.job_counts().get("pending", 0) and time.monotonic() < wait:
                    time.sleep(0.1)
                database.close()
        finally:
            server.stop()
        if args.slow_clients:
            print("--- slow clients, side by side ---")
            for worker in ("gthread", "asgi"):
                server = BotServer(bot_env(fake.url, data_dir), args=("--http-worker", worker)).start(
                    timeout=600
                )
                try:
                    print(f"worker {worker}: ", end="")
                    slow_clients(fake, server, args.slow_clients)
                finally:
                    server.stop()
        return 0 if good else 1
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
