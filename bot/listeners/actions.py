"""Buttons on a reply: paging, the paid toggle, Refresh, Details, MyRopo, "Look up another".

A reply is an ephemeral message or a modal; a click answers where it came from: the
message is replaced through ``response_url``, the modal through ``views.update``. Paging
and the paid toggle may be answered from the agent's recent result (the paging cache);
Refresh always asks Ropo One. Details opens a modal of its own over the reply.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import render_expired_context, render_expired_view, render_lookup_form
from bot.lookup import Surface
from bot.services import Services
from bot.slack.context import ContextError
from bot.slack.delivery import (
    look_up_and_respond,
    look_up_and_update_view,
    modal_view_id,
    open_view_or_explain,
    requester,
    send_private,
    show_details,
    update_view,
)


def register(app: AsyncApp, services: Services) -> None:
    """Listen for the reply's buttons, and the Home tab's "Look up invoices"."""

    @app.action(ids.ACTION_OPEN_MYROPO)
    async def open_myropo(ack: AsyncAck) -> None:
        """A link button opens in the browser; Slack still wants the click acknowledged."""
        await ack()

    async def repeat_lookup(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond | None,
    ) -> None:
        """Ack; then open the button's sealed context, look up again and replace the reply."""
        await ack()
        value = action.get("value", "")
        cached = action.get("action_id") != ids.ACTION_REFRESH
        work = _repeat_lookup(services, value, body, client, respond, cached=cached)
        services.after_ack(work, "button")

    for action_id in (
        ids.ACTION_PAGE_PREVIOUS,
        ids.ACTION_PAGE_NEXT,
        ids.ACTION_TOGGLE_PAID,
        ids.ACTION_REFRESH,
    ):
        app.action(action_id)(repeat_lookup)

    @app.action(ids.ACTION_SHOW_DETAILS)
    async def details(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond | None,
    ) -> None:
        """Ack; then open the invoice's details modal (its trigger_id expires in 3 seconds)."""
        await ack()
        value = action.get("value", "")
        services.after_ack(_show_details(services, value, body, client, respond), "details")

    async def show_lookup_form(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond | None
    ) -> None:
        """Ack; then bring up the lookup form: in place in a modal, else in a new one."""
        await ack()
        form = render_lookup_form(services.environment, country=services.settings.country)
        view_id = modal_view_id(body)
        if view_id is not None:
            services.after_ack(update_view(client, view_id, form), "lookup form")
        else:
            trigger_id = body.get("trigger_id", "")
            opening = open_view_or_explain(services, client, trigger_id, form, respond)
            services.after_ack(opening, "lookup form")

    for action_id in (ids.ACTION_LOOKUP_ANOTHER, ids.ACTION_OPEN_LOOKUP_FORM):
        app.action(action_id)(show_lookup_form)


async def _repeat_lookup(
    services: Services,
    value: str,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond | None,
    *,
    cached: bool,
) -> None:
    view_id = modal_view_id(body)
    try:
        context = services.sealer.open(value)
    except ContextError:
        if view_id is not None:
            await update_view(client, view_id, render_expired_view(services.environment))
        elif respond is not None:
            await send_private(respond, render_expired_context(services.environment), True)
        return
    who = requester(body, Surface.BUTTON)
    if view_id is not None:
        await look_up_and_update_view(
            services, client, context.query, who, view_id, page=context.page, cached=cached
        )
    elif respond is not None:
        await look_up_and_respond(
            services,
            context.query,
            who,
            respond,
            page=context.page,
            replace_original=True,
            cached=cached,
        )


async def _show_details(
    services: Services,
    value: str,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond | None,
) -> None:
    try:
        context = services.sealer.open(value)
    except ContextError:
        expired = render_expired_view(services.environment)
        view_id = modal_view_id(body)
        if view_id is not None:
            await update_view(client, view_id, expired)
        elif respond is not None:
            await send_private(respond, render_expired_context(services.environment))
        return
    await show_details(services, client, context, requester(body, Surface.DETAILS), body, respond)
