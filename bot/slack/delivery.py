"""Run a lookup and deliver its reply: the step every surface ends with.

A reply goes to the agent alone: as an ephemeral message through ``response_url``, or into
a modal only they see (``views.open`` / ``views.update``). What Slack does not take is tried
again (:mod:`bot.slack.retry`); a reply ``response_url`` still refuses goes by
``chat.postEphemeral`` instead, where the request came from a channel. Every failure is
logged with the reference id, a lookup's audit row records what became of its answer
(:class:`~bot.lookup.Delivery`), and nothing here raises. Listeners run these after their
acknowledgement through ``services.after_ack``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import (
    render_details_loading,
    render_details_view,
    render_failure,
    render_invoice_list,
    render_result_view,
    render_unexpected_error,
    render_window_not_opened,
    with_lookup_another,
)
from bot.lookup import (
    Delivery,
    FailureKind,
    LookupFailure,
    LookupResult,
    Requester,
    Surface,
    new_reference,
)
from bot.metrics import REPLIES
from bot.query import Query
from bot.ropo.models import Invoice
from bot.services import Services
from bot.slack.context import LookupContext
from bot.slack.session import SessionRespond

logger = logging.getLogger(__name__)

MAX_ACK_WAIT_S = 0.3  # a lookup never waits longer than this for others' acknowledgements


def render_outcome(
    outcome: LookupResult | LookupFailure, services: Services, *, page: int = 0
) -> dict[str, Any]:
    """The message for a lookup's outcome; buttons carry sealed context, never the identifier.

    Every outcome ends with "Look up another", which brings up the lookup form.
    """
    if isinstance(outcome, LookupFailure):
        return with_lookup_another(render_failure(outcome))
    identifier = outcome.query.identifier

    def button_value(target_page: int, include_paid: bool) -> str:
        query = Query(identifier, include_paid=include_paid)
        return services.sealer.seal(LookupContext(query, page=target_page))

    def details_value(invoice: Invoice) -> str:
        return services.sealer.seal(
            LookupContext(
                outcome.query,
                page=page,
                job_id=invoice.case_number,
                my_ropo_link=invoice.my_ropo_link,
            )
        )

    return with_lookup_another(
        render_invoice_list(
            outcome,
            page=page,
            button_value=button_value,
            locale=services.locale,
            details_value=details_value,
        )
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
    cached: bool = False,
) -> None:
    """Look ``query`` up and post the reply, visible only to the agent, via ``response_url``.

    ``cached``: a recent result of the agent's may answer instead of Ropo One (paging).
    """
    outcome = await _look_up(services, query, who, cached=cached)
    reference, withheld = outcome.reference, _withheld(outcome)
    try:
        # Rendered at once, so hundreds of replies waiting to be posted in a rush hold their
        # page of blocks, not every invoice they were rendered from.
        payload = render_outcome(outcome, services, page=page)
        rendered = True
    except Exception:
        logger.exception("lookup %s: its result could not be rendered", outcome.reference)
        payload = _apology(services, outcome.reference)
        rendered = False
    del outcome  # not held while the reply waits for its turn to be posted
    delivery = await send_private(respond, payload, replace_original, reference=reference)
    if not withheld:
        await _record_delivery(
            services, reference, delivery if rendered else Delivery.NOT_DELIVERED
        )


async def send_private(
    respond: AsyncRespond,
    payload: dict[str, Any],
    replace_original: bool = False,
    *,
    reference: str | None = None,
) -> Delivery:
    """Post an ephemeral reply; if Slack refuses it, post it by ``chat.postEphemeral``.

    ``reference`` (the lookup's or the refusal's) names the reply in the log. What Slack
    may have shown already (a request sent, never answered) is not sent again.
    """
    delivery = await _send_private(respond, payload, replace_original, reference)
    REPLIES.labels("response_url", "delivered" if delivery is Delivery.SHOWN else "failed").inc()
    return delivery


async def _send_private(
    respond: AsyncRespond,
    payload: dict[str, Any],
    replace_original: bool,
    reference: str | None,
) -> Delivery:
    what = f"reply {reference}" if reference else "a reply"
    try:
        response = await respond(
            **payload, response_type="ephemeral", replace_original=replace_original
        )
    except aiohttp.ClientConnectorError as exc:
        refused = f"could not connect ({type(exc).__name__})"
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.error(
            "%s may not have reached the agent: response_url did not answer (%s); "
            "not sent again, as it may have been shown",
            what,
            type(exc).__name__,
        )
        return Delivery.UNCONFIRMED
    except Exception:
        logger.exception("%s could not be posted to response_url", what)
        refused = "an error of ours"
    else:
        if response.status_code == 200:
            return Delivery.SHOWN
        refused = f"HTTP {response.status_code} {response.body[:200]}"
    logger.error("response_url refused %s: %s", what, refused)
    fallback = respond.fallback if isinstance(respond, SessionRespond) else None
    if fallback is not None and await fallback.post(payload):
        logger.warning("%s delivered by chat.postEphemeral instead of response_url", what)
        return Delivery.SHOWN
    logger.error("%s could not be delivered: the agent has no answer", what)
    return Delivery.NOT_DELIVERED


def _withheld(outcome: LookupResult | LookupFailure) -> bool:
    """The answer is "could not be recorded": the lookup already marked its row withheld."""
    return isinstance(outcome, LookupFailure) and outcome.kind is FailureKind.AUDIT_FAILED


async def _record_delivery(services: Services, reference: str, delivery: Delivery) -> None:
    try:
        await services.audit.record_delivery(reference, delivery)
    except Exception:
        logger.exception(
            "AUDIT FAILURE: the delivery of lookup %s could not be recorded", reference
        )


# --- modals -------------------------------------------------------------------------------


def modal_view_id(body: dict[str, Any]) -> str | None:
    """The id of the modal an interaction came from, or None (a message, the Home tab)."""
    view = body.get("view")
    if isinstance(view, dict) and view.get("type") == "modal" and view.get("id"):
        return str(view["id"])
    return None


async def look_up_and_update_view(
    services: Services,
    client: AsyncWebClient,
    query: Query,
    who: Requester,
    view_id: str,
    *,
    page: int = 0,
    cached: bool = False,
) -> None:
    """Look ``query`` up and show the reply in the agent's open modal ``view_id``.

    ``cached``: a recent result of the agent's may answer instead of Ropo One (paging).
    """
    outcome = await _look_up(services, query, who, cached=cached)
    reference, withheld = outcome.reference, _withheld(outcome)
    error = await _show_in_modal(
        services,
        client,
        view_id,
        lambda: render_result_view(render_outcome(outcome, services, page=page)),
        "lookup",
        reference,
    )
    if error is not None and error not in _REFUSED_VIEW:
        logger.error("lookup %s: its answer could not be shown in the modal (%s)", reference, error)
    if not withheld:
        delivered = Delivery.SHOWN if error is None else Delivery.NOT_DELIVERED
        await _record_delivery(services, reference, delivered)


async def _look_up(
    services: Services, query: Query, who: Requester, *, cached: bool = False
) -> LookupResult | LookupFailure:
    await services.pending_acks.idle(MAX_ACK_WAIT_S)  # queued acknowledgements go first
    if cached:
        return await services.lookup.page(query, who)
    return await services.lookup.run(query, who)


async def show_details(
    services: Services,
    client: AsyncWebClient,
    context: LookupContext,
    who: Requester,
    body: dict[str, Any],
    respond: AsyncRespond | None,
) -> None:
    """Open one invoice's details modal: "Loading…" at once, then Ropo One's answer in it.

    The click's trigger_id works once and for 3 seconds, so the modal opens before Ropo One
    has answered; Ropo is asked meanwhile rather than after, so the details wait for the
    slower of the two, not for both. From the result modal the modal is pushed on top (its
    close button goes back to the list); from a message it opens on its own.
    """
    if context.job_id is None:  # only a Details button carries a job id
        logger.warning("a details click without a job id")
        return
    over = modal_view_id(body)
    trigger_id = str(body.get("trigger_id", ""))
    loading = render_details_loading(services.environment, pushed=over is not None)
    opening = asyncio.ensure_future(
        open_view(client, trigger_id, loading)
        if over is None
        else push_view(client, trigger_id, loading)
    )

    async def opened() -> bool:
        return await opening is not None

    asking = asyncio.ensure_future(
        services.details.run(context.query, context.job_id, who, shown=opened)
    )
    view_id = await opening
    if view_id is None:
        # Nothing can be shown, so nothing is viewed or audited; Ropo's answer is dropped.
        asking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asking
        if over is None and respond is not None:
            await send_private(respond, render_window_not_opened(services.environment))
        return
    outcome = await asking
    await _show_in_modal(
        services,
        client,
        view_id,
        lambda: render_details_view(
            outcome, my_ropo_link=context.my_ropo_link, pushed=over is not None
        ),
        "details",
        outcome.reference,
    )


async def _show_in_modal(
    services: Services,
    client: AsyncWebClient,
    view_id: str,
    render: Callable[[], dict[str, Any]],
    kind: str,
    reference: str,
) -> str | None:
    """Render a result into modal ``view_id``; None if shown, else why not (logged).

    ``kind`` and ``reference`` name the result (``lookup R-…``, ``details R-…``) in the log.

    A view that could not be built, or that Slack refused, is a bug of ours: an apology with
    a reference takes its place rather than leave the modal on "Loading…" for good. (A
    closed modal needs nothing more.)
    """
    error: str | None
    try:
        view = render()
    except Exception:
        logger.exception("%s %s: its result could not be rendered", kind, reference)
        error = "render_failed"
    else:
        error = await _update_view(client, view_id, view)
    if error in _REFUSED_VIEW:
        await _update_view(client, view_id, render_result_view(_apology(services, reference)))
    return error


def _apology(services: Services, lookup_reference: str) -> dict[str, Any]:
    """Shown instead of a result we could not show: a bug of ours, with a reference to quote."""
    reference = new_reference()
    logger.error("lookup %s: no result shown, reference %s", lookup_reference, reference)
    return with_lookup_another(render_unexpected_error(reference, services.environment))


async def open_view(client: AsyncWebClient, trigger_id: str, view: dict[str, Any]) -> str | None:
    """Open a modal; its view id, or None (logged) if Slack refused, e.g. an expired trigger."""
    try:
        response = await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        logger.warning("views.open refused: %s", exc.response.get("error"))
        return None
    except Exception:
        logger.exception("views.open failed")
        return None
    return str(response["view"]["id"])


async def push_view(client: AsyncWebClient, trigger_id: str, view: dict[str, Any]) -> str | None:
    """Push a modal over the one open; its view id, or None (logged) if Slack refused."""
    try:
        response = await client.views_push(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        logger.warning("views.push refused: %s", exc.response.get("error"))
        return None
    except Exception:
        logger.exception("views.push failed")
        return None
    return str(response["view"]["id"])


async def open_view_or_explain(
    services: Services,
    client: AsyncWebClient,
    trigger_id: str,
    view: dict[str, Any],
    respond: AsyncRespond | None,
) -> str | None:
    """Open a modal; if Slack won't, tell the agent privately when there is a way to."""
    view_id = await open_view(client, trigger_id, view)
    if view_id is None and respond is not None:
        window_not_opened = render_window_not_opened(
            services.environment, services.settings.country
        )
        await send_private(respond, window_not_opened)
    return view_id


async def update_view(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> bool:
    """Replace what modal ``view_id`` shows; False (logged) if Slack refused, e.g. it was closed."""
    return await _update_view(client, view_id, view) is None


# views.update errors that are about the view we sent, not about the modal being gone.
_REFUSED_VIEW = frozenset({"invalid_arguments", "view_too_large", "exception", "render_failed"})


async def _update_view(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> str | None:
    """``views.update``; None on success, else Slack's error code (or ``exception``), logged."""
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        logger.warning("views.update of %s refused: %s", view_id, error)
        REPLIES.labels("view", "failed").inc()
        return error
    except Exception:
        logger.exception("views.update of %s failed", view_id)
        REPLIES.labels("view", "failed").inc()
        return "exception"
    REPLIES.labels("view", "delivered").inc()
    return None


async def publish_home(client: AsyncWebClient, user_id: str, view: dict[str, Any]) -> bool:
    """Publish ``user_id``'s Home tab; False (logged) if Slack refused."""
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        logger.warning("views.publish for %s refused: %s", user_id, exc.response.get("error"))
        return False
    except Exception:
        logger.exception("views.publish for %s failed", user_id)
        return False
    return True
