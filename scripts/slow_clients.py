"""Measure: the real HTTP server under ``ulimit -n 1024`` against 1,100 slow-header clients.

Starts the fake Slack in this process and ``python -m bot serve --http`` (gunicorn's guarded
asyncio worker, bot/httpguard.py) with a file limit of ``--file-limit``, then for ``--seconds``
keeps ``--clients`` connections open that trickle request headers a byte at a time and never
finish them (one reconnects when the server closes it). Meanwhile it times a GET /healthz
every 0.25 s and a signed mention every second, and counts what the server wrote to its log.
Loopback only; every loop is bounded by ``--seconds``. Not a test: figures depend on the machine.

    .venv/bin/python scripts/slow_clients.py [--clients 1100] [--seconds 30] [--file-limit 1024]
        [--index data/index] [--health-port]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_slack import FakeSlack  # noqa: E402
from tests.flood_harness import HEALTH_LINE, HOST, Trickle, file_limit, probe, room_for_clients  # noqa: E402
from tests.slack_harness import _READY, REPO, SlackSender, bot_env, event_body, mention  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


def summary(times: list[float], statuses: dict[int, int]) -> dict:
    return {
        "count": len(times),
        "status": statuses,
        "p50_ms": round(percentile(times, 0.5) * 1000, 1),
        "p99_ms": round(percentile(times, 0.99) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "over_1s": sum(1 for s in times if s >= 1.0),
    }


def listen_counters() -> dict[str, int]:
    """The kernel's count of connections dropped because a listen queue was full (this network
    namespace, every socket: read before and after, the difference is this run's if nothing
    else here overflows one)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=True))
            return {k: counters.get(k, 0) for k in ("ListenOverflows", "ListenDrops")}
    return {}


def accept_queue(port: int) -> int | None:
    """Connections waiting in the kernel for the server to accept them on ``port`` (a listening
    socket's rx_queue in /proc/net/tcp); None when not found."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[4].split(":")[1], 16)
    return None


def start_bot(env: dict, limit: int, health_port: bool) -> tuple[subprocess.Popen, int, list[str]]:
    command = [sys.executable, "-m", "bot", "serve", "--http", "--host", HOST, "--port", "0"]
    if health_port:
        command += ["--health-port", "0"]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=file_limit(limit),
    )
    lines: list[str] = []
    port: list[int] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            match = _READY.search(line)
            if match and not port:
                port.append(int(match.group(2)))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(600) or not port:
        process.kill()
        raise SystemExit("the bot did not start:\n" + "".join(lines[-30:]))
    return process, port[0], lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--file-limit", type=int, default=1024)
    parser.add_argument("--index", type=Path, default=REPO / "data" / "index", help="a built index to copy")
    parser.add_argument("--log", type=Path, help="write the server's log here")
    parser.add_argument(
        "--health-port", action="store_true", help="also serve /healthz on a port of its own and time it too"
    )
    args = parser.parse_args()
    room_for_clients(args.clients)

    fake = FakeSlack().start()
    data_dir = Path(tempfile.mkdtemp(prefix="advisor-slow-"))
    if args.index.is_dir():
        shutil.copytree(args.index, data_dir / "index")
    process, port, lines = start_bot(bot_env(fake.url, data_dir), args.file_limit, args.health_port)
    health_port = None
    if args.health_port:
        found = [HEALTH_LINE.search(line) for line in lines]
        health_port = next(int(m.group(1)) for m in found if m)
    sender = SlackSender(f"http://{HOST}:{port}")
    feeder = Trickle(port, args.clients)
    stats = feeder.stats
    log_before = sum(len(line.encode()) for line in lines)
    feeder.start()
    health: list[float] = []
    health_connect: list[float] = []
    health_status: dict[int, int] = {}
    own: list[float] = []  # /healthz on its own port (--health-port)
    own_status: dict[int, int] = {}
    acks: list[float] = []
    ack_status: dict[int, int] = {}
    queued: list[int] = []
    counters_before = listen_counters()
    began = time.monotonic()
    i = 0
    try:
        while time.monotonic() - began < args.seconds:
            i += 1
            status, connect_seconds, seconds = probe(port)
            health.append(seconds)
            health_connect.append(connect_seconds)
            health_status[status] = health_status.get(status, 0) + 1
            queued.append(accept_queue(port) or 0)
            if health_port is not None:
                status, _, seconds = probe(health_port)
                own.append(seconds)
                own_status[status] = own_status.get(status, 0) + 1
            if i % 4 == 0:
                try:
                    reply = sender.event(
                        event_body(mention("who sets the sales quota?", channel=f"CSLOW{i}")), timeout=5
                    )
                    acks.append(reply.seconds)
                    ack_status[reply.status] = ack_status.get(reply.status, 0) + 1
                except OSError:
                    acks.append(5.0)
                    ack_status[0] = ack_status.get(0, 0) + 1
            time.sleep(0.25)
    finally:
        feeder.stop()
        log_bytes = sum(len(line.encode()) for line in lines) - log_before
        process.terminate()
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
        fake.stop()
    log_text = "".join(lines)
    if args.log:
        args.log.write_text(log_text, encoding="utf-8")
    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "file_limit": args.file_limit,
        "healthz": {
            "count": len(health),
            "status": health_status,
            "p50_ms": round(percentile(health, 0.5) * 1000, 1),
            "p99_ms": round(percentile(health, 0.99) * 1000, 1),
            "max_ms": round(max(health) * 1000, 1),
            "over_1s": sum(1 for s in health if s >= 1.0),
            "connect_max_ms": round(max(health_connect) * 1000, 1),
            "connects_over_1s": sum(1 for s in health_connect if s >= 1.0),
        },
        "healthz_own_port": summary(own, own_status) if own else None,
        "signed_event_ack": {
            "count": len(acks),
            "status": ack_status,
            "max_ms": round(max(acks) * 1000, 1) if acks else None,
        },
        "slow_clients": stats,
        "accept_queue": {"max": max(queued, default=0), "p50": percentile(queued, 0.5)},
        "listen_queue_overflows": {k: v - counters_before.get(k, 0) for k, v in listen_counters().items()},
        "log_bytes_during_run": log_bytes,
        "too_many_open_files_lines": log_text.count("Too many open files"),
        "tracebacks": log_text.count("Traceback"),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
