"""The ``/invoices`` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import ids
from bot.blocks import render_help, render_refusal
from bot.lookup import Surface
from bot.query import HelpRequest, Refusal, parse_command
from bot.services import Services
from bot.slack.delivery import look_up_and_respond, requester


def register(app: AsyncApp, services: Services) -> None:
    """Listen for ``/invoices``."""

    @app.command(ids.COMMAND)
    async def invoices_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond):
        """Ack at once; answer help and refusals in the ack, look up everything else."""
        parsed = parse_command(command.get("text", ""), services.settings.country)
        if isinstance(parsed, HelpRequest):
            await ack(**render_help(services.environment, services.settings.country))
            return
        if isinstance(parsed, Refusal):
            await ack(**render_refusal(parsed, services.environment, services.settings.country))
            return
        await ack()
        who = requester(command, Surface.COMMAND)
        services.after_ack(look_up_and_respond(services, parsed, who, respond), "lookup")
