"""Pieces every Block Kit surface shares: escaping, amounts, dates, statuses, footer, limits.

Everything here is pure: the same input always gives the same dict, with no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from bot import ids
from bot.blocks.money import UNKNOWN
from bot.ropo.models import InvoiceStatus
from bot.settings import RopoEnvironment

Payload = dict[str, Any]
Block = dict[str, Any]
View = dict[str, Any]

APP_NAME = "Ropo Invoices"  # also a modal title: at most 24 characters
LABEL_INCLUDE_PAID = "Include paid invoices"

ELLIPSIS = "…"
USAGE = f"{ids.COMMAND} <HETU or customer number> [all]"
ONLY_YOU = "Only you can see this."

# Longest raw text taken from Ropo or the agent into one spot of a message. Applied before
# escaping, which can grow a text fivefold (``&`` -> ``&amp;``), so the limits below hold.
MAX_SHOWN_CHARS = 80

_NOON_S = 12 * 60 * 60


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """How one invoice status is shown, and what it means for the customer."""

    emoji: str
    label: str
    meaning: str


STATUS_LEGEND: Mapping[InvoiceStatus, StatusInfo] = MappingProxyType(
    {
        InvoiceStatus.COLLECTION: StatusInfo(
            ":red_circle:",
            "Collection",
            "In debt collection: collection costs may be added. The customer should pay "
            "or agree on a payment plan now.",
        ),
        InvoiceStatus.REMINDER: StatusInfo(
            ":large_orange_circle:",
            "Reminder",
            "Overdue, and a payment reminder has been sent. Paying now keeps it out of collection.",
        ),
        InvoiceStatus.DUE: StatusInfo(
            ":large_yellow_circle:",
            "Due",
            "Past its due date; no reminder has been sent yet.",
        ),
        InvoiceStatus.INVOICING: StatusInfo(
            ":large_blue_circle:",
            "Invoicing",
            "Sent and not yet due: nothing is late.",
        ),
        InvoiceStatus.PAID: StatusInfo(
            ":white_check_mark:",
            "Paid",
            "Paid in full: nothing to do.",
        ),
        InvoiceStatus.UNKNOWN: StatusInfo(
            ":grey_question:",
            "Unknown status",
            "A status this app does not know yet: check the invoice in MyRopo.",
        ),
    }
)
"""Every status in display order (most urgent first); the help and App Home legends use it."""


def status_legend() -> str:
    """Every status as ``emoji *Label* — what it means``, one a line (help and the Home tab)."""
    return "\n".join(
        f"{info.emoji} *{info.label}* — {escape_mrkdwn(info.meaning)}"
        for info in STATUS_LEGEND.values()
    )


SOURCE_LABELS: Mapping[RopoEnvironment, str] = MappingProxyType(
    {
        RopoEnvironment.SANDBOX: "Ropo One sandbox — fake data",
        RopoEnvironment.TEST: "Ropo One test environment",
        RopoEnvironment.PRODUCTION: "Ropo One production",
        RopoEnvironment.CUSTOM: "Ropo One (custom endpoint)",
    }
)
"""Where the data came from, as the footer says it."""


# --- text ---------------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows them instead of parsing mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def code(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``text`` as inline code: truncated, escaped, and unable to close the code span early."""
    # A backtick would end the span; U+02CB looks the same and keeps the text whole.
    return "`" + escape_mrkdwn(truncate(text, limit).replace("`", "\u02cb")) + "`"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 invoice``, ``2 invoices``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def join_limited(items: Iterable[str], *, budget: int, max_items: int) -> str:
    """Escape and join ``items`` with commas until ``budget`` characters or ``max_items``.

    What does not fit is counted: ``A, B, …and 480 more``.
    """
    items = tuple(items)
    shown: list[str] = []
    used = 0
    for item in items[:max_items]:
        piece = escape_mrkdwn(truncate(item))
        if shown and used + len(piece) + 2 > budget:
            break
        shown.append(piece)
        used += len(piece) + 2
    rest = len(items) - len(shown)
    text = ", ".join(shown)
    return f"{text}, {ELLIPSIS}and {rest:,} more" if rest else text


def slack_date(day: date | None) -> str:
    """A Slack date token showing ``day`` in each reader's own format, or ``unknown``.

    The token points at 12:00 UTC, so every reader from UTC-12 to UTC+11 sees the same
    calendar day; the fallback after ``|`` is the ISO date.
    """
    if day is None:
        return UNKNOWN
    epoch = calendar.timegm(day.timetuple()) + _NOON_S
    return f"<!date^{epoch}^{{date_short}}|{day.isoformat()}>"


# --- blocks -------------------------------------------------------------------------------


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object; the caller has escaped what needs it."""
    return {"type": "mrkdwn", "text": text}


def plain_text(text: str) -> dict[str, Any]:
    """A plain text object that renders ``:emoji:`` codes."""
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    """A section of mrkdwn text, optionally with an id and an accessory element."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id is not None:
        block["block_id"] = block_id
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(*texts: str, block_id: str | None = None) -> Block:
    """A context block of mrkdwn elements (small grey text)."""
    block: Block = {"type": "context", "elements": [mrkdwn(t) for t in texts]}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def divider() -> Block:
    """A horizontal rule."""
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
) -> Block:
    """A button element; ``value`` is what comes back on a click, ``url`` opens a page."""
    element: Block = {"type": "button", "text": plain_text(text), "action_id": action_id}
    if value is not None:
        element["value"] = value
    if url is not None:
        element["url"] = url
    if style is not None:
        element["style"] = style
    return element


def footer(environment: RopoEnvironment, reference: str | None = None) -> Block:
    """The last block of every reply: who sees it, where the data came from, the reference."""
    parts = [f":lock: {ONLY_YOU}", f"Data: {SOURCE_LABELS[environment]}"]
    if reference is not None:
        parts.append(f"Reference: {code(reference)}")
    return context(" · ".join(parts), block_id=ids.BLOCK_FOOTER)


def message(text: str, blocks: list[Block]) -> Payload:
    """A message payload: the notification / screen-reader ``text`` and the blocks."""
    return {"text": text, "blocks": blocks}


MAX_URL = 3_000
"""Slack's limit for a button's ``url``: a longer link is left out, not sent."""
