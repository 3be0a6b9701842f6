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
import re
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
HEALTH_LINE = re.compile(r"advisor health endpoint at http://[\d.]+:(\d+)/healthz")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


def summary(times: list[float], statuses: dict[int, int]) -> dict:
    return {
        "count": len(times),
        "status": statuses,
        "p50_ms": round(percentile(times, 0.5) * 1000, 1),
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


def probe(port: int, timeout: float = 5.0) -> tuple[int, float, float]:
    """GET /healthz on a new connection: (status or 0, seconds to connect, seconds in all).
    A connect that takes a second or more is a SYN the kernel dropped (listen queue full) and
    sent again; a slow answer after a fast connect is a wait in the queue or on the loop."""
    started = time.monotonic()
    connected = started
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            connected = time.monotonic()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    except (OSError, ValueError, IndexError):
        status = 0
    ended = time.monotonic()
    return status, connected - started, ended - started


def start_bot(env: dict, file_limit: int, health_port: bool) -> tuple[subprocess.Popen, int, list[str]]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (file_limit, file_limit))

    command = [sys.executable, "-m", "bot", "serve", "--http", "--host", HOST, "--port", "0"]
    if health_port:
        command += ["--health-port", "0"]
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
    parser.add_argument(
        "--health-port", action="store_true", help="also serve /healthz on a port of its own and time it too"
    )
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.clients + 200
    if soft < needed:  # this process holds every client's socket
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))

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
    stats = {"connects": 0, "connect_errors": 0, "closed_by_server": 0, "408": 0, "503": 0}
    stop = threading.Event()
    feeder = threading.Thread(target=trickle, args=(port, args.clients, stop, stats), daemon=True)
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
