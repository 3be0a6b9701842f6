"""The app leaving a workspace (uninstalled, bot token revoked), and events we only acknowledge.

Either event deactivates the workspace's tip subscriptions and deletes its saved answers and
experts channel. In OAuth mode it also deletes every
token the installation store holds for the workspace (its installations and its bot), so Bolt
finds no token for its next request, tips are no longer posted, and no revoked token is kept.
"""

from __future__ import annotations

import logging
from typing import Protocol

from slack_bolt import BoltContext
from slack_sdk.oauth.installation_store import InstallationStore

from ...client import WorkspaceClients

logger = logging.getLogger(__name__)


class TeamStore(Protocol):
    """What leaving a workspace changes in the store (``bot.storage.Store`` is one)."""

    def deactivate_team(self, team: str, reason: str) -> int: ...

    def forget_experts(self, team: str) -> int: ...


class Workspace:
    def __init__(
        self,
        store: TeamStore,
        *,
        installations: InstallationStore | None = None,
        clients: WorkspaceClients | None = None,
    ):
        self.store = store
        self.installations = installations
        self.clients = clients

    def on_app_uninstalled(self, body: dict, context: BoltContext) -> None:
        self._leave(body, context, "app_uninstalled")

    def on_tokens_revoked(self, body: dict, event: dict, context: BoltContext) -> None:
        # Every token of the workspace goes: the installation rows hold the revoked bot token
        # and its refresh token too, not only the bots table (issue 28).
        if (event.get("tokens") or {}).get("bot"):
            self._leave(body, context, "tokens_revoked")

    def on_other_event(self, event: dict) -> None:
        """Any other event Slack sends us: acknowledged (200), nothing to do."""
        logger.debug("ignoring %s event", event.get("type"))

    def _leave(self, body: dict, context: BoltContext, reason: str) -> None:
        """Forget the installation, then deactivate the subscriptions. Not deduplicated on
        purpose: both steps are idempotent, and claiming the event first would drop Slack's
        retry when one fails."""
        team = context.team_id or body.get("team_id") or ""
        enterprise = context.enterprise_id or body.get("enterprise_id")
        try:
            if self.installations is not None:
                # An org-wide install is keyed by the enterprise alone (team None).
                team_key = None if context.is_enterprise_install else team
                self.installations.delete_all(enterprise_id=enterprise, team_id=team_key)
                logger.info("%s in workspace %s: installation deleted", reason, team)
            forget = getattr(self.clients, "forget", None)
            if forget is not None:
                forget(team, enterprise)
            count = self.store.deactivate_team(team, reason)
            logger.info("%s in workspace %s: %d tip subscription(s) deactivated", reason, team, count)
            saved = self.store.forget_experts(team)  # its saved answers go with its tokens
            logger.info("%s in workspace %s: %d saved answer(s) deleted", reason, team, saved)
        except Exception:
            logger.exception("could not deactivate workspace %s after %s", team, reason)
