"""The one gate every Slack request passes before a listener runs: access and the rate limit.

Registered as Bolt global middleware, so a new listener cannot forget it. Every request an
agent makes is gated, a new kind included; only what cannot reach Ropo One passes unchecked:
MyRopo link clicks, a modal being closed, and events, which are not requests to answer (the
Home tab, the one event the app subscribes to, asks the policy itself to decide what to
show). A refused agent gets a private answer on the surface they used, Ropo One is not
asked, and the refusal is audited. The refusal is acknowledged at once: its audit row and
any Slack call that shows it are written in the background, since Slack gives up on a
request not acknowledged within 3 seconds and either can take longer than that.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
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
from bot.lookup import Requester, Surface, new_reference
from bot.metrics import ACCESS_REFUSALS, RATE_LIMIT_REFUSALS
from bot.national_ids import Country
from bot.query import Query, Refusal, find_identifiers, parse_command, parse_identifier
from bot.services import Services
from bot.slack.context import ContextError
from bot.slack.delivery import modal_view_id, open_view, send_private, update_view
from bot.slack.text import message_text

logger = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
"""The audited reason of a request refused by the per-agent rate limit."""

# Nothing here can reach Ropo One: these pass without a check.
# The language select only stores a preference: a refused agent may read the refusal in theirs.
_UNGATED_ACTIONS = frozenset({ids.ACTION_OPEN_MYROPO, ids.ACTION_CHOOSE_LANGUAGE})
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
        ids.ACTION_REFRESH,
        ids.ACTION_SHOW_DETAILS,
    }
)


@dataclass(frozen=True, slots=True)
class Gate:
    """How a request is checked: the surface it is audited under, and if it is a lookup."""

    surface: Surface
    counts_as_lookup: bool


def gate_for(body: dict[str, Any], country: Country = Country.FI) -> Gate | None:
    """The gate a request goes through, or ``None`` for one that cannot reach Ropo One.

    Only what asks Ropo One counts as a lookup: not a form submission whose field is refused
    on the spot, nor a message shortcut that finds no identifier (it opens the form) or
    several (it asks which: the choice is the lookup, and counts). ``country`` decides which
    identity code is read (ROPO_COUNTRY).
    """
    if "command" in body:
        parsed = parse_command(str(body.get("text", "")), country)
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
        return Gate(
            Surface.MESSAGE_SHORTCUT, counts_as_lookup=_message_query(body, country) is not None
        )
    if kind == "shortcut":  # the global shortcut opens the form
        return Gate(Surface.MODAL, counts_as_lookup=False)
    if kind == "view_submission" and (body.get("view") or {}).get("callback_id") == ids.VIEW_LOOKUP:
        return Gate(Surface.MODAL, counts_as_lookup=_form_query(body, country) is not None)
    # Other view submissions, block_suggestion and anything Slack adds later.
    return Gate(Surface.MODAL, counts_as_lookup=True)


def _message_query(body: dict[str, Any], country: Country) -> Query | None:
    """The lookup a message shortcut starts at once: its message's one identifier, if one."""
    found = find_identifiers(message_text(body.get("message") or {}), country)
    return Query(found[0]) if len(found) == 1 else None


def _form_query(body: dict[str, Any], country: Country) -> Query | None:
    """The lookup a submitted lookup form asks for, or None if its field is refused inline."""
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    text, include_paid = read_lookup_form(values)
    identifier = parse_identifier(text, country)
    if isinstance(identifier, Refusal):
        return None
    return Query(identifier, include_paid=include_paid)


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
        """Check the request; acknowledge a refusal here, or hand it on with ``next()``."""
        gate = gate_for(req.body, self._services.settings.country)
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
            refusal = render_access_refused(decision, environment, reference)
            return self._refuse(req, who, decision.reason.value, refusal, reference)
        if gate.counts_as_lookup:
            retry_after_s = await self._services.rate_limit.hit(who.user_id or "")
            if retry_after_s is not None:
                reference = new_reference()
                refusal = render_slow_down(retry_after_s, environment, reference)
                return self._refuse(req, who, RATE_LIMITED, refusal, reference)
        return await next()

    def _refuse(
        self,
        req: AsyncBoltRequest,
        who: Requester,
        reason: str,
        refusal: Payload,
        reference: str,
    ) -> BoltResponse:
        """The acknowledgement of a refused request; showing and auditing it go on meanwhile."""
        logger.info(
            "request %s by %s via %s refused: %s",
            reference,
            who.user_id,
            who.surface,
            reason,
            extra=who.log_fields(reference, outcome=f"refused: {reason}"),
        )
        if reason == RATE_LIMITED:
            RATE_LIMIT_REFUSALS.inc()
        else:
            ACCESS_REFUSALS.labels(reason).inc()
        body = req.body
        ack = _acknowledgement(body, refusal)
        if ack is None:  # shown by a Slack call: first, as a trigger_id expires in 3 seconds
            self._services.after_ack(
                _deliver(req.context, body, refusal, reference), f"refusal {reference}: delivery"
            )
            ack = BoltResponse(status=200, body="")
        self._services.after_ack(
            self._audit(body, who, reason, reference), f"refusal {reference}: audit"
        )
        return ack

    async def _audit(
        self, body: dict[str, Any], who: Requester, reason: str, reference: str
    ) -> None:
        try:
            query = self._requested_query(body)
        except Exception:  # whom it was for is a detail: the refusal is recorded regardless
            logger.exception("refusal %s: could not read whom the request was for", reference)
            query = None
        try:
            await self._services.audit.record_refusal(who, query, reason, reference=reference)
        except Exception:
            logger.exception("AUDIT FAILURE: refusal %s could not be audited", reference)

    def _requested_query(self, body: dict[str, Any]) -> Query | None:
        """Whom the refused request asked about, when the request says."""
        if "command" in body:
            parsed = parse_command(str(body.get("text", "")), self._services.settings.country)
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
            return _message_query(body, self._services.settings.country)
        if kind == "view_submission":
            return _form_query(body, self._services.settings.country)
        return None


def _acknowledgement(body: dict[str, Any], refusal: Payload) -> BoltResponse | None:
    """The ack that itself shows the refusal (to a command, a form submission), or None."""
    if "command" in body:
        return BoltResponse(status=200, body={**refusal, "response_type": "ephemeral"})
    if body.get("type") == "view_submission":
        view = render_refusal_view(refusal)
        return BoltResponse(status=200, body={"response_action": "update", "view": view})
    return None


async def _deliver(
    context: AsyncBoltContext, body: dict[str, Any], refusal: Payload, reference: str
) -> None:
    """Show a refusal where the agent is looking, when its ack can't: a Slack call, logged."""
    kind = body.get("type")
    client = context.client
    view_id = modal_view_id(body) if kind == "block_actions" else None
    if view_id is not None and client is not None:
        await update_view(client, view_id, render_refusal_view(refusal))
    elif kind == "block_actions" and context.response_url and context.respond is not None:
        await send_private(context.respond, refusal, reference=reference)
    elif body.get("trigger_id") and client is not None:
        await open_view(client, str(body["trigger_id"]), render_refusal_view(refusal))
    else:
        logger.warning("a refused %s request has no way to answer the agent", kind)
