"""Every command's expected errors: one ``Error:`` line, a non-zero exit, no traceback, no secret."""

from __future__ import annotations

import pytest

from bot.errors import AdvisorError, explain
from tests.helpers import invoke

PASSWORD = "s3cret-password"
UNREACHABLE_DB = f"postgresql://advisor:{PASSWORD}@127.0.0.1:1/advisor"  # nothing listens on port 1


def run(*args: str, **env: str):
    return invoke(*args, env=env)


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and PASSWORD not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_db_upgrade_with_an_unreachable_database_prints_one_line():
    line = one_line_error(run("db", "upgrade", DATABASE_URL=UNREACHABLE_DB))
    assert line.startswith("Error: cannot open the database (postgresql): ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("tips", "list"), "Error: cannot open the database (postgresql): "),
        (("tips", "unsubscribe", "--team", "T1", "--channel", "C1"), "Error: cannot open the database"),
        (("tips", "preview"), "Error: cannot open the database"),
    ],
)
def test_tips_commands_with_an_unreachable_database_print_one_line(args, expected):
    assert one_line_error(run(*args, DATABASE_URL=UNREACHABLE_DB)).startswith(expected)


def test_an_unparseable_database_url_never_echoes_it(tmp_path):
    line = one_line_error(run("db", "upgrade", DATABASE_URL=f"postgresql://u:{PASSWORD}@host:notaport/db"))
    assert line == "Error: invalid DATABASE_URL: cannot be parsed (scheme://user:password@host/db)"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("tips", "run-due"), {}, "Error: missing required setting(s): SLACK_BOT_TOKEN"),
        (("tips", "worker"), {}, "Error: missing required setting(s): SLACK_BOT_TOKEN"),
        (("serve", "--http"), {}, "Error: "),
        (
            ("ask", "who sets quotas?"),
            {"ADVISOR_TOP_K": "many"},
            "Error: invalid setting top_k from ADVISOR_TOP_K",
        ),
        (
            ("ask", "who sets quotas?"),
            {"ADVISOR_MODEL_THREADS": "0"},
            "Error: invalid setting model_threads from ADVISOR_MODEL_THREADS: must be between 1 and 64",
        ),
        (
            ("serve", "--socket"),
            {"ADVISOR_SOCKET_PING_SECONDS": "0"},
            "Error: invalid setting socket_ping_seconds from ADVISOR_SOCKET_PING_SECONDS: must be between",
        ),
        (("index", "info"), {"ADVISOR_KNOWLEDGE_DIR": "/nonexistent/knowledge"}, "Error: "),
        (
            ("tips", "subscribe", "--team", "T1", "--channel", "C1", "--tz", "Mars/Olympus"),
            {},
            "Error: unknown",
        ),
    ],
)
def test_expected_errors_of_each_command_are_one_line(tmp_path, args, env, expected):
    line = one_line_error(run(*args, ADVISOR_DATA_DIR=str(tmp_path), **env))
    assert line.startswith(expected), line


def test_a_database_failure_mid_command_is_one_line():
    from sqlalchemy.exc import OperationalError

    error = OperationalError("SELECT 1", {}, Exception(f"server closed the connection\nDETAIL: {PASSWORD}"))
    assert explain(error) == ("database error: server closed the connection", 1)


def test_only_expected_errors_are_explained():
    class Odd(AdvisorError):
        exit_code = 3

    assert explain(Odd("first line\nsecond")) == ("first line", 3)
    assert explain(KeyError("bug")) is None


# A directory nobody may write in, even root (sysfs): a read-only data directory.
READ_ONLY = "/sys/advisor-read-only-data"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("index", "build"), {"ADVISOR_DATA_DIR": READ_ONLY}),
        (("db", "upgrade"), {"DATABASE_URL": f"sqlite:///{READ_ONLY}/advisor.sqlite3"}),
    ],
)
def test_a_read_only_data_dir_is_one_line(args, env):
    line = one_line_error(run(*args, **env))
    assert READ_ONLY in line and "writable" in line


def test_ask_json_batch_survives_lines_that_are_not_utf8(tmp_path, core_knowledge_dir, core_data_dir):
    """Bytes that are not UTF-8 (under a UTF-8 locale and under C): one valid UTF-8 JSON line
    per input line, the bad bytes replaced, the batch not aborted."""
    import json
    import subprocess
    import sys

    from bot.config import REPO_ROOT
    from tests.helpers import clean_env

    stdin = b"who sets the sales quota?\n\xff\xfe caf\xe9 quota?\nwho owns the brand?\n"
    for locale in ("C.UTF-8", "C"):
        env = clean_env(
            ADVISOR_KNOWLEDGE_DIR=str(core_knowledge_dir), ADVISOR_DATA_DIR=str(core_data_dir), LC_ALL=locale
        )
        env.pop("PYTHONIOENCODING", None)
        env.pop("PYTHONUTF8", None)
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--json"],
            cwd=REPO_ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        lines = done.stdout.split(b"\n")
        assert lines[-1] == b"" and len(lines) == 4, done.stdout
        answers = [json.loads(line.decode("utf-8")) for line in lines[:3]]
        assert answers[1]["question"] == "\ufffd\ufffd caf\ufffd quota?"
        assert answers[0]["question"] == "who sets the sales quota?"


def test_model_threads_takes_a_whole_number_or_auto(tmp_path):
    from bot.config import ConfigError, load_settings

    assert load_settings({"ADVISOR_MODEL_THREADS": "auto"}).model_threads is None
    assert load_settings({"ADVISOR_MODEL_THREADS": "1"}).model_threads == 1
    config = tmp_path / "advisor.yaml"
    for value in ("1.9", "true"):
        config.write_text(f"model_threads: {value}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="model_threads from .*: must be a whole number"):
            load_settings({}, config)
    config.write_text("model_threads: null\nsocket_ping_seconds: 2\n", encoding="utf-8")
    settings = load_settings({}, config)
    assert settings.model_threads is None and settings.socket_ping_seconds == 2.0
