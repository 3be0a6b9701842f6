"""Issue 28, items 5 and 8, for the long-running processes other than ``serve``: the tips
worker's log holds no secret and an outage's repeated traceback once a minute, not once a pass.

``python -m bot tips worker`` runs against a real PostgreSQL reached through a proxy the test
can cut: once cut, every check the worker makes (every 0.05 s) fails on the database, and the
proxy counts the connections it refused.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.storage import open_store
from tests.fake_slack import wait_until
from tests.helpers import clean_env
from tests.pg import postgres_url

pytest_plugins = ["tests.pg"]

REPO = Path(__file__).resolve().parent.parent


class CuttableProxy:
    """A TCP proxy to ``port`` on 127.0.0.1; ``cut()`` drops every connection it carries and
    closes each new one at once (counted in ``refused``): a database gone away."""

    def __init__(self, port: int):
        self.port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.down = threading.Event()
        self.refused = 0
        self._carried: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> int:
        return self.listener.getsockname()[1]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.down.is_set():
                self.refused += 1
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.port))
            with self._lock:
                self._carried += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.down.set()
        with self._lock:
            for sock in self._carried:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._carried:
                sock.close()


@pytest.mark.postgres
def test_the_tips_worker_logs_an_outages_traceback_once_and_no_secret(request, tmp_path, fake_slack):
    janitor, url = postgres_url(request, migrated=True)
    with janitor:
        store = open_store(url)
        store.subscribe(team="T1", channel="C1", local_time="00:00", tz="UTC", days="daily")
        store.close()
        server_port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        proxy = CuttableProxy(server_port)
        secret = "xoxb-secret-of-the-tips-worker"
        env = clean_env(
            DATABASE_URL=url.replace(f":{server_port}/", f":{proxy.address}/"),
            SLACK_API_URL=fake_slack.url,
            SLACK_BOT_TOKEN=secret,
            ADVISOR_TIPS_PACE_SECONDS="0",
            ADVISOR_TIPS_CHECK_SECONDS="0.05",
            ADVISOR_DATA_DIR=str(tmp_path),
        )
        log = tmp_path / "worker.log"  # a file: a pipe nobody reads would stop the worker when full
        with log.open("w") as stderr:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "tips", "worker"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            fake_slack.wait_for("chat.postMessage", 1, timeout=120)  # working, through the proxy
            proxy.cut()
            # Each check after the cut connects again and is refused: 30 failed passes at least.
            wait_until(lambda: proxy.refused >= 30, timeout=120, what=lambda: f"{proxy.refused} refused")
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
            proxy.close()
    err = log.read_text()
    assert worker.returncode == 0, err
    assert err.count("tips pass failed") == 1, err  # one traceback for 30 failed passes
    # Each distinct problem once (the pass; the purge or a post cut mid-way, if they ran).
    errors = [line.split(" ERROR ", 1)[1] for line in err.splitlines() if " ERROR " in line]
    assert len(errors) == len(set(errors)), err
    assert secret not in err
