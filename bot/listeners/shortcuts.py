"""The shortcuts: "Find invoices" on a customer's message, and "Look up invoices" anywhere.

Both answer in a modal only the agent sees; nothing is ever posted to the channel. A
trigger_id expires 3 seconds after the click and works once, so each listener acks and
opens its modal before anything slow (Ropo One) happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import (
    NOTHING_FOUND_NOTICE,
    render_choose_identifier,
    render_expired_view,
    render_loading_view,
    render_lookup_form,
)
from bot.lookup import Surface
from bot.query import Identifier, Query, find_identifiers
from bot.services import Services
from bot.slack.context import ContextError, LookupContext
from bot.slack.delivery import (
    look_up_and_respond,
    look_up_and_update_view,
    modal_view_id,
    open_view,
    open_view_or_explain,
    requester,
    update_view,
)
from bot.slack.text import message_text


def register(app: AsyncApp, services: Services) -> None:
    """Listen for both shortcuts and the message shortcut's "Look up" choice."""

    @app.message_shortcut(ids.SHORTCUT_FIND_IN_MESSAGE)
    async def find_in_message(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Ack; then look up the one identifier in the message, or ask which, or ask for one."""
        await ack()
        services.after_ack(_find_in_message(services, shortcut, client, respond), "shortcut")

    @app.action(ids.ACTION_CHOOSE_IDENTIFIER)
    async def choose_identifier(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Ack; then show "Looking up…" in the chooser's modal, then the customer's invoices."""
        await ack()
        view_id = modal_view_id(body)
        if view_id is None:
            return  # the chooser only ever lives in a modal
        value = action.get("value", "")
        services.after_ack(_look_up_chosen(services, value, body, client, view_id), "choice")

    @app.global_shortcut(ids.SHORTCUT_LOOK_UP)
    async def look_up(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        """Ack; then open the lookup form."""
        await ack()
        form = render_lookup_form(services.environment, country=services.settings.country)
        # No response_url comes with a global shortcut: a refusal can only be logged.
        services.after_ack(open_view(client, shortcut.get("trigger_id", ""), form), "lookup form")


async def _find_in_message(
    services: Services, shortcut: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
) -> None:
    found = find_identifiers(message_text(shortcut.get("message") or {}), services.settings.country)
    trigger_id = shortcut.get("trigger_id", "")
    if not found:
        form = render_lookup_form(
            services.environment, notice=NOTHING_FOUND_NOTICE, country=services.settings.country
        )
        await open_view_or_explain(services, client, trigger_id, form, respond)
        return
    if len(found) > 1:
        chooser = render_choose_identifier(
            found, button_value=_sealed(services), environment=services.environment
        )
        await open_view_or_explain(services, client, trigger_id, chooser, respond)
        return
    query = Query(found[0])
    who = requester(shortcut, Surface.MESSAGE_SHORTCUT)
    loading = render_loading_view(query.identifier, services.environment)
    view_id = await open_view(client, trigger_id, loading)
    if view_id is None:  # no modal: the answer still reaches only the agent, ephemerally
        await look_up_and_respond(services, query, who, respond)
        return
    await look_up_and_update_view(services, client, query, who, view_id)


async def _look_up_chosen(
    services: Services, value: str, body: dict[str, Any], client: AsyncWebClient, view_id: str
) -> None:
    try:
        context = services.sealer.open(value)
    except ContextError:
        await update_view(client, view_id, render_expired_view(services.environment))
        return
    loading = render_loading_view(context.query.identifier, services.environment)
    await update_view(client, view_id, loading)
    who = requester(body, Surface.MESSAGE_SHORTCUT)
    await look_up_and_update_view(services, client, context.query, who, view_id)


def _sealed(services: Services) -> Callable[[Identifier], str]:
    """What a chooser button carries: the identifier's lookup, sealed."""

    def button_value(identifier: Identifier) -> str:
        return services.sealer.seal(LookupContext(Query(identifier)))

    return button_value
