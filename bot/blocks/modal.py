"""The lookup modal: the form, "Looking up…", the result, and the message shortcut's chooser.

Pure builders: typed values in, Slack view payloads out. A result view is the ``/invoices``
reply's blocks in a modal, so the list, paging and toggle read the same on every surface.
An identifier appears only as :attr:`~bot.query.Identifier.display` (a HETU masked); a
chooser button's value comes from the caller's ``button_value``, which seals the context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from bot import ids
from bot.blocks.common import (
    LABEL_INCLUDE_PAID,
    Block,
    Payload,
    View,
    button,
    code,
    context,
    escape_mrkdwn,
    footer,
    message,
    plain_text,
    plural,
    section,
)
from bot.blocks.national import code_words
from bot.blocks.reply import HELP_EXAMPLE_CUSTNUM, render_expired_context
from bot.i18n import N_, _, number
from bot.national_ids import Country
from bot.query import MAX_INPUT_CHARS, Identifier, IdentifierKind
from bot.settings import RopoEnvironment

# Titles are at most 24 characters in every language (Slack's limit for a modal's title).
TITLE_LOOKUP = N_("Look up invoices")
TITLE_RESULT = N_("Invoices")
TITLE_CHOOSE = N_("Find invoices")
LABEL_SUBMIT = N_("Look up")
LABEL_CANCEL = N_("Cancel")
LABEL_CLOSE = N_("Close")
LABEL_LOOKUP_ANOTHER = N_("Look up another")
LABEL_CHOOSE = N_("Look up")
LABEL_OPTIONS = N_("Options")

INCLUDE_PAID_VALUE = "include_paid"
"""The "include paid invoices" checkbox option's value, read back by :func:`read_lookup_form`."""

MAX_CHOICES = 20
"""Identifiers offered by the chooser; a message naming more is rare and the rest can be typed."""

NOTHING_FOUND_NOTICE = N_(
    ":mag: No identity code or customer number was found in that message. "
    "Type the customer's identifier here instead."
)
"""A ``msgid``: :func:`render_lookup_form` translates the notice it is given."""

_KIND_LABELS: Mapping[IdentifierKind, str] = MappingProxyType(
    {
        IdentifierKind.HETU: N_("identity code"),
        IdentifierKind.PERSONNUMMER: N_("personnummer"),
        IdentifierKind.FODSELSNUMMER: N_("fødselsnummer"),
        IdentifierKind.CUSTOMER_NUMBER: N_("customer number"),
    }
)


def modal(
    title: str,
    blocks: list[Block],
    *,
    callback_id: str,
    submit: str | None = None,
    close: str = LABEL_CLOSE,
) -> View:
    """A modal view; ``title`` (a ``msgid``, as the labels) must fit Slack's 24 characters."""
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain_text(_(title)),
        "close": plain_text(_(close)),
        "blocks": blocks,
    }
    if submit is not None:
        view["submit"] = plain_text(_(submit))
    return view


def lookup_another_button() -> Block:
    """The button that brings up the lookup form (in the modal, or in a new one)."""
    return button(_(LABEL_LOOKUP_ANOTHER), ids.ACTION_LOOKUP_ANOTHER)


def with_lookup_another(reply: Payload) -> Payload:
    """``reply`` with "Look up another" after its navigation buttons; ``reply`` is not changed.

    A reply without navigation (a failure, an expired button) gets the button in a
    navigation block of its own, above the footer.
    """
    blocks = list(reply["blocks"])
    for index, block in enumerate(blocks):
        if block.get("block_id") == ids.BLOCK_NAVIGATION:
            blocks[index] = {**block, "elements": [*block["elements"], lookup_another_button()]}
            return {**reply, "blocks": blocks}
    has_footer = bool(blocks) and blocks[-1].get("block_id") == ids.BLOCK_FOOTER
    at = len(blocks) - 1 if has_footer else len(blocks)
    navigation = {
        "type": "actions",
        "block_id": ids.BLOCK_NAVIGATION,
        "elements": [lookup_another_button()],
    }
    blocks.insert(at, navigation)
    return {**reply, "blocks": blocks}


# --- the form -----------------------------------------------------------------------------


def render_lookup_form(
    environment: RopoEnvironment, *, notice: str | None = None, country: Country = Country.FI
) -> View:
    """The lookup form: identifier, "include paid invoices", submit; ``notice`` above them.

    ``country`` decides which identity code the label and placeholder name.
    """
    words = code_words(country)
    blocks: list[Block] = []
    if notice is not None:
        blocks.append(section(_(notice), block_id=ids.BLOCK_LOOKUP_NOTICE))
    blocks.append(
        {
            "type": "input",
            "block_id": ids.BLOCK_LOOKUP_IDENTIFIER,
            "label": plain_text(words.field_label),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.ACTION_LOOKUP_IDENTIFIER,
                "max_length": MAX_INPUT_CHARS,
                "placeholder": plain_text(
                    _("{pattern} or {custnum}").format(
                        pattern=words.pattern, custnum=HELP_EXAMPLE_CUSTNUM
                    )
                ),
            },
            "hint": plain_text(
                _(
                    "Type the identity code in full; the answer shows it masked, and only you "
                    "see it."
                )
            ),
        }
    )
    blocks.append(
        {
            "type": "input",
            "block_id": ids.BLOCK_LOOKUP_OPTIONS,
            "optional": True,
            "label": plain_text(_(LABEL_OPTIONS)),
            "element": {
                "type": "checkboxes",
                "action_id": ids.ACTION_LOOKUP_INCLUDE_PAID,
                "options": [
                    {
                        "text": plain_text(_(LABEL_INCLUDE_PAID)),
                        "value": INCLUDE_PAID_VALUE,
                        "description": plain_text(
                            _("Ropo One returns paid invoices for 2 years after they were paid.")
                        ),
                    }
                ],
            },
        }
    )
    blocks.append(footer(environment))
    return modal(
        TITLE_LOOKUP,
        blocks,
        callback_id=ids.VIEW_LOOKUP,
        submit=LABEL_SUBMIT,
        close=LABEL_CANCEL,
    )


def read_lookup_form(values: Mapping[str, Any]) -> tuple[str, bool]:
    """What the agent submitted in the form (``view.state.values``): the text, include paid."""
    identifier = values.get(ids.BLOCK_LOOKUP_IDENTIFIER, {}).get(ids.ACTION_LOOKUP_IDENTIFIER, {})
    options = values.get(ids.BLOCK_LOOKUP_OPTIONS, {}).get(ids.ACTION_LOOKUP_INCLUDE_PAID, {})
    selected = options.get("selected_options") or []
    include_paid = any(option.get("value") == INCLUDE_PAID_VALUE for option in selected)
    return identifier.get("value") or "", include_paid


# --- the result ---------------------------------------------------------------------------


def render_loading_view(identifier: Identifier, environment: RopoEnvironment) -> View:
    """What the modal shows while Ropo One is asked: whose invoices are on their way."""
    blocks = [
        section(
            _(
                ":hourglass_flowing_sand: *Looking up invoices for* {who}…\n"
                "Ropo One is being asked; the invoices appear here in a moment."
            ).format(who=code(identifier.display)),
            block_id=ids.BLOCK_LOADING,
        ),
        footer(environment),
    ]
    return modal(TITLE_RESULT, blocks, callback_id=ids.VIEW_RESULT)


def render_result_view(reply: Payload) -> View:
    """A reply (an invoice list, a failure, ...) shown in the modal instead of a message."""
    return modal(TITLE_RESULT, list(reply["blocks"]), callback_id=ids.VIEW_RESULT)


def render_expired_view(environment: RopoEnvironment) -> View:
    """A modal button whose sealed context expired or was tampered with: start over here."""
    return render_result_view(with_lookup_another(render_expired_context(environment)))


# --- the message shortcut -----------------------------------------------------------------


def render_choose_identifier(
    identifiers: Sequence[Identifier],
    *,
    button_value: Callable[[Identifier], str],
    environment: RopoEnvironment,
) -> View:
    """The message names several customers: one "Look up" button each, masked, in order."""
    shown = identifiers[:MAX_CHOICES]
    blocks: list[Block] = [
        section(
            plural(
                len(identifiers),
                "*That message mentions {count} customer.* Whose invoices do you want to see?",
                "*That message mentions {count} customers.* Whose invoices do you want to see?",
            ),
            block_id=ids.BLOCK_SUMMARY,
        )
    ]
    blocks.extend(
        section(
            f"{code(identifier.display)} · {_(_KIND_LABELS[identifier.kind])}",
            accessory=button(
                _(LABEL_CHOOSE), ids.ACTION_CHOOSE_IDENTIFIER, value=button_value(identifier)
            ),
        )
        for identifier in shown
    )
    if len(identifiers) > len(shown):
        left = len(identifiers) - len(shown)
        blocks.append(
            context(
                _("…and {count} more, not shown: use *{button}* to type one.").format(
                    count=number(left), button=_(LABEL_LOOKUP_ANOTHER)
                )
            )
        )
    blocks.append(
        {"type": "actions", "block_id": ids.BLOCK_NAVIGATION, "elements": [lookup_another_button()]}
    )
    blocks.append(footer(environment))
    return modal(TITLE_CHOOSE, blocks, callback_id=ids.VIEW_CHOOSE_IDENTIFIER)


def render_window_not_opened(
    environment: RopoEnvironment, country: Country = Country.FI
) -> Payload:
    """Slack would not open the modal (its trigger expired): say so, and what to do instead."""
    text = _("Slack did not open the lookup window in time")
    usage = _("{command} <{code} or customer number>").format(
        command=ids.COMMAND, code=code_words(country).short
    )
    blocks = [
        section(
            f":warning: *{text}*\n" + _("Try again, or type {usage}.").format(usage=code(usage)),
            block_id=ids.BLOCK_SUMMARY,
        ),
        footer(environment),
    ]
    fallback = _("{heading}. Try again, or use {command}.").format(
        heading=escape_mrkdwn(text), command=ids.COMMAND
    )
    return message(fallback, blocks)
