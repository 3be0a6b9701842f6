"""Daily tips on Slack: the tip card, and the poster the tip scheduler is handed.

``SlackTipPoster`` builds each tip with the card builder, sends it through
``messaging.post`` (the one place that posts) and turns Slack's answer into the scheduler's
outcomes (``bot.tips.poster``): pause the channel, deactivate the workspace, retry later, or
"may have been posted".
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError

from ..tips.catalog import Tip
from ..tips.poster import ChannelUnavailable, PostFailed, PostUnconfirmed, WorkspaceRevoked
from . import blocks
from .client import NotInstalled, SingleWorkspace, WorkspaceClients, never_sent
from .messaging import NOT_IN_CHANNEL, post, slack_error

# The channel is gone or closed to the bot: pause it with the reason, keep serving the others.
PAUSE_ERRORS = NOT_IN_CHANNEL | {"is_archived"}
# The workspace took the bot's token away: deactivate all of that workspace's subscriptions.
REVOKED_ERRORS = frozenset({"token_revoked", "invalid_auth", "account_inactive"})


# The last line of every tip posted in a channel: how to change or stop them.
TIP_FOOTER = f"Daily tip · stop: `{blocks.COMMAND} tips off` · move: `{blocks.COMMAND} tips on 10am`"
# The last line of a tip sent to one person with ``/advisor tip``.
ONE_TIP_FOOTER = f"Only you can see this · get one every day in a channel with `{blocks.COMMAND} tips on`"


def tip_card(tip: Tip, *, heading: str = "Tip of the day", footer: str | None = TIP_FOOTER) -> dict:
    """``{"text": fallback, "blocks": [...]}`` for a tip, posted or sent ephemerally; it ends
    with ``footer``."""
    quote = blocks.Quote(
        text=tip.quote,
        section=tip.section_heading,
        owner=None,
        passage_id="",
        source_title=tip.document_title,
        source_url=tip.source_url,
    )
    return blocks.tip_card(tip.title, quote, heading=heading, footer=footer)


class SlackTipPoster:
    """Posts tips with each subscription's workspace's client; a ``bot.tips.poster.Poster``.

    Given one WebClient (the bot token's), it posts everything with it. Given
    ``WorkspaceClients`` (OAuth mode), it asks for the team's client before each post, which
    refreshes a rotating token that is near expiry (Bolt only does that inside a request).
    """

    def __init__(self, clients: WorkspaceClients | WebClient):
        self.clients = SingleWorkspace(clients) if isinstance(clients, WebClient) else clients

    def __call__(self, channel: str, tip: Tip, *, team: str | None = None) -> str | None:
        try:
            client = self.clients.for_team(team)
        except NotInstalled:
            raise WorkspaceRevoked("not_installed") from None
        except SlackTokenRotationError as exc:
            # Slack refused the refresh token (revoked, already spent...): nothing was posted.
            raise PostFailed(f"token_refresh:{slack_error(exc.api_error) or 'failed'}") from None
        try:
            response = post(client, channel, tip_card(tip))
        except SlackApiError as exc:
            error = slack_error(exc) or f"http_{exc.response.status_code}"
            if error in PAUSE_ERRORS:
                raise ChannelUnavailable(error) from None
            if error in REVOKED_ERRORS:
                raise WorkspaceRevoked(error) from None
            raise PostFailed(error) from None
        except Exception as exc:
            if never_sent(exc):  # connection refused, no DNS answer: nothing reached Slack
                raise PostFailed(type(exc).__name__) from exc
            # A timeout, or the connection lost after the request went out: Slack may have it.
            raise PostUnconfirmed("timeout" if isinstance(exc, TimeoutError) else type(exc).__name__) from exc
        return response.get("ts")
