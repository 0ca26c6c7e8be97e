"""Buttons on a reply: paging, the paid-invoices toggle, and MyRopo links."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import ids
from bot.blocks import render_expired_context
from bot.context import ContextError
from bot.listeners.replies import look_up_and_respond, requester, send_private
from bot.lookup import Surface
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    """Listen for the reply's buttons."""

    @app.action(ids.ACTION_OPEN_MYROPO)
    async def open_myropo(ack: AsyncAck) -> None:
        """A link button opens in the browser; Slack still wants the click acknowledged."""
        await ack()

    async def repeat_lookup(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """Ack; open the button's sealed context; look up again and replace the reply."""
        await ack()
        try:
            context = services.sealer.open(action.get("value", ""))
        except ContextError:
            await send_private(respond, render_expired_context(services.environment), True)
            return
        await look_up_and_respond(
            services,
            context.query,
            requester(body, Surface.BUTTON),
            respond,
            page=context.page,
            replace_original=True,
        )

    for action_id in (ids.ACTION_PAGE_PREVIOUS, ids.ACTION_PAGE_NEXT, ids.ACTION_TOGGLE_PAID):
        app.action(action_id)(repeat_lookup)
