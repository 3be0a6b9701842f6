"""The App Home tab: published each time someone opens it, with the workspace's tip channels
(and, for its admins and owners, this week's figures: ``bot.slack.admin_home``)."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext
from slack_sdk import WebClient

from ....storage import Store
from ...admin_home import admin_section, with_admin_section
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
            view = self.cards.home(subscriptions)
            admin = admin_section(self.store, client, event["user"], context.team_id)
            if admin:
                view = with_admin_section(view, admin)
            client.views_publish(user_id=event["user"], view=view)
        except Exception:
            logger.exception("could not publish the Home tab for %s", event["user"])
