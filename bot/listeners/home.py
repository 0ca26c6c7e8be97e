"""The App Home tab, published each time an agent opens it, and the agent's language choice."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import render_home
from bot.i18n import language_of, territory_of, use_language
from bot.services import Services
from bot.slack.delivery import publish_home
from bot.slack.language import LANGUAGE_KEY, agent_of

logger = logging.getLogger(__name__)

HOME_TAB = "home"


def register(app: AsyncApp, services: Services) -> None:
    """Listen for ``app_home_opened`` and for the Home tab's language select."""

    @app.event("app_home_opened")
    async def home_opened(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Publish the Home tab for the agent who opened it (events are acked by Bolt).

        An agent who may not look up sees why and how to get access instead of the
        instructions, so they learn it before they try.
        """
        if event.get("tab") != HOME_TAB or not event.get("user"):
            return
        publishing = _publish(services, client, body.get("team_id"), event["user"])
        services.after_ack(publishing, "home tab")

    @app.action(ids.ACTION_CHOOSE_LANGUAGE)
    async def choose_language(
        ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        """Ack; remember the agent's language, then show the Home tab in it."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        language = language_of((action.get("selected_option") or {}).get("value"))
        agent = agent_of(context)
        if language is None or agent is None:  # not a value this app offered
            logger.warning("a language choice without a language or an agent was ignored")
            return
        services.after_ack(_choose(services, client, agent, language), "language choice")


async def _choose(
    services: Services, client: AsyncWebClient, agent: tuple[str, str], language: str
) -> None:
    saved = services.agent_settings is not None
    try:
        if services.agent_settings is not None:
            await services.agent_settings.set(*agent, LANGUAGE_KEY, language)
    except sqlite3.Error:
        logger.exception("the language choice of %s could not be stored", agent[1])
        saved = False
    with use_language(language, territory_of(services.settings.locale)):
        await _publish(services, client, agent[0], agent[1], language_not_saved=not saved)


async def _publish(
    services: Services,
    client: AsyncWebClient,
    team_id: str | None,
    user_id: str,
    *,
    language_not_saved: bool = False,
) -> None:
    decision = await services.access.decide_user(team_id, user_id)
    home = render_home(
        services.environment,
        allowed=decision.allowed,
        access_message=decision.message or None,
        country=services.settings.country,
        language_not_saved=language_not_saved,
    )
    await publish_home(client, user_id, home)
