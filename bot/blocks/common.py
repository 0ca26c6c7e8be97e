"""Pieces every Block Kit surface shares: escaping, amounts, dates, statuses, footer, limits.

Everything here is pure: the same input always gives the same dict, with no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, TypeVar

from bot import ids
from bot.blocks.money import UNKNOWN
from bot.i18n import N_, _, long_date, ngettext, number
from bot.ropo.models import InvoiceStatus
from bot.settings import RopoEnvironment

K = TypeVar("K")

Payload = dict[str, Any]
Block = dict[str, Any]
View = dict[str, Any]

APP_NAME = "Ropo Invoices"  # also a modal title: at most 24 characters
LABEL_INCLUDE_PAID = N_("Include paid invoices")

ELLIPSIS = "…"
ONLY_YOU = N_("Only you can see this.")

# Longest raw text taken from Ropo or the agent into one spot of a message. Applied before
# escaping, which can grow a text fivefold (``&`` -> ``&amp;``), so the limits below hold.
MAX_SHOWN_CHARS = 80

_NOON_S = 12 * 60 * 60


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """How one invoice status is shown, and what it means for the customer.

    The texts are English ``msgid``s; :attr:`label` and :attr:`meaning` are in the agent's
    language.
    """

    emoji: str
    label_source: str
    meaning_source: str

    @property
    def label(self) -> str:
        """The status's name, as MyRopo shows it in the agent's language."""
        return _(self.label_source)

    @property
    def meaning(self) -> str:
        """What the status means for the customer, in the agent's language."""
        return _(self.meaning_source)


STATUS_LEGEND: Mapping[InvoiceStatus, StatusInfo] = MappingProxyType(
    {
        InvoiceStatus.COLLECTION: StatusInfo(
            ":red_circle:",
            N_("Collection"),
            N_(
                "In debt collection: collection costs may be added. The customer should pay "
                "or agree on a payment plan now."
            ),
        ),
        InvoiceStatus.REMINDER: StatusInfo(
            ":large_orange_circle:",
            N_("Reminder"),
            N_(
                "Overdue, and a payment reminder has been sent. Paying now keeps it out of "
                "collection."
            ),
        ),
        InvoiceStatus.DUE: StatusInfo(
            ":large_yellow_circle:",
            N_("Due"),
            N_("Past its due date; no reminder has been sent yet."),
        ),
        InvoiceStatus.INVOICING: StatusInfo(
            ":large_blue_circle:",
            N_("Invoicing"),
            N_("Sent and not yet due: nothing is late."),
        ),
        InvoiceStatus.PAID: StatusInfo(
            ":white_check_mark:",
            N_("Paid"),
            N_("Paid in full: nothing to do."),
        ),
        InvoiceStatus.UNKNOWN: StatusInfo(
            ":grey_question:",
            N_("Unknown status"),
            N_("A status this app does not know yet: check the invoice in MyRopo."),
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


class _Translated(Mapping[K, str]):
    """A mapping to ``msgid``s that answers in the agent's language."""

    def __init__(self, messages: Mapping[K, str]) -> None:
        self._messages = MappingProxyType(dict(messages))

    def __getitem__(self, key: K) -> str:
        return _(self._messages[key])

    def __iter__(self) -> Iterator[K]:
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)


SOURCE_LABELS: Mapping[RopoEnvironment, str] = _Translated(
    {
        RopoEnvironment.SANDBOX: N_("Ropo One sandbox — fake data"),
        RopoEnvironment.TEST: N_("Ropo One test environment"),
        RopoEnvironment.PRODUCTION: N_("Ropo One production"),
        RopoEnvironment.CUSTOM: N_("Ropo One (custom endpoint)"),
    }
)
"""Where the data came from, as the footer says it (in the agent's language)."""


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


def plural(count: int, singular: str, plural_form: str) -> str:
    """``1 invoice``, ``2 invoices``: ``singular`` and ``plural_form`` hold ``{count}``.

    The forms are a plural ``msgid`` (``pybabel extract -k plural:2,3`` finds them), and
    are translated with the current language's plural rule.
    """
    return ngettext(singular, plural_form, count).format(count=number(count))


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
    if not rest:
        return text
    return text + ", " + ELLIPSIS + _("and {count} more").format(count=number(rest))


def slack_date(day: date | None) -> str:
    """A Slack date token showing ``day`` in each reader's own format, or ``unknown``.

    The token points at 12:00 UTC, so every reader from UTC-12 to UTC+11 sees the same
    calendar day; the fallback after ``|`` (shown where Slack can't render the token, as in
    notifications) is the date as the agent's language writes it.
    """
    if day is None:
        return _(UNKNOWN)
    epoch = calendar.timegm(day.timetuple()) + _NOON_S
    return f"<!date^{epoch}^{{date_short}}|{long_date(day)}>"


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
    parts = [
        f":lock: {_(ONLY_YOU)}",
        _("Data: {source}").format(source=SOURCE_LABELS[environment]),
    ]
    if reference is not None:
        parts.append(_("Reference: {reference}").format(reference=code(reference)))
    return context(" · ".join(parts), block_id=ids.BLOCK_FOOTER)


def message(text: str, blocks: list[Block]) -> Payload:
    """A message payload: the notification / screen-reader ``text`` and the blocks."""
    return {"text": text, "blocks": blocks}


MAX_URL = 3_000
"""Slack's limit for a button's ``url``: a longer link is left out, not sent."""
