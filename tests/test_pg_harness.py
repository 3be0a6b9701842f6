"""The suite's own PostgreSQL harness (tests/pg.py): a server that cannot come up is tried
twice, then named with its log, quickly; one that comes up answers a real connection."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.pg import PG_CTL, PG_SKIP_REASON, PgServer, ServerDown

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(PG_SKIP_REASON is not None, reason=str(PG_SKIP_REASON)),
]


@pytest.fixture
def base():
    directory = Path(tempfile.mkdtemp(prefix="advisor-pg-test-"))  # see pg_server: not under pytest's root
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_a_server_that_cannot_start_is_tried_twice_then_named_with_its_log(base):
    server = PgServer(base, PG_CTL, postgres_options="-c max_connections=-5")
    with pytest.raises(ServerDown) as raised:
        server.start()
    message = str(raised.value)
    assert message.startswith("PostgreSQL did not come up in two attempts")
    assert "attempt 1 (port" in message and "attempt 2 (port" in message
    # Each attempt's own log, where the server said why.
    assert message.count("max_connections") >= 2
    assert str(base / "attempt-1" / "postgresql.log") in message
    assert str(base / "attempt-2" / "postgresql.log") in message
    assert server.problem == message and server.executor is None


def test_a_started_server_answers_a_real_connection_and_a_down_one_fails_at_once(base):
    server = PgServer(base, PG_CTL).start()
    try:
        with server.connect() as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        server.require()  # up: nothing to say
        assert server.answers()
    finally:
        server.stop()
    assert not server.answers()  # a test's failure is then the server's, not the test's own
    with pytest.raises(pytest.fail.Exception) as failed:
        server.went_down(OSError("connection refused"))
    assert "stopped answering (no longer running): connection refused" in str(failed.value)
    with pytest.raises(pytest.fail.Exception) as again:
        server.require()  # every later test: at once, with the same reason
    assert str(again.value) == str(failed.value)
