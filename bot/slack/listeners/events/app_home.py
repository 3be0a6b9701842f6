"""The App Home tab: published each time someone opens it, with the workspace's tip channels."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext
from slack_sdk import WebClient

from ....storage import Store
from ...cards import Cards

logger = logging.getLogger(__name__)


class AppHome:
    def __init__(self, cards: Cards, store: Store):
        self.cards = cards
        self.store = store

    def on_home_opened(self, event: dict, context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            logger.debug("ignoring app_home_opened for the %s tab of %s", event.get("tab"), event.get("user"))
            return
        try:
            subscriptions = self.store.list_subscriptions(context.team_id)
        except Exception:
            logger.exception("could not list tip subscriptions for the Home tab")
            subscriptions = None  # the tab says it couldn't load them, not that there are none
        try:
            client.views_publish(user_id=event["user"], view=self.cards.home(subscriptions))
        except Exception:
            logger.exception("could not publish the Home tab for %s", event["user"])
