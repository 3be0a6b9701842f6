"""Slack users' locales (``users.info`` with ``include_locale``), cached per user: the card's
language follows the asker's (``blocks.card_language``).

A lookup that fails is logged and gives None (the card then follows the question's language);
an answer is kept ``TTL_SECONDS`` so a busy user costs one call an hour, not one a question.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient

logger = logging.getLogger(__name__)

TTL_SECONDS = 3600.0
MAX_USERS = 10_000  # beyond this many cached users the cache starts again (memory stays bounded)


class Locales:
    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def of(self, client: WebClient, user: str | None, team: str | None = None) -> str | None:
        """``user``'s Slack locale (``zh-CN``), or None when unknown."""
        if not user:
            return None
        key = (team or "", user)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            info = client.users_info(user=user, include_locale=True).get("user") or {}
            locale = info.get("locale") or None
        except Exception as exc:
            logger.warning("could not read the locale of %s: %s", user, exc)
            return None
        with self._lock:
            if len(self._cache) >= MAX_USERS:
                self._cache.clear()
            self._cache[key] = (now, locale)
        return locale


LOCALES = Locales()  # the serving process's cache, shared by every listener
