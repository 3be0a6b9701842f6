"""``app_home_opened``: the Home tab is published each time someone opens it (with the
workspace's tip channels and, for its admins and owners, this week's figures:
``bot.slack.admin_home``); opening the Messages tab sets the suggested prompts of the agent
surface and welcomes a user whose conversation with the bot is still empty."""

from __future__ import annotations

import logging
from typing import Protocol

from slack_bolt import BoltContext
from slack_sdk import WebClient

from ....report import ReportStore
from ....tips.records import SubscriptionRecord
from ... import blocks
from ...admin_home import admin_section
from ...cards import Cards
from ...messaging import post
from ...queue import Handler

logger = logging.getLogger(__name__)

PROMPTS_TITLE = "Try asking"
HOME_JOB = "app_home"


class HomeStore(ReportStore, Protocol):
    """What the Home tab reads (the workspace's tip channels, the admin's figures) and the
    welcome's claim (``bot.storage.Store`` is one)."""

    def list_subscriptions(self, team: str | None = None) -> list[SubscriptionRecord]: ...

    def claim_event(self, key: str) -> bool: ...


class AppHome:
    def __init__(self, cards: Cards, store: HomeStore):
        self.cards = cards
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        """Publishing Home, the prompts and the welcome are Slack calls: queued (the event whole,
        ``JobQueue.listener``), so the ack never waits; nothing to read back."""
        return {
            HOME_JOB: Handler(
                run=lambda w: self.on_home_opened(event=w.event, context=w.context, client=w.client),
                verifiable=False,
            )
        }

    def on_home_opened(self, event: dict, context: BoltContext, client: WebClient) -> None:
        if not event.get("user"):
            logger.debug("ignoring app_home_opened without a user")
            return
        tab = event.get("tab", "home")
        if tab == "messages":
            self._messages_tab(event, context, client)
        elif tab == "home":
            self._home_tab(event, context, client)
        else:
            logger.debug("ignoring app_home_opened for the %s tab of %s", tab, event["user"])

    def _home_tab(self, event: dict, context: BoltContext, client: WebClient) -> None:
        try:
            subscriptions = self.store.list_subscriptions(context.team_id)
        except Exception:
            logger.exception("could not list tip subscriptions for the Home tab")
            subscriptions = None  # the tab says it couldn't load them, not that there are none
        try:
            admin = admin_section(self.store, client, event["user"], context.team_id)
            view = self.cards.home(subscriptions, admin_blocks=admin)
            client.views_publish(user_id=event["user"], view=view)
        except Exception:
            logger.exception("could not publish the Home tab for %s", event["user"])

    def _messages_tab(self, event: dict, context: BoltContext, client: WebClient) -> None:
        channel, user = event.get("channel"), event["user"]
        if not channel:
            logger.debug("ignoring app_home_opened (messages) without a channel for %s", user)
            return
        examples = self.cards.examples()
        try:
            # No thread_ts: in the agent messaging experience the prompts belong to the
            # conversation (a thread_ts there makes Slack drop the call silently).
            client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, title=PROMPTS_TITLE, prompts=blocks.suggested_prompts(examples)
            )
        except Exception:
            logger.exception("could not set the suggested prompts for %s", user)
        try:
            # A first-time user has an empty conversation with the bot; the claim keeps two
            # tabs opened at once from welcoming twice.
            empty = not client.conversations_history(channel=channel, limit=1).get("messages")
            first_time = empty and self.store.claim_event(f"welcome:{context.team_id or ''}:{user}")
        except Exception:
            logger.exception("could not tell whether %s was welcomed already", user)
            return
        if first_time:
            try:
                post(client, channel, blocks.welcome_message(examples))
            except Exception:
                logger.exception("could not welcome %s", user)
