"""Run a lookup and deliver its reply: the step every surface ends with."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks import render_failure, render_invoice_list
from bot.context import LookupContext
from bot.lookup import LookupFailure, LookupResult, Requester, Surface
from bot.query import Query
from bot.services import Services

logger = logging.getLogger(__name__)


def render_outcome(
    outcome: LookupResult | LookupFailure, services: Services, *, page: int = 0
) -> dict[str, Any]:
    """The message for a lookup's outcome; buttons carry sealed context, never the identifier."""
    if isinstance(outcome, LookupFailure):
        return render_failure(outcome)
    identifier = outcome.query.identifier

    def button_value(target_page: int, include_paid: bool) -> str:
        query = Query(identifier, include_paid=include_paid)
        return services.sealer.seal(LookupContext(query, page=target_page))

    return render_invoice_list(
        outcome, page=page, button_value=button_value, locale=services.locale
    )


def requester(body: dict[str, Any], surface: Surface) -> Requester:
    """Who sent a Slack request, from its payload (commands and interactions differ)."""
    user = body.get("user")
    team = body.get("team")
    channel = body.get("channel")
    return Requester(
        team_id=body.get("team_id") or (team.get("id") if isinstance(team, dict) else None),
        user_id=body.get("user_id") or (user.get("id") if isinstance(user, dict) else None),
        channel_id=body.get("channel_id")
        or (channel.get("id") if isinstance(channel, dict) else None),
        surface=surface,
    )


async def look_up_and_respond(
    services: Services,
    query: Query,
    who: Requester,
    respond: AsyncRespond,
    *,
    page: int = 0,
    replace_original: bool = False,
) -> None:
    """Look ``query`` up and post the reply, visible only to the agent, via ``response_url``."""
    outcome = await services.lookup.run(query, who)
    await send_private(respond, render_outcome(outcome, services, page=page), replace_original)


async def send_private(
    respond: AsyncRespond, payload: dict[str, Any], replace_original: bool = False
) -> None:
    """Post an ephemeral reply; if Slack refuses it, log it (the agent cannot be reached)."""
    try:
        response = await respond(
            **payload, response_type="ephemeral", replace_original=replace_original
        )
    except Exception:
        logger.exception("could not deliver a reply to response_url")
        return
    if response.status_code != 200:
        logger.error(
            "response_url refused a reply: HTTP %s %s", response.status_code, response.body[:200]
        )
