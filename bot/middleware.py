"""The one gate every Slack request passes before a listener runs: access and the rate limit.

Registered as Bolt global middleware, so a new listener cannot forget it. Every request an
agent makes is gated, a new kind included; only what cannot reach Ropo One passes unchecked:
MyRopo link clicks, a modal being closed, and events, which are not requests to answer (the
Home tab, the one event the app subscribes to, asks the policy itself to decide what to
show). A refused agent gets a private answer on the surface they used, Ropo One is not
asked, and the refusal is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import ids
from bot.blocks import (
    read_lookup_form,
    render_access_refused,
    render_refusal_view,
    render_slow_down,
)
from bot.blocks.common import Payload
from bot.context import ContextError
from bot.lookup import Requester, Surface, new_reference
from bot.query import Query, Refusal, find_identifiers, parse_command, parse_identifier
from bot.services import Services

logger = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
"""The audited reason of a request refused by the per-agent rate limit."""

# Nothing here can reach Ropo One: these pass without a check.
_UNGATED_ACTIONS = frozenset({ids.ACTION_OPEN_MYROPO})
_UNGATED_TYPES = frozenset({"view_closed", "event_callback"})
# Gated, but they only open the lookup form: they don't count towards the rate limit.
_FORM_ACTIONS = frozenset({ids.ACTION_LOOKUP_ANOTHER, ids.ACTION_OPEN_LOOKUP_FORM})
# Buttons whose value is a sealed lookup: a refusal can still audit whom it was for.
_SEALED_ACTIONS = frozenset(
    {
        ids.ACTION_PAGE_PREVIOUS,
        ids.ACTION_PAGE_NEXT,
        ids.ACTION_TOGGLE_PAID,
        ids.ACTION_CHOOSE_IDENTIFIER,
    }
)


@dataclass(frozen=True, slots=True)
class Gate:
    """How a request is checked: the surface it is audited under, and if it is a lookup."""

    surface: Surface
    counts_as_lookup: bool


def gate_for(body: dict[str, Any]) -> Gate | None:
    """The gate a request goes through, or ``None`` for one that cannot reach Ropo One."""
    if "command" in body:
        parsed = parse_command(str(body.get("text", "")))
        # Help and unusable input are answered without Ropo, but only to a permitted agent.
        return Gate(Surface.COMMAND, counts_as_lookup=isinstance(parsed, Query))
    kind = body.get("type")
    if kind in _UNGATED_TYPES:
        return None
    if kind == "block_actions":
        action_ids = {a.get("action_id") for a in body.get("actions") or ()}
        if action_ids and action_ids <= _UNGATED_ACTIONS:
            return None
        return Gate(Surface.BUTTON, counts_as_lookup=not action_ids <= _FORM_ACTIONS)
    if kind == "message_action":
        return Gate(Surface.MESSAGE_SHORTCUT, counts_as_lookup=True)
    if kind == "shortcut":  # the global shortcut opens the form
        return Gate(Surface.MODAL, counts_as_lookup=False)
    # view_submission, block_suggestion and anything Slack adds later.
    return Gate(Surface.MODAL, counts_as_lookup=True)


class AccessGate(AsyncMiddleware):
    """Refuses, privately and audited, what an agent may not do; lets the rest through."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse | None]],
    ) -> BoltResponse | None:
        """Check the request; answer a refusal here, or hand it on with ``next()``."""
        gate = gate_for(req.body)
        if gate is None:
            return await next()
        context = req.context
        who = Requester(
            team_id=context.team_id,
            user_id=context.user_id,
            channel_id=context.channel_id,
            surface=gate.surface,
        )
        # The workspace the app is installed in, not the request's: in a Slack Connect
        # channel the request names the external agent's own workspace.
        installed = context.authorize_result.team_id if context.authorize_result else None
        decision = await self._services.access.decide(
            installed or context.team_id, who.user_id, who.channel_id
        )
        environment = self._services.environment
        if not decision.allowed:
            reference = new_reference()
            await self._audit(req.body, who, decision.reason.value, reference)
            return await _answer(req, render_access_refused(decision, environment, reference))
        if gate.counts_as_lookup:
            retry_after_s = self._services.rate_limit.hit(who.user_id or "")
            if retry_after_s is not None:
                reference = new_reference()
                await self._audit(req.body, who, RATE_LIMITED, reference)
                return await _answer(req, render_slow_down(retry_after_s, environment, reference))
        return await next()

    async def _audit(
        self, body: dict[str, Any], who: Requester, reason: str, reference: str
    ) -> None:
        logger.info(
            "request %s by %s via %s refused: %s", reference, who.user_id, who.surface, reason
        )
        try:
            query = self._requested_query(body)
        except Exception:  # whom it was for is a detail: the refusal is recorded regardless
            logger.exception("refusal %s: could not read whom the request was for", reference)
            query = None
        try:
            await self._services.audit.record_refusal(who, query, reason, reference=reference)
        except Exception:
            logger.error("AUDIT FAILURE: refusal %s could not be audited", reference)

    def _requested_query(self, body: dict[str, Any]) -> Query | None:
        """Whom the refused request asked about, when the request says.

        For a message shortcut, that is the one identifier in the message's text, if it has
        exactly one (the listener also reads blocks and attachments; an audit row of a
        refusal may then name nobody).
        """
        if "command" in body:
            parsed = parse_command(str(body.get("text", "")))
            return parsed if isinstance(parsed, Query) else None
        kind = body.get("type")
        if kind == "block_actions":
            for action in body.get("actions") or ():
                if action.get("action_id") in _SEALED_ACTIONS:
                    try:
                        return self._services.sealer.open(str(action.get("value", ""))).query
                    except ContextError:
                        return None
            return None
        if kind == "message_action":
            found = find_identifiers(str((body.get("message") or {}).get("text", "")))
            return Query(found[0]) if len(found) == 1 else None
        if kind == "view_submission":
            values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
            text, include_paid = read_lookup_form(values)
            identifier = parse_identifier(text)
            if isinstance(identifier, Refusal):
                return None
            return Query(identifier, include_paid=include_paid)
        return None


async def _answer(req: AsyncBoltRequest, payload: Payload) -> BoltResponse:
    """Deliver a refusal where the agent is looking; return the acknowledgement to send."""
    body = req.body
    context = req.context
    if "command" in body:
        return BoltResponse(status=200, body={**payload, "response_type": "ephemeral"})
    kind = body.get("type")
    view = render_refusal_view(payload)
    if kind == "view_submission":
        return BoltResponse(status=200, body={"response_action": "update", "view": view})
    client = context.client
    open_view = body.get("view") or {}
    try:
        if kind == "block_actions" and open_view.get("type") == "modal" and open_view.get("id"):
            await client.views_update(view_id=open_view["id"], view=view)
        elif kind == "block_actions" and context.response_url and context.respond is not None:
            await context.respond(**payload, response_type="ephemeral", replace_original=False)
        elif body.get("trigger_id"):
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        else:
            logger.warning("a refused %s request has no way to answer the agent", kind)
    except Exception:
        logger.exception("could not deliver a refusal to the agent")
    return BoltResponse(status=200, body="")
