"""The App Home tab, published each time an agent opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import render_home
from bot.services import Services
from bot.slack.delivery import publish_home

HOME_TAB = "home"


def register(app: AsyncApp, services: Services) -> None:
    """Listen for ``app_home_opened``."""

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


async def _publish(
    services: Services, client: AsyncWebClient, team_id: str | None, user_id: str
) -> None:
    decision = await services.access.decide_user(team_id, user_id)
    home = render_home(
        services.environment,
        allowed=decision.allowed,
        access_message=decision.message or None,
        country=services.settings.country,
    )
    await publish_home(client, user_id, home)
