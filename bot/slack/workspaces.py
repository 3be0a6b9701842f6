"""The process's ``WorkspaceClients``, built for its mode: one bot token, or OAuth installs.

Apart from ``client`` (which ``oauth`` builds on) so that neither imports the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from ..config import Settings
from .client import SingleWorkspace, WorkspaceClients, make_client

if TYPE_CHECKING:
    from sqlalchemy import Engine


def workspace_clients(
    settings: Settings, engine: Engine, *, client: WebClient | None = None
) -> WorkspaceClients:
    """The process's ``WorkspaceClients``: the installations on ``engine``'s database (OAuth
    mode, ``bot.slack.oauth``) or the one bot token (``client``, default ``make_client``)."""
    if settings.oauth:
        from ..storage.installations import InstallationStore  # slack_sdk's stores: OAuth only
        from .oauth import InstallationClients

        return InstallationClients(settings, InstallationStore(settings.slack_client_id or "", engine))
    return SingleWorkspace(client or make_client(settings))
