"""The ``/invoices`` reply: an invoice list, help, a refusal, a failure, or an expired button.

Pure builders: a result in, a ``{"text", "blocks"}`` message payload out. An identifier
appears only as :attr:`~bot.query.Identifier.display` (a HETU masked), escaped; button
values come from the caller's ``button_value``, which seals the context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bot import ids
from bot.blocks.common import (
    LABEL_INCLUDE_PAID,
    MAX_URL,
    STATUS_LEGEND,
    Block,
    Payload,
    button,
    code,
    context,
    divider,
    escape_mrkdwn,
    footer,
    join_limited,
    message,
    plain_text,
    plural,
    section,
    slack_date,
    status_legend,
    truncate,
)
from bot.blocks.money import format_amount
from bot.blocks.national import code_words
from bot.lookup import PAGE_SIZE, FailureKind, LookupFailure, LookupResult
from bot.national_ids import Country
from bot.query import PAID_FLAGS, Refusal, RefusalReason
from bot.redact import redact
from bot.ropo.models import Invoice, InvoiceStatus
from bot.settings import RopoEnvironment

ButtonValue = Callable[[int, bool], str]
"""``(page, include_paid) -> value``: the sealed context a button carries."""

DetailsValue = Callable[[Invoice], str]
"""``invoice -> value``: the sealed context an invoice's Details button carries."""

LABEL_PREVIOUS = "Previous"
LABEL_NEXT = "Next"
LABEL_OPEN_ONLY = "Open invoices only"
LABEL_MYROPO = "Open in MyRopo"
LABEL_DETAILS = "Details"
LABEL_REFRESH = "Refresh"

# The HETU example is a pattern, not a sample code: no payload ever holds a full HETU, so
# a scan of everything sent to Slack (tests, or a runtime guard) needs no exceptions.
HELP_EXAMPLE_HETU = "DDMMYY-NNNX"
HELP_EXAMPLE_CUSTNUM = "C-1001"

# A group job may list hundreds of sub-invoices; a context element holds 3,000 characters.
_GROUP_NUMBERS_BUDGET = 1_500
_GROUP_NUMBERS_SHOWN = 20

_MAX_REFUSAL_CHARS = 500  # our own sentence; the cap only keeps a bug from costing the reply

_TWO_YEARS = "Ropo One returns paid invoices only for 2 years after they were paid."


# --- the invoice list ---------------------------------------------------------------------


def render_invoice_list(
    result: LookupResult,
    *,
    page: int,
    button_value: ButtonValue,
    locale: str,
    details_value: DetailsValue | None = None,
) -> Payload:
    """One page of a customer's invoices, with paging, the paid toggle and the footer.

    ``page`` counts from 0 and is clamped to the pages that exist, so a stale button on a
    list that has since shrunk still shows something. With ``details_value``, every invoice
    with a Ropo case number gets a Details button in an actions block of its own: a full
    page of group jobs is then 35 blocks, within a message's 50.
    """
    if not result.invoices:
        return _empty_list(result, button_value)
    page_count = result.page_count(PAGE_SIZE)
    page = min(max(page, 0), page_count - 1)
    start = page * PAGE_SIZE
    shown = result.invoices[start : start + PAGE_SIZE]
    include_paid = result.query.include_paid
    who = result.query.identifier.display

    count = len(result.invoices)
    total = escape_mrkdwn(format_amount(result.total_open, result.currency, locale))
    if include_paid:
        paid = sum(1 for i in result.invoices if i.status is InvoiceStatus.PAID)
        counted = f"{plural(count, 'invoice')} ({paid:,} paid)"
        summary = f"*{counted}* · *{total}* open in total · paid invoices included"
        fallback_summary = f"{counted}, {total} open in total; paid invoices included."
    else:
        counted = plural(count, "open invoice")
        summary = f"*{counted}* · *{total}* in total · paid invoices not shown"
        fallback_summary = f"{counted}, {total} in total; paid invoices not shown."
    lines = [f":receipt: *Invoices for* {code(who)}", summary]
    fallback = f"Invoices for {escape_mrkdwn(truncate(who))}: {fallback_summary}"
    if page_count > 1:
        showing = f"Showing {start + 1:,}–{start + len(shown):,} of {count:,}"
        lines.append(f"{showing} · page {page + 1:,} of {page_count:,}")
        fallback += f" {showing}."

    blocks: list[Block] = [section("\n".join(lines), block_id=ids.BLOCK_SUMMARY), divider()]
    for invoice in shown:
        blocks.extend(_invoice_blocks(invoice, result.currency, locale))
        if details_value is not None and invoice.case_number is not None:
            details = button(LABEL_DETAILS, ids.ACTION_SHOW_DETAILS, value=details_value(invoice))
            blocks.append({"type": "actions", "elements": [details]})
    blocks.append(divider())
    blocks.append(_navigation(page, page_count, include_paid, button_value))
    blocks.append(footer(result.environment, result.reference))
    return message(fallback, blocks)


def _invoice_blocks(invoice: Invoice, currency: str, locale: str) -> list[Block]:
    status = STATUS_LEGEND[invoice.status]
    number = (
        f"*{escape_mrkdwn(truncate(invoice.invoice_number))}*"
        if invoice.invoice_number
        else "*Invoice without a number*"
    )
    amount = escape_mrkdwn(format_amount(invoice.open_amount, currency, locale))
    dated = (
        f"invoiced {slack_date(invoice.original_invoice_date)}"
        if invoice.original_invoice_date
        else "invoice date unknown"
    )
    case = (
        f"Ropo case {invoice.case_number}"
        if invoice.case_number is not None
        else "Ropo case number unknown"
    )
    # The emoji leads so a page reads as a column of colours, most urgent at the top.
    text = f"{status.emoji} {number} · {status.label}\n*{amount}* open · {dated} · {case}"
    link = invoice.my_ropo_link
    # Slack refuses the whole message over one overlong URL: better no button than no reply.
    accessory = (
        button(LABEL_MYROPO, ids.ACTION_OPEN_MYROPO, url=link)
        if link and len(link) <= MAX_URL
        else None
    )
    blocks = [section(text, accessory=accessory)]
    group = _group_line(invoice, currency, locale)
    if group:
        blocks.append(context(group))
    return blocks


def _group_line(invoice: Invoice, currency: str, locale: str) -> str | None:
    numbers = invoice.group_invoice_numbers
    total = invoice.group_total_payable
    if not (invoice.group_job or numbers or total is not None):
        return None
    line = f"Group job of {plural(len(numbers), 'invoice')}" if numbers else "Group job"
    if total is not None:
        line += f", *{escape_mrkdwn(format_amount(total, currency, locale))}* payable in total"
    if numbers:
        line += ": " + join_limited(
            numbers, budget=_GROUP_NUMBERS_BUDGET, max_items=_GROUP_NUMBERS_SHOWN
        )
    return line


def _navigation(page: int, page_count: int, include_paid: bool, button_value: ButtonValue) -> Block:
    elements: list[Block] = []
    if page > 0:
        elements.append(
            button(
                LABEL_PREVIOUS,
                ids.ACTION_PAGE_PREVIOUS,
                value=button_value(page - 1, include_paid),
            )
        )
    if page < page_count - 1:
        elements.append(
            button(LABEL_NEXT, ids.ACTION_PAGE_NEXT, value=button_value(page + 1, include_paid))
        )
    elements.append(
        button(
            LABEL_OPEN_ONLY if include_paid else LABEL_INCLUDE_PAID,
            ids.ACTION_TOGGLE_PAID,
            value=button_value(0, not include_paid),
        )
    )
    elements.append(
        button(LABEL_REFRESH, ids.ACTION_REFRESH, value=button_value(page, include_paid))
    )
    return {"type": "actions", "block_id": ids.BLOCK_NAVIGATION, "elements": elements}


def _empty_list(result: LookupResult, button_value: ButtonValue) -> Payload:
    who = result.query.identifier.display
    include_paid = result.query.include_paid
    if include_paid:
        text = (
            f":mag: *No invoices found for* {code(who)}\n"
            "Ropo One has nothing open for this customer, and nothing paid in the last "
            "2 years. If you expected invoices, check the identifier."
        )
        fallback = f"No invoices found for {escape_mrkdwn(truncate(who))}, open or paid."
    else:
        text = (
            f":mag: *No open invoices found for* {code(who)}\n"
            f"The customer may still have paid invoices: use *{LABEL_INCLUDE_PAID}* to see "
            f"them. {_TWO_YEARS}"
        )
        fallback = f"No open invoices found for {escape_mrkdwn(truncate(who))}."
    blocks = [
        section(text, block_id=ids.BLOCK_SUMMARY),
        _navigation(0, 1, include_paid, button_value),
        footer(result.environment, result.reference),
    ]
    return message(fallback, blocks)


# --- help, refusals, failures, expiry -----------------------------------------------------


def render_help(environment: RopoEnvironment, country: Country = Country.FI) -> Payload:
    """How to use ``/invoices``: usage, examples, the paid flags and the status legend.

    ``country`` decides which identity code the text names (ROPO_COUNTRY).
    """
    words = code_words(country)
    flags = ", ".join(code(f) for f in PAID_FLAGS[1:])
    legend = status_legend()
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(f"Look up invoices with {ids.COMMAND}")},
        section(
            f"*Usage*\n{code(words.usage)}\n"
            f"Give the customer's {words.full} or their customer number. "
            f"Only you see the answer, and a {words.short} is never shown in full: "
            f"replies show {code(words.masked)}."
        ),
        section(
            "*Examples*\n"
            f"• {code(f'{ids.COMMAND} {words.pattern}')}: open invoices of the person "
            f"with this {words.plain}, typed in full\n"
            f"• {code(f'{ids.COMMAND} {HELP_EXAMPLE_CUSTNUM} all')}: every invoice of "
            f"customer {HELP_EXAMPLE_CUSTNUM}, paid ones too"
        ),
        section(
            f"*Paid invoices*\nAdd {code(PAID_FLAGS[0])} (or {flags}) to include paid "
            f"invoices. {_TWO_YEARS}"
        ),
        section(f"*Statuses*\n{legend}"),
        footer(environment),
    ]
    return message(f"How to use {ids.COMMAND}: {escape_mrkdwn(words.usage)}", blocks)


def _foreign_heading() -> tuple[str, str]:
    """A valid code of another country: this app can't send it to its Ropo One."""
    return (
        "That identity code is from another country",
        "Look the customer up by their customer number instead, or ask a Slack admin "
        "whether your team has an app connected to that country's Ropo One.",
    )


_REFUSAL_HEADINGS: Mapping[RefusalReason, tuple[str, str]] = MappingProxyType(
    {
        RefusalReason.INVALID_HETU: (
            "That identity code is not valid",
            "Check the code with the customer: the date, the century sign and the last "
            f"character must all match. Then run {code(ids.COMMAND)} again.",
        ),
        RefusalReason.UNUSABLE: (
            "That cannot be looked up",
            "Look the customer up by their personal identity code (HETU) or their customer number.",
        ),
        RefusalReason.TOO_MANY_WORDS: (
            "Too many words for one lookup",
            "Give one HETU or customer number, optionally followed by "
            f"{code(PAID_FLAGS[0])} to include paid invoices.",
        ),
        RefusalReason.FOREIGN_CODE: _foreign_heading(),
        RefusalReason.INVALID_CODE: (  # only other countries' codes: for completeness
            "That identity code doesn't pass its check",
            f"Check the code with the customer. Then run {code(ids.COMMAND)} again.",
        ),
    }
)
"""Finland's headings; other countries' come from :func:`_refusal_heading`."""


def _refusal_heading(reason: RefusalReason, country: Country) -> tuple[str, str]:
    """The heading and advice of a refusal, in the words of ``country``'s identity code."""
    if country is Country.FI:
        return _REFUSAL_HEADINGS[reason]
    words = code_words(country)
    if reason is RefusalReason.INVALID_HETU or reason is RefusalReason.INVALID_CODE:
        return (
            f"That {words.short} is not valid",
            f"Check the code with the customer: {words.invalid_advice}. "
            f"Then run {code(ids.COMMAND)} again.",
        )
    if reason is RefusalReason.TOO_MANY_WORDS:
        return (
            _REFUSAL_HEADINGS[reason][0],
            f"Give one {words.short} or customer number, optionally followed by "
            f"{code(PAID_FLAGS[0])} to include paid invoices.",
        )
    if reason is RefusalReason.FOREIGN_CODE:
        return _foreign_heading()
    return (
        _REFUSAL_HEADINGS[reason][0],
        f"Look the customer up by their {words.full} or their customer number.",
    )


def render_refusal(
    refusal: Refusal, environment: RopoEnvironment, country: Country = Country.FI
) -> Payload:
    """Why the input cannot be looked up, and what to type instead."""
    heading, advice = _refusal_heading(refusal.reason, country)
    # The message promises no full HETU; redacting again costs nothing and keeps the promise.
    explanation = escape_mrkdwn(truncate(redact(refusal.message), _MAX_REFUSAL_CHARS))
    blocks = [
        section(f":warning: *{heading}*\n{explanation}\n{advice}", block_id=ids.BLOCK_SUMMARY),
        context(
            f"Usage: {code(code_words(country).usage)} · {code(f'{ids.COMMAND} help')} for examples"
        ),
        footer(environment),
    ]
    return message(f"{heading}. {explanation}", blocks)


_TRY_AGAIN_SOON = "Try again in a minute."
_TELL_ADMIN = "tell a Slack admin and quote the reference"
_UNEXPECTED_EMOJI = ":x:"
_UNEXPECTED_HEADING = "Something went wrong in the app"

# Per failure: emoji, heading, and what the agent can do ({who} is the coded display).
_FAILURES: Mapping[FailureKind, tuple[str, str, str]] = MappingProxyType(
    {
        FailureKind.UNAVAILABLE: (
            ":hourglass_flowing_sand:",
            "Ropo One is not answering",
            "The lookup for {who} could not reach Ropo One, or Ropo One is too busy to "
            f"answer. {_TRY_AGAIN_SOON}",
        ),
        FailureKind.TIMEOUT: (
            ":hourglass_flowing_sand:",
            "Ropo One is too slow right now",
            f"Ropo One did not answer the lookup for {{who}} in time. {_TRY_AGAIN_SOON}",
        ),
        FailureKind.AUTH: (
            ":no_entry:",
            "Ropo One rejected this app's credentials",
            "No lookup can work until the app's Ropo One credentials are fixed, so trying "
            f"again will not help. Please {_TELL_ADMIN}.",
        ),
        FailureKind.BAD_REQUEST: (
            ":warning:",
            "Ropo One could not process this lookup",
            "Ropo One refused the lookup for {who}. Check the identifier and try again; "
            f"if it looks right, {_TELL_ADMIN}.",
        ),
        FailureKind.PROTOCOL: (
            ":warning:",
            "Ropo One gave an unexpected answer",
            "The app could not read Ropo One's answer to the lookup for {who}. Try again "
            f"later; if it keeps happening, {_TELL_ADMIN}.",
        ),
        FailureKind.INTERNAL: (
            _UNEXPECTED_EMOJI,
            _UNEXPECTED_HEADING,
            "The lookup for {who} failed because of a problem in this app, not in Ropo "
            f"One. Try again; if it keeps happening, {_TELL_ADMIN}.",
        ),
        FailureKind.CIRCUIT_OPEN: (
            ":hourglass_flowing_sand:",
            "Ropo One is unavailable",
            "Ropo One has failed repeatedly, so the app is not asking it for now; it will "
            "try Ropo One again {when}. Look up {who} again after that.",
        ),
        FailureKind.AUDIT_FAILED: (
            ":no_entry:",
            "This lookup could not be recorded",
            "Every lookup is recorded in the audit trail, and the lookup for {who} could "
            f"not be, so its result is not shown. Please {_TELL_ADMIN}.",
        ),
    }
)


def render_failure(failure: LookupFailure) -> Payload:
    """A lookup that failed: what happened, what the agent can do, and the reference id."""
    emoji, heading, advice = _FAILURES[failure.kind]
    who = code(failure.query.identifier.display)
    when = retry_wording(failure.retry_in_s)
    reference = code(failure.reference)
    blocks = [
        section(
            f"{emoji} *{heading}*\n{advice.format(who=who, when=when)}\nReference: {reference}",
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(failure.environment),
    ]
    return message(f"{heading}. Reference: {escape_mrkdwn(failure.reference)}", blocks)


def retry_wording(seconds: float | None) -> str:
    """When the app will try Ropo One again, roughly: ``in about 30 seconds``."""
    if seconds is None or seconds < 5:
        return "in a few seconds"
    if seconds < 90:
        return f"in about {round(seconds / 5) * 5:.0f} seconds"
    return f"in about {round(seconds / 60):.0f} minutes"


def render_unexpected_error(reference: str, environment: RopoEnvironment) -> Payload:
    """An error no listener handled: apologise, suggest a retry, give the reference id."""
    blocks = [
        section(
            f"{_UNEXPECTED_EMOJI} *{_UNEXPECTED_HEADING}*\n"
            "Your request could not be completed because of a problem in this app. Try "
            f"again; if it keeps happening, {_TELL_ADMIN}.\nReference: {code(reference)}",
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    return message(f"{_UNEXPECTED_HEADING}. Reference: {escape_mrkdwn(reference)}", blocks)


def render_expired_context(environment: RopoEnvironment) -> Payload:
    """A button whose sealed context expired or was tampered with: start over."""
    text = "This reply has expired"
    blocks = [
        section(
            f":hourglass: *{text}*\nIts buttons no longer work. Run {code(ids.COMMAND)} "
            "again to look the customer up.",
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    return message(f"{text}, run {ids.COMMAND} again.", blocks)
