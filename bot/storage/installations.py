"""Workspaces that installed the app (OAuth mode): slack_sdk's SQLAlchemy stores on our engine.

The tables are slack_sdk's (``slack_installations``, ``slack_bots``, ``slack_oauth_states``),
defined in ``bot.storage.models`` with one change: every time column is
``DateTime(timezone=True)`` (``timestamptz`` on PostgreSQL), so a token's expiry means one
instant on any host (slack_sdk issue #1731: a naive expiry read on a non-UTC host made
refreshes come hours early or late). Our Alembic migrations create them
(``0005_installs_and_question_log``), never ``create_tables()``; a test checks them against
the installed slack_sdk's definitions, so an upgrade that adds a column fails the tests
instead of the first install. Imported only in OAuth mode (slack_sdk's stores pull
in SQLAlchemy's asyncio support).

slack_sdk writes UTC as naive datetimes; the engine pins PostgreSQL sessions to UTC
(``bot.storage.engine``), so they land in ``timestamptz`` as the instant they mean.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData, Table, select

from . import models

INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
STATES_TABLE = "slack_oauth_states"
# How long an install link's state is valid (slack_sdk's default: 10 minutes).
STATE_EXPIRATION_SECONDS = 600


def _copy(name: str, metadata: MetaData, table_name: str) -> Table:
    """Our definition of slack_sdk's table ``name`` (``bot.storage.models``), in ``metadata``."""
    return models.Base.metadata.tables[name].to_metadata(metadata, name=table_name)


class InstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's installation store, its time columns timezone-aware."""

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _copy(INSTALLATIONS_TABLE, metadata, table_name)

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _copy(BOTS_TABLE, metadata, table_name)

    def __init__(self, client_id: str, engine: Engine):
        super().__init__(
            client_id=client_id,
            engine=engine,
            bots_table_name=BOTS_TABLE,
            installations_table_name=INSTALLATIONS_TABLE,
        )

    def enterprise_of(self, team_id: str) -> str | None:
        """The enterprise id a workspace's bot was installed with (Enterprise Grid), or None."""
        b = self.bots.c
        query = (
            select(b.enterprise_id)
            .where(b.client_id == self.client_id, b.team_id == team_id, b.enterprise_id.is_not(None))
            .limit(1)
        )
        with self.engine.begin() as conn:
            return conn.execute(query).scalar()


class StateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store (the install link's one-time ``state``), time-zone aware."""

    @classmethod
    def build_oauth_states_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _copy(STATES_TABLE, metadata, table_name)

    def __init__(self, engine: Engine, expiration_seconds: int = STATE_EXPIRATION_SECONDS):
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, table_name=STATES_TABLE)
