"""One invoice's details modal: "Loading…", the details, or why they cannot be shown.

Pure builders. The modal shows what the agent needs on the phone (status, due date, the
payment reference to read out or copy, invoice number and date, the next step) and nothing
else Ropo One sends about the customer: no address, no identity code. A failure reads as
the lookup's own failure texts. ``pushed``: the modal sits over the result modal, so its
close button goes back to the list.
"""

from __future__ import annotations

from bot import ids
from bot.blocks.common import (
    MAX_URL,
    STATUS_LEGEND,
    UNKNOWN,
    Block,
    View,
    button,
    escape_mrkdwn,
    footer,
    section,
    slack_date,
    truncate,
)
from bot.blocks.modal import LABEL_CLOSE, modal
from bot.blocks.reply import LABEL_MYROPO, render_failure
from bot.details import DetailsResult
from bot.i18n import N_, _
from bot.lookup import LookupFailure
from bot.settings import RopoEnvironment

# The title is at most 24 characters in every language (Slack's limit for a modal's title).
TITLE_DETAILS = N_("Invoice details")
LABEL_BACK = N_("Back")
LABEL_PAYMENT_REFERENCE = N_("Payment reference")

_MAX_REFERENCE_CHARS = 200  # a payment reference is ~20 digits; the cap only guards the modal


def render_details_loading(environment: RopoEnvironment, *, pushed: bool) -> View:
    """What the details modal shows while Ropo One is asked."""
    blocks = [
        section(
            ":hourglass_flowing_sand: "
            + _(
                "*Loading the invoice's details…*\n"
                "Ropo One is being asked; they appear here in a moment."
            ),
            block_id=ids.BLOCK_LOADING,
        ),
        footer(environment),
    ]
    return _details_modal(blocks, pushed=pushed)


def render_details_view(
    outcome: DetailsResult | LookupFailure, *, my_ropo_link: str | None, pushed: bool
) -> View:
    """One invoice's details, Ropo One's "no such invoice", or a failure, in the modal."""
    if isinstance(outcome, LookupFailure):
        return _details_modal(list(render_failure(outcome)["blocks"]), pushed=pushed)
    details = outcome.details
    if details is None:
        blocks: list[Block] = [
            section(
                ":mag: "
                + _(
                    "*Ropo One no longer has this invoice*\n"
                    "Ropo One found no invoice with case number {case_number}. It may have "
                    "been withdrawn: look the customer up again to see their invoices now."
                ).format(case_number=outcome.job_id),
                block_id=ids.BLOCK_DETAILS,
            ),
            footer(outcome.environment, outcome.reference),
        ]
        return _details_modal(blocks, pushed=pushed)

    number = details.invoice_number
    heading = (
        "*" + _("Invoice {number}").format(number=escape_mrkdwn(truncate(number))) + "*"
        if number
        else "*" + _("Invoice") + "*"
    )
    status = _status_name(details.status_text) if details.status_text else _(UNKNOWN)
    fields = [
        _field(_("Status"), status),
        _field(_("Due date"), slack_date(details.due_date)),
        _field(_("Invoice number"), escape_mrkdwn(truncate(number)) if number else _(UNKNOWN)),
        _field(_("Invoice date"), slack_date(details.original_invoice_date)),
        _field(_("Next step"), _next_step(outcome)),
        _field(_("Ropo case"), str(outcome.job_id)),
    ]
    blocks = [
        {
            "type": "section",
            "block_id": ids.BLOCK_DETAILS,
            "text": {"type": "mrkdwn", "text": f":receipt: {heading}"},
            "fields": [{"type": "mrkdwn", "text": text} for text in fields],
        },
        _payment_reference(details.payment_reference),
    ]
    link = my_ropo_link
    # The list's rule: a link too long for Slack is no button rather than no modal.
    if link and link.startswith("https://") and len(link) <= MAX_URL:
        blocks.append(
            {
                "type": "actions",
                "block_id": ids.BLOCK_DETAILS_ACTIONS,
                "elements": [button(_(LABEL_MYROPO), ids.ACTION_OPEN_MYROPO, url=link)],
            }
        )
    blocks.append(footer(outcome.environment, outcome.reference))
    return _details_modal(blocks, pushed=pushed)


def _field(label: str, value: str) -> str:
    return f"*{label}*\n{value}"


# Ropo One names statuses itself ("Invoicing", "Reminder"); one that is a status MyRopo
# shows is given in the agent's language, anything else as Ropo One wrote it.
_STATUS_NAMES = {info.label_source.casefold(): info.label_source for info in STATUS_LEGEND.values()}


def _status_name(text: str) -> str:
    """Ropo One's status text, in the agent's language when it is a status we know."""
    known = _STATUS_NAMES.get(text.casefold())
    return _(known) if known else escape_mrkdwn(truncate(text))


def _next_step(outcome: DetailsResult) -> str:
    details = outcome.details
    if details is None or not details.has_next_step:
        return _("None scheduled")
    step = _status_name(details.next_status_text or "")
    if details.next_status_date is None:
        return step
    return _("{step} on {date}").format(step=step, date=slack_date(details.next_status_date))


def _payment_reference(reference: str | None) -> Block:
    """The reference as a code block, which Slack lets the agent copy in one click."""
    if not reference:
        return section(_field(_(LABEL_PAYMENT_REFERENCE), _(UNKNOWN)))
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": _(LABEL_PAYMENT_REFERENCE), "style": {"bold": True}}
                ],
            },
            {
                "type": "rich_text_preformatted",
                "elements": [{"type": "text", "text": reference[:_MAX_REFERENCE_CHARS]}],
            },
        ],
    }


def _details_modal(blocks: list[Block], *, pushed: bool) -> View:
    close = LABEL_BACK if pushed else LABEL_CLOSE  # msgids: modal() translates them
    return modal(TITLE_DETAILS, blocks, callback_id=ids.VIEW_DETAILS, close=close)
