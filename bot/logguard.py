"""What the log may hold, and how fast it may grow: secrets scrubbed, repeats held back.

- ``install_secret_scrubbing`` makes every log record, from any logger (ours, Bolt's,
  slack_sdk's, gunicorn's), pass through ``scrub`` when it is created: Slack tokens
  (``xoxb-``, ``xoxp-``, ``xoxe-`` refresh tokens, ``xapp-``), the OAuth ``code``, a
  ``client_secret`` or a token given as ``key=value`` / ``'key': 'value'``, and the exact
  secret values of the running process's settings. It hooks the record factory rather than
  adding a ``logging.Filter`` to a logger, because a logger's filters do not see the records
  of its children (``slack_bolt.oauth.oauth_flow`` propagates past a filter on
  ``slack_bolt``), nor records on a handler someone adds later (a test's capture included).
- ``RepeatFilter`` lets one record per distinct problem through per ``period`` seconds: during
  a database outage every worker logs the same traceback on every attempt; one a minute says
  as much, and the next one that passes counts those held back.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"

# Slack's token shapes: xoxb-/xoxp-/xoxa-/xoxr-/xoxs-, rotating refresh tokens xoxe-..., the
# exchanged form xoxe.xoxb-..., app-level xapp-.
_TOKENS = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+")
# key=value (query strings, reprs of requests) and 'key': 'value' / "key": ["value"] (dicts).
_KEYS = r"(?:code|client_secret|refresh_token|access_token|bot_token|user_token|token|signing_secret)"
_KEYED = re.compile(
    rf"""(?ix)
    ( \b{_KEYS}=                                  # code=..., in a URL or a request's repr
    | ['"]{_KEYS}['"]\s*:\s*\[?\s*['"]?          # 'code': ['...'] or "token": "..."
    )
    ([^'"&\s,\]}}]+)
    """
)
# Bolt's "... with code: CODE - error: ..." (an exit or status code, a short number, stays), and
# an OAuth code's own shape (digits.digits.hex) anywhere.
_CODE_WORD = re.compile(r"(\bcode:\s+)(?!\d{1,3}\b)([^\s,;]+)")
_OAUTH_CODE = re.compile(r"\b\d{6,}\.\d{6,}\.[0-9a-f]{16,}\b")

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def add_secrets(values: Iterable[str | None]) -> None:
    """Scrub these exact values too (the settings' secrets; short values are too common to)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 8)


def scrub(text: str) -> str:
    """``text`` with every secret it holds replaced by ``[redacted]``."""
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _KEYED.sub(lambda m: m.group(1) + REDACTED, text)
    text = _CODE_WORD.sub(lambda m: m.group(1) + REDACTED, text)
    text = _OAUTH_CODE.sub(REDACTED, text)
    return _TOKENS.sub(REDACTED, text)


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message and any traceback scrubbed (formatted once, here)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: let the handler report it as logging does
        return record
    cleaned = scrub(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


def secret_settings(settings) -> tuple[str | None, ...]:
    """The secret values among ``settings`` (a ``bot.config.Settings``), to scrub exactly."""
    return (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.slack_client_secret,
    )


def install_secret_scrubbing(secrets: Iterable[str | None] = ()) -> None:
    """Scrub every log record of this process from now on (idempotent); ``secrets`` too."""
    global _installed
    add_secrets(secrets)
    with _lock:
        if _installed:
            return
        _installed = True
        make_record = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            return scrub_record(make_record(*args, **kwargs))

        logging.setLogRecordFactory(factory)


class RepeatFilter(logging.Filter):
    """One record per distinct problem per ``period`` seconds (a handler's filter).

    Only records at ``level`` or above are held back: the warnings and tracebacks an outage
    repeats, not the info lines of normal work."""

    def __init__(
        self,
        period: float = 60.0,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.period = period
        self.level = level
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple, tuple[float, int]] = {}  # key: (when let through, held back since)

    @staticmethod
    def key(record: logging.LogRecord) -> tuple:
        """A traceback: the message's template and the exception's type and first line (the
        same failure in every worker, whatever job it was on). Any other line: as written."""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            lines = str(exc).strip().splitlines()
            return (
                record.name,
                record.levelno,
                str(record.msg),
                type(exc).__name__,
                lines[0] if lines else "",
            )
        return (record.name, record.levelno, record.getMessage())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        # One filter serves several handlers: a record is judged once, and each handler gets
        # the same verdict (judging it again would find it "seen" and drop it).
        verdict = getattr(record, "_advisor_repeat_verdict", None)
        if verdict is not None:
            return verdict
        verdict = self._judge(record)
        record._advisor_repeat_verdict = verdict
        return verdict

    def _judge(self, record: logging.LogRecord) -> bool:
        key = self.key(record)
        now = self.clock()
        with self._lock:
            if len(self._seen) > 1000:  # many distinct problems: forget the old ones
                self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.period}
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.period:
                self._seen[key] = (seen[0], seen[1] + 1)
                return False
            held = seen[1] if seen is not None else 0
            self._seen[key] = (now, 0)
        if held:
            message = record.getMessage()
            record.msg, record.args = f"{message} ({held} more like this held back)", None
        return True


def limit_repeats(handlers: Iterable[logging.Handler], period: float = 60.0) -> RepeatFilter:
    """One ``RepeatFilter`` on each of ``handlers`` (shared, so they agree); the filter."""
    repeat = RepeatFilter(period)
    for handler in handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(repeat)
    return repeat


def guard_logging(secrets: Iterable[str | None] = (), *, period: float = 60.0) -> None:
    """The serving process's and the CLI's logging: secrets scrubbed from every record, and
    repeats limited on the root logger's handlers (where every logger's records end up)."""
    install_secret_scrubbing(secrets)
    limit_repeats(logging.getLogger().handlers, period)
