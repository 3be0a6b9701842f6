"""Measure: the real HTTP server under ``ulimit -n 1024`` against 1,100 slow-header clients.

Starts the fake Slack in this process and ``python -m bot serve --http`` (gunicorn's guarded
asyncio worker, bot/httpguard.py) with a file limit of ``--file-limit``, then for ``--seconds``
keeps ``--clients`` connections open that trickle request headers a byte at a time and never
finish them (one reconnects when the server closes it). Meanwhile it times a GET /healthz
every 0.25 s and a signed mention every second, and counts what the server wrote to its log.
Loopback only; every loop is bounded by ``--seconds``. Not a test: figures depend on the machine.

    .venv/bin/python scripts/slow_clients.py [--clients 1100] [--seconds 30] [--file-limit 1024]
        [--index data/index]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_slack import FakeSlack  # noqa: E402
from tests.slack_harness import _READY, REPO, SlackSender, bot_env, event_body, mention  # noqa: E402

HOST = "127.0.0.1"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


def start_bot(env: dict, file_limit: int) -> tuple[subprocess.Popen, int, list[str]]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (file_limit, file_limit))

    command = [sys.executable, "-m", "bot", "serve", "--http", "--host", HOST, "--port", "0"]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=limit
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


def trickle(port: int, clients: int, stop: threading.Event, stats: dict) -> None:
    """``clients`` connections sending a request line and header bytes, a byte each second per
    connection, never the blank line; a closed one is replaced. One thread, one selector."""
    selector = selectors.DefaultSelector()
    open_: dict[socket.socket, int] = {}

    def connect() -> None:
        try:
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((HOST, port))
            selector.register(sock, selectors.EVENT_READ)
            open_[sock] = 0
            stats["connects"] += 1
        except OSError:
            stats["connect_errors"] += 1

    for _ in range(clients):
        connect()
    next_byte = time.monotonic()
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.1):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 408"):
                stats["408"] += 1
            elif data.startswith(b"HTTP/1.1 503"):
                stats["503"] += 1
            # An answer or the server's close: this client is done; another takes its place.
            selector.unregister(sock)
            sock.close()
            open_.pop(sock, None)
            stats["closed_by_server"] += 1
            connect()
        if time.monotonic() >= next_byte:
            next_byte += 1.0
            for sock, sent in list(open_.items()):
                chunk = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" if sent == 0 else b"X"
                try:
                    sock.send(chunk)
                    open_[sock] = sent + 1
                except OSError:
                    pass
    for sock in list(open_):
        selector.unregister(sock)
        sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--file-limit", type=int, default=1024)
    parser.add_argument("--index", type=Path, default=REPO / "data" / "index", help="a built index to copy")
    parser.add_argument("--log", type=Path, help="write the server's log here")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.clients + 200
    if soft < needed:  # this process holds every client's socket
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))

    fake = FakeSlack().start()
    data_dir = Path(tempfile.mkdtemp(prefix="advisor-slow-"))
    if args.index.is_dir():
        shutil.copytree(args.index, data_dir / "index")
    process, port, lines = start_bot(bot_env(fake.url, data_dir), args.file_limit)
    sender = SlackSender(f"http://{HOST}:{port}")
    stats = {"connects": 0, "connect_errors": 0, "closed_by_server": 0, "408": 0, "503": 0}
    stop = threading.Event()
    feeder = threading.Thread(target=trickle, args=(port, args.clients, stop, stats), daemon=True)
    log_before = sum(len(line.encode()) for line in lines)
    feeder.start()
    health: list[float] = []
    health_status: dict[int, int] = {}
    acks: list[float] = []
    ack_status: dict[int, int] = {}
    began = time.monotonic()
    i = 0
    try:
        while time.monotonic() - began < args.seconds:
            i += 1
            try:
                reply = sender.request("GET", "/healthz", timeout=5)
                health.append(reply.seconds)
                health_status[reply.status] = health_status.get(reply.status, 0) + 1
            except OSError:
                health.append(5.0)
                health_status[0] = health_status.get(0, 0) + 1
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
        stop.set()
        feeder.join(10)
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
        },
        "signed_event_ack": {
            "count": len(acks),
            "status": ack_status,
            "max_ms": round(max(acks) * 1000, 1) if acks else None,
        },
        "slow_clients": stats,
        "log_bytes_during_run": log_bytes,
        "too_many_open_files_lines": log_text.count("Too many open files"),
        "tracebacks": log_text.count("Traceback"),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
