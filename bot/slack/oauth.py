"""OAuth mode: "Add to Slack" for any workspace, each answered with its own bot token.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` (and no ``SLACK_BOT_TOKEN``) the Bolt app
gets Bolt's OAuth flow (``OAuthSettings``): ``GET /slack/install`` sends the installer to
Slack's authorize page with the app's client id, the bot scopes from ``manifest.yml`` and a
one-time state; ``GET /slack/oauth_redirect`` exchanges the code (``oauth.v2.access``) and
stores the installation. Installations and states live in slack_sdk's SQLAlchemy stores on the
bot's own database (``bot.storage.installations``).

Every request from Slack is authorized from the installation store, and Bolt refreshes a
rotating token then. Work done outside a request (tips, queued answers) asks
``InstallationClients.for_team`` instead, which refreshes a token itself when it is within
``REFRESH_MINUTES`` of expiring, saves the new one, and caches each team's client until then.

A refresh that fails is never acknowledged as success. Bolt's authorizer logs a failed
rotation and returns None, and Bolt then answers Slack 200 with nothing done: the event would
be lost. ``RefreshingAuthorize`` raises instead, and ``refuse_unauthorized`` (the app's error
handler) answers: a transient failure (Slack unreachable, a 5xx, a rate limit) with 503, so
Slack sends the event again (over HTTP: retries after about a minute and five; in Socket Mode
the envelope is left unacknowledged), and a revoked workspace (``invalid_refresh_token``,
``token_revoked``...) with a quiet 200 and one log line.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine

from ..config import REPO_ROOT, ConfigError, Settings
from ..storage.installations import InstallationStore, StateStore
from .client import NotInstalled, make_client

logger = logging.getLogger(__name__)

MANIFEST = REPO_ROOT / "manifest.yml"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Refresh a rotating token this long before it expires (Bolt's default for requests, too).
REFRESH_MINUTES = 120


# Errors of a refresh that mean the workspace took the app's tokens back: nothing to retry.
REVOKED_ERRORS = frozenset(
    {"invalid_refresh_token", "token_revoked", "invalid_auth", "account_inactive", "app_uninstalled"}
)


class TokenUnavailable(Exception):
    """A workspace's token could not be refreshed for a reason that can pass: try again later."""


class WorkspaceRevoked(Exception):
    """A workspace's tokens were revoked (its refresh was refused): its events are dropped."""


def refresh_failure(exc: BaseException, team: str | None) -> Exception:
    """What a failed refresh means: ``WorkspaceRevoked`` or ``TokenUnavailable``."""
    api_error = exc.api_error if isinstance(exc, SlackTokenRotationError) else exc
    error = api_error.response.get("error") if isinstance(api_error, SlackApiError) else None
    if error in REVOKED_ERRORS:
        return WorkspaceRevoked(f"workspace {team}: token refresh refused ({error})")
    return TokenUnavailable(f"workspace {team}: token refresh failed ({error or type(api_error).__name__})")


class RefreshingAuthorize(InstallationStoreAuthorize):
    """Bolt's authorizer, raising ``TokenUnavailable`` or ``WorkspaceRevoked`` when a token
    refresh fails, where Bolt's would return None (and Bolt answer Slack 200)."""

    def _rotate_and_save_tokens_if_necessary(self, installation):
        try:
            return super()._rotate_and_save_tokens_if_necessary(installation)
        except (SlackApiError, SlackTokenRotationError, OSError) as exc:
            raise refresh_failure(exc, getattr(installation, "team_id", None)) from exc


def refuse_unauthorized(error: Exception, logger: logging.Logger) -> BoltResponse | None:
    """The app's error handler: a failed refresh is answered so that Slack's retry can work
    (503) or quietly dropped (revoked: 200, one line); anything else is logged as Bolt does."""
    if isinstance(error, TokenUnavailable):
        logging.getLogger(__name__).warning("%s: answered 503 so that Slack sends the event again", error)
        return BoltResponse(status=503, body="token refresh failed; try again")
    if isinstance(error, WorkspaceRevoked):
        logging.getLogger(__name__).warning("%s: event dropped", error)
        return BoltResponse(status=200, body="")
    logger.exception("Failed to handle a request (error: %s)", error)
    return None


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    """The bot scopes the app asks for: ``oauth_config.scopes.bot`` of the manifest."""
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
        scopes = manifest["oauth_config"]["scopes"]["bot"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the bot scopes from {path}: {exc}") from None
    if not scopes or not all(isinstance(s, str) for s in scopes):
        raise ConfigError(f"{path}: oauth_config.scopes.bot must be a list of scopes")
    return list(scopes)


@dataclass(frozen=True)
class OAuthParts:
    """What an OAuth-mode app is built from."""

    settings: OAuthSettings
    authorize: RefreshingAuthorize
    installations: InstallationStore


def oauth_parts(settings: Settings, engine: Engine) -> OAuthParts:
    """Bolt's OAuth settings and authorizer over the installation and state stores on ``engine``.

    The authorizer is built here (not left to ``OAuthSettings``) so that its token refreshes
    go through our client: ``SLACK_API_URL``, bounded retries.
    """
    settings.require("slack_client_id", "slack_client_secret")
    installations = InstallationStore(settings.slack_client_id or "", engine)
    authorize = RefreshingAuthorize(
        logger=logging.getLogger("slack_bolt.authorize"),
        installation_store=installations,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        token_rotation_expiration_minutes=REFRESH_MINUTES,
        client=make_client(settings),
    )
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=manifest_scopes(),
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        # Straight to Slack's consent page: no intermediate "Add to Slack" page of our own.
        install_page_rendering_enabled=False,
        installation_store=installations,
        state_store=StateStore(engine),
        token_rotation_expiration_minutes=REFRESH_MINUTES,
    )
    return OAuthParts(settings=oauth, authorize=authorize, installations=installations)


@dataclass
class _Cached:
    client: WebClient
    expires_at: int | None  # Unix time; None: the token does not expire


class InstallationClients:
    """``WorkspaceClients`` in OAuth mode: each team's client from its installation, its token
    refreshed (and saved) when near expiry, cached per team until then. Thread-safe."""

    def __init__(self, settings: Settings, installations: InstallationStore):
        self.settings = settings
        self.installations = installations
        self._rotator = TokenRotator(
            client_id=settings.slack_client_id or "",
            client_secret=settings.slack_client_secret or "",
            client=make_client(settings),
        )
        self._cache: dict[tuple[str | None, str | None], _Cached] = {}
        self._lock = threading.Lock()

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> WebClient:
        key = (enterprise_id, team_id)
        # One lock for lookups and refreshes: a refresh token is spent once, so two threads
        # must not refresh the same team's token at the same time.
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not _expiring(cached.expires_at):
                return cached.client
            try:
                token, expires_at = self._token(team_id, enterprise_id)
            except (SlackApiError, SlackTokenRotationError, OSError) as exc:
                failure = refresh_failure(exc, team_id or enterprise_id)
                if isinstance(failure, WorkspaceRevoked):  # its queued work is dropped, not retried
                    raise NotInstalled(team_id, enterprise_id) from exc
                raise failure from exc
            client = make_client(self.settings, token=token)
            self._cache[key] = _Cached(client, expires_at)
            return client

    def _token(self, team_id: str | None, enterprise_id: str | None) -> tuple[str, int | None]:
        """The team's bot token and its expiry, refreshed first when it is near."""
        bot = self._find_bot(team_id, enterprise_id)
        if bot is None or not bot.bot_token:  # the bots table says who is installed
            raise NotInstalled(team_id, enterprise_id)
        # Refresh through the installation, as Bolt does inside requests, so that the
        # installation row and the bot row keep the same (unspent) refresh token.
        installation = self.installations.find_installation(
            enterprise_id=bot.enterprise_id, team_id=bot.team_id
        )
        if installation is not None and installation.bot_token:
            refreshed = self._rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=REFRESH_MINUTES
            )
            if refreshed is not None:
                self.installations.save(refreshed)
                logger.info("refreshed the bot token of workspace %s", team_id or enterprise_id)
                installation = refreshed
            return installation.bot_token, installation.bot_token_expires_at
        refreshed_bot = self._rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=REFRESH_MINUTES
        )
        if refreshed_bot is not None:
            self.installations.save_bot(refreshed_bot)
            logger.info("refreshed the bot token of workspace %s", team_id or enterprise_id)
            bot = refreshed_bot
        return bot.bot_token, bot.bot_token_expires_at

    def forget(self, team_id: str | None, enterprise_id: str | None = None) -> None:
        """Drop a team's cached client (the app was uninstalled there, or its token revoked)."""
        with self._lock:
            for key in [
                k for k in self._cache if k[1] == team_id and (enterprise_id is None or k[0] == enterprise_id)
            ]:
                del self._cache[key]

    def _find_bot(self, team_id: str | None, enterprise_id: str | None) -> Bot | None:
        bot = self.installations.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None and enterprise_id is None and team_id:
            # A workspace of an Enterprise Grid org: installed with its enterprise id, which a
            # subscription (keyed by team) does not carry.
            enterprise = self.installations.enterprise_of(team_id)
            if enterprise is not None:
                bot = self.installations.find_bot(enterprise_id=enterprise, team_id=team_id)
        return bot


def now() -> float:
    """The clock a token's expiry is judged by (slack_sdk's rotator reads ``time.time`` as
    well); a test moves both to live through a long refresh outage in no time."""
    return time.time()


def _expiring(expires_at: int | None) -> bool:
    return expires_at is not None and expires_at <= now() + REFRESH_MINUTES * 60
