"""The last line of defence: an error no listener handled still gets the agent an answer."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.blocks import render_unexpected_error
from bot.lookup import new_reference
from bot.services import Services
from bot.slack.delivery import send_private

logger = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    """Install the app-wide error handler."""

    @app.error
    async def unexpected_error(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Log with a reference id and tell the agent, privately, what to do."""
        reference = new_reference()
        logger.error(
            "unexpected error %s handling a %s request",
            reference,
            body.get("type") or body.get("command") or "Slack",
            exc_info=error,
        )
        if context.respond is not None:
            apology = render_unexpected_error(reference, services.environment)
            delivering = send_private(context.respond, apology, reference=reference)
            services.after_ack(delivering, "apology")
