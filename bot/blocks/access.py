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
from bot.settings import RopoEnvironment

_HEADINGS: Mapping[AccessReason, tuple[str, str]] = MappingProxyType(
    {
        AccessReason.GUEST: (":lock:", "Guests can't look up invoices"),
        AccessReason.EXTERNAL: (":lock:", "Only members of this workspace can look up invoices"),
        AccessReason.BOT: (":lock:", "Apps can't look up invoices"),
        AccessReason.DEACTIVATED: (":lock:", "This account can't look up invoices"),
        AccessReason.USER_NOT_ALLOWED: (":lock:", "You don't have access to invoice lookups"),
        AccessReason.NOT_IN_USERGROUP: (":lock:", "You don't have access to invoice lookups"),
        AccessReason.CHANNEL_NOT_ALLOWED: (":lock:", "Invoices can't be looked up here"),
        AccessReason.UNVERIFIED: (
            ":hourglass_flowing_sand:",
            "Your access couldn't be checked",
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
    blocks = [
        section(
            f"{emoji} *{heading}*\n{decision.message}\nReference: {code(reference)}",
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    return message(f"{heading}. Reference: {reference}", blocks)


def render_slow_down(retry_after_s: int, environment: RopoEnvironment, reference: str) -> Payload:
    """Too many lookups in a minute: when the next one will go through."""
    heading = "Too many lookups in a minute"
    wait = plural(retry_after_s, "second")
    blocks = [
        section(
            f":raised_hand: *{heading}*\nTo protect customers' data, each agent can make a "
            f"limited number of lookups a minute. Nothing was looked up: try again in {wait}."
            f"\nReference: {code(reference)}",
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    return message(f"{heading}: try again in {wait}. Reference: {reference}", blocks)


def render_refusal_view(payload: Payload) -> Block:
    """A message payload from this module as a modal, for shortcuts and the lookup form."""
    return {
        "type": "modal",
        "title": plain_text(APP_NAME),
        "close": plain_text("Close"),
        "blocks": payload["blocks"],
    }
