"""The lookup form's submission: refuse inline, or show "Looking up…" and then the invoices."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import read_lookup_form, render_loading_view
from bot.lookup import Surface
from bot.query import Query, Refusal, parse_identifier
from bot.services import Services
from bot.slack.delivery import look_up_and_update_view, requester


def register(app: AsyncApp, services: Services) -> None:
    """Listen for the lookup form's submit."""

    @app.view(ids.VIEW_LOOKUP)
    async def submit_lookup(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Ack at once: the refusal on the field, or "Looking up…"; then show the invoices."""
        text, include_paid = read_lookup_form(view.get("state", {}).get("values", {}))
        identifier = parse_identifier(text, services.settings.country)
        if isinstance(identifier, Refusal):
            await ack(
                response_action="errors", errors={ids.BLOCK_LOOKUP_IDENTIFIER: identifier.message}
            )
            return
        await ack(
            response_action="update", view=render_loading_view(identifier, services.environment)
        )
        query = Query(identifier, include_paid=include_paid)
        who = requester(body, Surface.MODAL)
        services.after_ack(
            look_up_and_update_view(services, client, query, who, view["id"]), "lookup"
        )
