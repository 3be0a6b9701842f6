"""Slow-header clients against a server, and what to watch while they run: shared by
tests/test_reliability_flood.py and scripts/slow_clients.py."""

from __future__ import annotations

import os
import re
import resource
import selectors
import socket
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"
HEALTH_LINE = re.compile(r"advisor health endpoint at http://[\d.]+:(\d+)/healthz")
# What asyncio logs when an accept finds no file descriptor left.
OUT_OF_FILES = ("Too many open files", "out of system resource")


def room_for_clients(clients: int) -> None:
    """This process holds every client's socket: raise its soft file limit to fit them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = clients + 300
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"{clients} clients need a file limit of {needed}; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def file_limit(limit: int):
    """A ``preexec_fn`` giving the child process a soft and hard file limit of ``limit``."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (gunicorn's master: its worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def probe(port: int, path: str = "/healthz", timeout: float = 5.0) -> tuple[int, float, float]:
    """GET ``path`` on a new connection: (status or 0, seconds to connect, seconds in all).
    A connect that takes a second or more is a SYN the kernel dropped (listen queue full) and
    sent again; a slow answer after a fast connect is a wait in the queue or on the loop."""
    started = time.monotonic()
    connected = started
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            connected = time.monotonic()
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".encode())
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


class Trickle:
    """``clients`` connections sending a request line and header bytes, a byte each second per
    connection, never the blank line; one the server closes is replaced at once. One thread,
    one selector; ``stats`` counts connects, closes by the server and the 408s and 503s read."""

    def __init__(self, port: int, clients: int):
        self.port = port
        self.clients = clients
        self.stats = {"connects": 0, "connect_errors": 0, "closed_by_server": 0, "408": 0, "503": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trickle", daemon=True)

    def start(self) -> Trickle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        open_: dict[socket.socket, int] = {}

        def connect() -> None:
            try:
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex((HOST, self.port))
                selector.register(sock, selectors.EVENT_READ)
                open_[sock] = 0
                self.stats["connects"] += 1
            except OSError:
                self.stats["connect_errors"] += 1

        for _ in range(self.clients):
            connect()
        next_byte = time.monotonic()
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if data.startswith(b"HTTP/1.1 408"):
                    self.stats["408"] += 1
                elif data.startswith(b"HTTP/1.1 503"):
                    self.stats["503"] += 1
                # An answer or the server's close: this client is done; another takes its place.
                selector.unregister(sock)
                sock.close()
                open_.pop(sock, None)
                self.stats["closed_by_server"] += 1
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
