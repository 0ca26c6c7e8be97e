"""Answers for an agent who may not look up, or not right now: as a message or as a modal.

Pure builders. The explanation comes from the :class:`~bot.access.policy.AccessDecision` (it names
the allowed channels or groups, and who to ask); these add the heading and the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot import ids
from bot.access.policy import AccessDecision, AccessReason
from bot.blocks.common import (
    APP_NAME,
    Block,
    Payload,
    code,
    footer,
    message,
    plain_text,
    plural,
    section,
)
from bot.i18n import N_, _
from bot.settings import RopoEnvironment

_HEADINGS: Mapping[AccessReason, tuple[str, str]] = MappingProxyType(
    {
        AccessReason.GUEST: (":lock:", N_("Guests can't look up invoices")),
        AccessReason.EXTERNAL: (
            ":lock:",
            N_("Only members of this workspace can look up invoices"),
        ),
        AccessReason.BOT: (":lock:", N_("Apps can't look up invoices")),
        AccessReason.DEACTIVATED: (":lock:", N_("This account can't look up invoices")),
        AccessReason.USER_NOT_ALLOWED: (":lock:", N_("You don't have access to invoice lookups")),
        AccessReason.NOT_IN_USERGROUP: (":lock:", N_("You don't have access to invoice lookups")),
        AccessReason.CHANNEL_NOT_ALLOWED: (":lock:", N_("Invoices can't be looked up here")),
        AccessReason.UNVERIFIED: (
            ":hourglass_flowing_sand:",
            N_("Your access couldn't be checked"),
        ),
    }
)


def render_access_refused(
    decision: AccessDecision, environment: RopoEnvironment, reference: str
) -> Payload:
    """Why this agent may not look up, and how to get access. Nothing was looked up."""
    if decision.allowed:
        raise ValueError("an allowed request needs no refusal")
    emoji, heading = _HEADINGS[decision.reason]
    heading = _(heading)
    blocks = [
        section(
            f"{emoji} *{heading}*\n{decision.message}\n"
            + _("Reference: {reference}").format(reference=code(reference)),
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    fallback = _("{heading}. Reference: {reference}").format(heading=heading, reference=reference)
    return message(fallback, blocks)


def render_slow_down(retry_after_s: int, environment: RopoEnvironment, reference: str) -> Payload:
    """Too many lookups in a minute: when the next one will go through."""
    heading = _("Too many lookups in a minute")
    wait = plural(retry_after_s, "{count} second", "{count} seconds")
    blocks = [
        section(
            f":raised_hand: *{heading}*\n"
            + _(
                "To protect customers' data, each agent can make a limited number of lookups "
                "a minute. Nothing was looked up: try again in {wait}."
            ).format(wait=wait)
            + "\n"
            + _("Reference: {reference}").format(reference=code(reference)),
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    fallback = _("{heading}: try again in {wait}. Reference: {reference}").format(
        heading=heading, wait=wait, reference=reference
    )
    return message(fallback, blocks)


def render_refusal_view(payload: Payload) -> Block:
    """A message payload from this module as a modal, for shortcuts and the lookup form."""
    return {
        "type": "modal",
        "title": plain_text(APP_NAME),
        "close": plain_text(_("Close")),
        "blocks": payload["blocks"],
    }
