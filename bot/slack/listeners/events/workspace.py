"""The app leaving a workspace (uninstalled, bot token revoked), and events we only acknowledge."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext

from ....storage import Store

logger = logging.getLogger(__name__)


class Workspace:
    def __init__(self, store: Store):
        self.store = store

    def on_app_uninstalled(self, body: dict, context: BoltContext) -> None:
        self._deactivate(body, context, "app_uninstalled")

    def on_tokens_revoked(self, body: dict, event: dict, context: BoltContext) -> None:
        if (event.get("tokens") or {}).get("bot"):
            self._deactivate(body, context, "tokens_revoked")

    def on_other_event(self, event: dict) -> None:
        """Any other event Slack sends us: acknowledged (200), nothing to do."""
        logger.debug("ignoring %s event", event.get("type"))

    def _deactivate(self, body: dict, context: BoltContext, reason: str) -> None:
        """Deactivate the workspace's subscriptions. Not deduplicated on purpose: the update is
        idempotent, and claiming the event first would drop Slack's retry when it fails."""
        team = context.team_id or body.get("team_id") or ""
        try:
            count = self.store.deactivate_team(team, reason)
            logger.info("%s in workspace %s: %d tip subscription(s) deactivated", reason, team, count)
        except Exception:
            logger.exception("could not deactivate workspace %s after %s", team, reason)
