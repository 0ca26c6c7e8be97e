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
from bot.i18n import N_, _, number
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

LABEL_PREVIOUS = N_("Previous")
LABEL_NEXT = N_("Next")
LABEL_OPEN_ONLY = N_("Open invoices only")
LABEL_MYROPO = N_("Open in MyRopo")
LABEL_DETAILS = N_("Details")
LABEL_REFRESH = N_("Refresh")

# The HETU example is a pattern, not a sample code: no payload ever holds a full HETU, so
# a scan of everything sent to Slack (tests, or a runtime guard) needs no exceptions.
HELP_EXAMPLE_CUSTNUM = "C-1001"

# A group job may list hundreds of sub-invoices; a context element holds 3,000 characters.
_GROUP_NUMBERS_BUDGET = 1_500
_GROUP_NUMBERS_SHOWN = 20

ALL_WORD = N_("all")
"""The word for "paid invoices too" that help shows: each translation is one the command takes."""
HELP_WORD = N_("help")
"""The word for help that replies suggest: each translation is one the command takes."""

_MAX_REFUSAL_CHARS = 500  # our own sentence; the cap only keeps a bug from costing the reply

_TWO_YEARS = N_("Ropo One returns paid invoices only for 2 years after they were paid.")


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
        counted = _("{invoices} ({paid} paid)").format(
            invoices=plural(count, "{count} invoice", "{count} invoices"), paid=number(paid)
        )
        summary = _("*{counted}* · *{total}* open in total · paid invoices included").format(
            counted=counted, total=total
        )
        fallback_summary = _("{counted}, {total} open in total; paid invoices included.").format(
            counted=counted, total=total
        )
    else:
        counted = plural(count, "{count} open invoice", "{count} open invoices")
        summary = _("*{counted}* · *{total}* in total · paid invoices not shown").format(
            counted=counted, total=total
        )
        fallback_summary = _("{counted}, {total} in total; paid invoices not shown.").format(
            counted=counted, total=total
        )
    lines = [_(":receipt: *Invoices for* {who}").format(who=code(who)), summary]
    fallback = _("Invoices for {who}: {summary}").format(
        who=escape_mrkdwn(truncate(who)), summary=fallback_summary
    )
    if page_count > 1:
        showing = _("Showing {first}–{last} of {total}").format(
            first=number(start + 1), last=number(start + len(shown)), total=number(count)
        )
        pages = _("page {page} of {pages}").format(page=number(page + 1), pages=number(page_count))
        lines.append(f"{showing} · {pages}")
        fallback += f" {showing}."

    blocks: list[Block] = [section("\n".join(lines), block_id=ids.BLOCK_SUMMARY), divider()]
    for invoice in shown:
        blocks.extend(_invoice_blocks(invoice, result.currency, locale))
        if details_value is not None and invoice.case_number is not None:
            label = _(LABEL_DETAILS)
            details = button(label, ids.ACTION_SHOW_DETAILS, value=details_value(invoice))
            blocks.append({"type": "actions", "elements": [details]})
    blocks.append(divider())
    blocks.append(_navigation(page, page_count, include_paid, button_value))
    blocks.append(footer(result.environment, result.reference))
    return message(fallback, blocks)


def _invoice_blocks(invoice: Invoice, currency: str, locale: str) -> list[Block]:
    status = STATUS_LEGEND[invoice.status]
    number = (
        f"*{escape_mrkdwn(truncate(redact(invoice.invoice_number)))}*"
        if invoice.invoice_number
        else "*" + _("Invoice without a number") + "*"
    )
    amount = escape_mrkdwn(format_amount(invoice.open_amount, currency, locale))
    dated = (
        _("invoiced {date}").format(date=slack_date(invoice.original_invoice_date))
        if invoice.original_invoice_date
        else _("invoice date unknown")
    )
    case = (
        _("Ropo case {case_number}").format(case_number=invoice.case_number)
        if invoice.case_number is not None
        else _("Ropo case number unknown")
    )
    # The emoji leads so a page reads as a column of colours, most urgent at the top.
    open_amount = _("*{amount}* open").format(amount=amount)
    text = f"{status.emoji} {number} · {status.label}\n{open_amount} · {dated} · {case}"
    link = invoice.my_ropo_link
    # Slack refuses the whole message over one overlong URL: better no button than no reply.
    accessory = (
        button(_(LABEL_MYROPO), ids.ACTION_OPEN_MYROPO, url=link)
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
    line = (
        plural(len(numbers), "Group job of {count} invoice", "Group job of {count} invoices")
        if numbers
        else _("Group job")
    )
    if total is not None:
        amount = escape_mrkdwn(format_amount(total, currency, locale))
        line += _(", *{amount}* payable in total").format(amount=amount)
    if numbers:
        # Ropo's own text: a HETU typed into an invoice number must not reach Slack either.
        line += ": " + join_limited(
            map(redact, numbers), budget=_GROUP_NUMBERS_BUDGET, max_items=_GROUP_NUMBERS_SHOWN
        )
    return line


def _navigation(page: int, page_count: int, include_paid: bool, button_value: ButtonValue) -> Block:
    elements: list[Block] = []
    if page > 0:
        elements.append(
            button(
                _(LABEL_PREVIOUS),
                ids.ACTION_PAGE_PREVIOUS,
                value=button_value(page - 1, include_paid),
            )
        )
    if page < page_count - 1:
        elements.append(
            button(_(LABEL_NEXT), ids.ACTION_PAGE_NEXT, value=button_value(page + 1, include_paid))
        )
    elements.append(
        button(
            _(LABEL_OPEN_ONLY if include_paid else LABEL_INCLUDE_PAID),
            ids.ACTION_TOGGLE_PAID,
            value=button_value(0, not include_paid),
        )
    )
    elements.append(
        button(_(LABEL_REFRESH), ids.ACTION_REFRESH, value=button_value(page, include_paid))
    )
    return {"type": "actions", "block_id": ids.BLOCK_NAVIGATION, "elements": elements}


def _empty_list(result: LookupResult, button_value: ButtonValue) -> Payload:
    who = result.query.identifier.display
    include_paid = result.query.include_paid
    if include_paid:
        text = _(
            ":mag: *No invoices found for* {who}\n"
            "Ropo One has nothing open for this customer, and nothing paid in the last "
            "2 years. If you expected invoices, check the identifier."
        ).format(who=code(who))
        fallback = _("No invoices found for {who}, open or paid.").format(
            who=escape_mrkdwn(truncate(who))
        )
    else:
        text = _(
            ":mag: *No open invoices found for* {who}\n"
            "The customer may still have paid invoices: use *{include_paid}* to see "
            "them. {two_years}"
        ).format(who=code(who), include_paid=_(LABEL_INCLUDE_PAID), two_years=_(_TWO_YEARS))
        fallback = _("No open invoices found for {who}.").format(who=escape_mrkdwn(truncate(who)))
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
    flags = ", ".join(code(f) for f in PAID_FLAGS if f != _(ALL_WORD))
    legend = status_legend()
    blocks: list[Block] = [
        {
            "type": "header",
            "text": plain_text(_("Look up invoices with {command}").format(command=ids.COMMAND)),
        },
        section(
            _(
                "*Usage*\n{usage}\n"
                "Give the customer's {full} or their customer number. "
                "Only you see the answer, and a {short} is never shown in full: "
                "replies show {masked}."
            ).format(
                usage=code(words.usage),
                full=words.full,
                short=words.short,
                masked=code(words.masked),
            )
        ),
        section(
            _(
                "*Examples*\n"
                "• {by_code}: open invoices of the person with this {plain}, typed in full\n"
                "• {by_number}: every invoice of customer {custnum}, paid ones too"
            ).format(
                by_code=code(f"{ids.COMMAND} {words.pattern}"),
                plain=words.plain,
                by_number=code(f"{ids.COMMAND} {HELP_EXAMPLE_CUSTNUM} {_(ALL_WORD)}"),
                custnum=HELP_EXAMPLE_CUSTNUM,
            )
        ),
        section(
            _(
                "*Paid invoices*\nAdd {all} (or {others}) to include paid invoices. {two_years}"
            ).format(all=code(_(ALL_WORD)), others=flags, two_years=_(_TWO_YEARS))
        ),
        section(_("*Statuses*\n{legend}").format(legend=legend)),
        footer(environment),
    ]
    fallback = _("How to use {command}: {usage}").format(
        command=ids.COMMAND, usage=escape_mrkdwn(words.usage)
    )
    return message(fallback, blocks)


def _foreign_heading() -> tuple[str, str]:
    """A valid code of another country: this app can't send it to its Ropo One."""
    return (
        N_("That identity code is from another country"),
        N_(
            "Look the customer up by their customer number instead, or ask a Slack admin "
            "whether your team has an app connected to that country's Ropo One."
        ),
    )


# The advice may name {command} (the slash command) and {all} (the word for paid invoices).
_REFUSAL_HEADINGS: Mapping[RefusalReason, tuple[str, str]] = MappingProxyType(
    {
        RefusalReason.INVALID_HETU: (
            N_("That identity code is not valid"),
            N_(
                "Check the code with the customer: the date, the century sign and the last "
                "character must all match. Then run {command} again."
            ),
        ),
        RefusalReason.UNUSABLE: (
            N_("That cannot be looked up"),
            N_(
                "Look the customer up by their personal identity code (HETU) or their "
                "customer number."
            ),
        ),
        RefusalReason.TOO_MANY_WORDS: (
            N_("Too many words for one lookup"),
            N_(
                "Give one HETU or customer number, optionally followed by "
                "{all} to include paid invoices."
            ),
        ),
        RefusalReason.FOREIGN_CODE: _foreign_heading(),
        RefusalReason.INVALID_CODE: (  # only other countries' codes: for completeness
            N_("That identity code doesn't pass its check"),
            N_("Check the code with the customer. Then run {command} again."),
        ),
    }
)
"""Finland's headings (``msgid``s); other countries' come from :func:`_refusal_heading`."""


def _refusal_heading(reason: RefusalReason, country: Country) -> tuple[str, str]:
    """The heading and advice of a refusal, in the words of ``country``'s identity code."""
    command, all_word = code(ids.COMMAND), code(_(ALL_WORD))
    if country is Country.FI:
        heading, advice = _REFUSAL_HEADINGS[reason]
        return _(heading), _(advice).format(command=command, all=all_word)
    words = code_words(country)
    if reason is RefusalReason.INVALID_HETU or reason is RefusalReason.INVALID_CODE:
        return (
            _("That {code} is not valid").format(code=words.short),
            _("Check the code with the customer: {advice}. Then run {command} again.").format(
                advice=words.invalid_advice, command=command
            ),
        )
    if reason is RefusalReason.TOO_MANY_WORDS:
        return (
            _(_REFUSAL_HEADINGS[reason][0]),
            _(
                "Give one {code} or customer number, optionally followed by "
                "{all} to include paid invoices."
            ).format(code=words.short, all=all_word),
        )
    if reason is RefusalReason.FOREIGN_CODE:
        heading, advice = _foreign_heading()
        return _(heading), _(advice)
    return (
        _(_REFUSAL_HEADINGS[reason][0]),
        _("Look the customer up by their {code} or their customer number.").format(code=words.full),
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
            _("Usage: {usage} · {help} for examples").format(
                usage=code(code_words(country).usage),
                help=code(f"{ids.COMMAND} {_(HELP_WORD)}"),
            )
        ),
        footer(environment),
    ]
    return message(f"{heading}. {explanation}", blocks)


_UNEXPECTED_EMOJI = ":x:"
_UNEXPECTED_HEADING = N_("Something went wrong in the app")

# Per failure: emoji, heading, and what the agent can do ({who} is the coded display).
_FAILURES: Mapping[FailureKind, tuple[str, str, str]] = MappingProxyType(
    {
        FailureKind.UNAVAILABLE: (
            ":hourglass_flowing_sand:",
            N_("Ropo One is not answering"),
            N_(
                "The lookup for {who} could not reach Ropo One, or Ropo One is too busy to "
                "answer. Try again in a minute."
            ),
        ),
        FailureKind.TIMEOUT: (
            ":hourglass_flowing_sand:",
            N_("Ropo One is too slow right now"),
            N_("Ropo One did not answer the lookup for {who} in time. Try again in a minute."),
        ),
        FailureKind.AUTH: (
            ":no_entry:",
            N_("Ropo One rejected this app's credentials"),
            N_(
                "No lookup can work until the app's Ropo One credentials are fixed, so trying "
                "again will not help. Please tell a Slack admin and quote the reference."
            ),
        ),
        FailureKind.BAD_REQUEST: (
            ":warning:",
            N_("Ropo One could not process this lookup"),
            N_(
                "Ropo One refused the lookup for {who}. Check the identifier and try again; "
                "if it looks right, tell a Slack admin and quote the reference."
            ),
        ),
        FailureKind.PROTOCOL: (
            ":warning:",
            N_("Ropo One gave an unexpected answer"),
            N_(
                "The app could not read Ropo One's answer to the lookup for {who}. Try again "
                "later; if it keeps happening, tell a Slack admin and quote the reference."
            ),
        ),
        FailureKind.INTERNAL: (
            _UNEXPECTED_EMOJI,
            _UNEXPECTED_HEADING,
            N_(
                "The lookup for {who} failed because of a problem in this app, not in Ropo "
                "One. Try again; if it keeps happening, tell a Slack admin and quote the "
                "reference."
            ),
        ),
        FailureKind.CIRCUIT_OPEN: (
            ":hourglass_flowing_sand:",
            N_("Ropo One is unavailable"),
            N_(
                "Ropo One has failed repeatedly, so the app is not asking it for now; it will "
                "try Ropo One again {when}. Look up {who} again after that."
            ),
        ),
        FailureKind.AUDIT_FAILED: (
            ":no_entry:",
            N_("This lookup could not be recorded"),
            N_(
                "Every lookup is recorded in the audit trail, and the lookup for {who} could "
                "not be, so its result is not shown. Please tell a Slack admin and quote the "
                "reference."
            ),
        ),
    }
)


def render_failure(failure: LookupFailure) -> Payload:
    """A lookup that failed: what happened, what the agent can do, and the reference id."""
    emoji, heading, advice = _FAILURES[failure.kind]
    heading = _(heading)
    who = code(failure.query.identifier.display)
    when = retry_wording(failure.retry_in_s)
    reference = code(failure.reference)
    blocks = [
        section(
            f"{emoji} *{heading}*\n{_(advice).format(who=who, when=when)}\n"
            + _("Reference: {reference}").format(reference=reference),
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(failure.environment),
    ]
    fallback = _("{heading}. Reference: {reference}").format(
        heading=heading, reference=escape_mrkdwn(failure.reference)
    )
    return message(fallback, blocks)


def retry_wording(seconds: float | None) -> str:
    """When the app will try Ropo One again, roughly: ``in about 30 seconds``."""
    if seconds is None or seconds < 5:
        return _("in a few seconds")
    if seconds < 90:
        count = round(seconds / 5) * 5
        return plural(count, "in about {count} second", "in about {count} seconds")
    count = round(seconds / 60)
    return plural(count, "in about {count} minute", "in about {count} minutes")


def render_unexpected_error(reference: str, environment: RopoEnvironment) -> Payload:
    """An error no listener handled: apologise, suggest a retry, give the reference id."""
    heading = _(_UNEXPECTED_HEADING)
    blocks = [
        section(
            f"{_UNEXPECTED_EMOJI} *{heading}*\n"
            + _(
                "Your request could not be completed because of a problem in this app. Try "
                "again; if it keeps happening, tell a Slack admin and quote the reference."
            )
            + "\n"
            + _("Reference: {reference}").format(reference=code(reference)),
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    fallback = _("{heading}. Reference: {reference}").format(
        heading=heading, reference=escape_mrkdwn(reference)
    )
    return message(fallback, blocks)


def render_expired_context(environment: RopoEnvironment) -> Payload:
    """A button whose sealed context expired or was tampered with: start over."""
    text = _("This reply has expired")
    blocks = [
        section(
            f":hourglass: *{text}*\n"
            + _("Its buttons no longer work. Run {command} again to look the customer up.").format(
                command=code(ids.COMMAND)
            ),
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    return message(
        _("{heading}, run {command} again.").format(heading=text, command=ids.COMMAND), blocks
    )
