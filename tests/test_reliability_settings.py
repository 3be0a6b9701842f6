"""Issue 28, items 5 and 7: settings validated one line per problem; storage waits bounded;
what the log may hold (secrets scrubbed, repeats held back, with an injected clock)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading

import pytest

from bot.config import ConfigError, load_settings
from bot.errors import explain
from bot.logguard import REDACTED, RepeatFilter, install_secret_scrubbing, scrub
from tests.helpers import clean_env, invoke

# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"ADVISOR_TIPS_CHECK_SECONDS": "nan"},
            "invalid setting tips_check_seconds from ADVISOR_TIPS_CHECK_SECONDS",
        ),
        ({"ADVISOR_TIPS_CHECK_SECONDS": "inf"}, "invalid setting tips_check_seconds"),
        ({"ADVISOR_TIPS_CHECK_SECONDS": "0"}, "between 0.01 and 86400"),
        ({"ADVISOR_TIPS_PACE_SECONDS": "-1"}, "invalid setting tips_pace_seconds"),
        ({"ADVISOR_SOCKET_PING_SECONDS": "NaN"}, "invalid setting socket_ping_seconds"),
        ({"ADVISOR_SLACK_RETRY_BUDGET_SECONDS": "nan"}, "invalid setting slack_retry_budget_seconds"),
        ({"ADVISOR_SLACK_RETRY_BUDGET_SECONDS": "0"}, "between 1 and 604800 seconds"),
        ({"ADVISOR_SLACK_RETRY_CAP_SECONDS": "inf"}, "invalid setting slack_retry_cap_seconds"),
        (
            {"ADVISOR_LOG_LEVEL": "LOUD"},
            "invalid setting log_level from ADVISOR_LOG_LEVEL: must be one of DEBUG",
        ),
    ],
)
def test_a_bad_setting_is_refused_with_one_line(env, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message, code = explain(caught.value)
    assert expected in message and "\n" not in message and code == 1


def test_every_bad_setting_is_named_on_its_own_line():
    env = {"ADVISOR_TIPS_CHECK_SECONDS": "nan", "ADVISOR_LOG_LEVEL": "LOUD", "ADVISOR_TOP_K": "many"}
    result = invoke("tips", "list", env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 3, result.output
    assert lines[0].startswith("Error: invalid setting top_k")
    assert any("log_level" in line for line in lines) and any("tips_check_seconds" in line for line in lines)


def test_good_settings_still_load():
    settings = load_settings({"ADVISOR_LOG_LEVEL": "warning", "ADVISOR_TIPS_CHECK_SECONDS": "0.2"})
    assert (settings.log_level, settings.tips_check_seconds) == ("WARNING", 0.2)
    assert settings.slack_retry_budget_seconds >= 3600  # an outage of an hour is waited out
    short = load_settings(
        {"ADVISOR_SLACK_RETRY_BUDGET_SECONDS": "90", "ADVISOR_SLACK_RETRY_CAP_SECONDS": "0.5"}
    )
    assert (short.slack_retry_budget_seconds, short.slack_retry_cap_seconds) == (90.0, 0.5)


def test_an_unknown_advisor_name_is_warned_with_a_did_you_mean(caplog):
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        settings = load_settings({"ADVISOR_TOPK": "5", "ADVISOR_CONFIG": "", "ADVISOR_TEST_POSTGRES": "1"})
    assert settings.top_k == 3  # the mistyped name changes nothing
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.config"]
    assert warnings == ["unknown setting ADVISOR_TOPK is ignored (did you mean ADVISOR_TOP_K?)"]


def test_an_uncreatable_sqlite_directory_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    result = invoke("db", "upgrade", env={"ADVISOR_DATA_DIR": str(blocker / "data")})
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: cannot create the SQLite directory {blocker / 'data'}")


# --- storage: a database that accepts connections and never answers -------------------------------


@pytest.fixture
def silent_database():
    """A TCP port that accepts connections and never sends a byte (a frozen server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql://advisor:pw-never-shown@127.0.0.1:{listener.getsockname()[1]}/advisor"
    stop.set()
    thread.join(5)
    listener.close()
    for connection in held:
        connection.close()


@pytest.mark.parametrize("args", [("db", "upgrade"), ("serve", "--http", "--port", "0")])
def test_a_database_that_never_answers_stops_the_command_with_one_line(silent_database, args, tmp_path):
    env = clean_env(
        DATABASE_URL=silent_database,
        SLACK_BOT_TOKEN="xoxb-not-used",
        SLACK_SIGNING_SECRET="not-used",
        ADVISOR_DATA_DIR=str(tmp_path),
    )
    # The timeout only stops a hang from stalling the suite; the bound is the engine's.
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "the database" in lines[0] and "timeout" in lines[0] and "pw-never-shown" not in lines[0]


# --- the log: secrets and repeats -------------------------------------------------------------------


def test_scrub_removes_tokens_codes_and_secrets():
    install_secret_scrubbing(["signing-secret-value-1234"])
    text = (
        "GET /slack/oauth_redirect?code=1234.5678.abcd&state=s1 {'code': ['9.9'], "
        '"refresh_token": "xoxe-1-abc"} xoxb-1-2-x xoxp-3 xoxe.xoxb-1-y xapp-1-A-2 '
        "client_secret=cs-1 signing-secret-value-1234 exit code: 1"
    )
    cleaned = scrub(text)
    for secret in (
        "1234.5678.abcd",
        "9.9",
        "xoxe-1-abc",
        "xoxb-1-2-x",
        "xoxp-3",
        "xoxb-1-y",
        "xapp-1-A-2",
        "cs-1",
    ):
        assert secret not in cleaned
    assert "signing-secret-value-1234" not in cleaned and cleaned.count(REDACTED) == 9
    assert "state=s1" in cleaned and "exit code: 1" in cleaned


def test_every_record_is_scrubbed_whichever_logger_and_handler(caplog):
    install_secret_scrubbing()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("slack_bolt.oauth.oauth_flow").warning("failed: %s", {"code": ["c-123.4"]})
        try:
            raise RuntimeError("bad token xoxb-999-abc")
        except RuntimeError:
            logging.getLogger("slack_sdk.web.base_client").exception("call failed")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "c-123.4" not in text and "xoxb-999-abc" not in text and text.count(REDACTED) >= 2


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(message: str, error: Exception | None = None, level: int = logging.ERROR) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error is not None else None
    return logging.LogRecord("bot.slack.jobs", level, __file__, 1, message, ("job-1",), exc_info)


def test_repeated_tracebacks_pass_once_a_minute_and_count_those_held_back():
    clock = Clock()
    repeat = RepeatFilter(60.0, clock=clock)
    outage = ConnectionError("connection refused")
    assert repeat.filter(record("job %s failed", outage))
    for _ in range(99):  # every worker, every attempt: the same failure
        assert not repeat.filter(record("job %s failed", outage))
    assert repeat.filter(record("job %s failed", TimeoutError("timed out")))  # another error passes
    assert repeat.filter(record("database is back", level=logging.INFO))  # info is never held
    clock.now += 59.9
    assert not repeat.filter(record("job %s failed", outage))
    clock.now += 0.2
    again = record("job %s failed", outage)
    assert repeat.filter(again)
    assert again.getMessage() == "job job-1 failed (100 more like this held back)"


def test_one_filter_on_several_handlers_gives_each_the_same_verdict():
    repeat = RepeatFilter(60.0, clock=Clock())
    first = record("job %s failed", ConnectionError("refused"))
    assert repeat.filter(first) and repeat.filter(first)  # a second handler sees it too
    second = record("job %s failed", ConnectionError("refused"))
    assert not repeat.filter(second) and not repeat.filter(second)
