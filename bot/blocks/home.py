"""The App Home tab: what the app does, how to use it, the status legend, where data comes from.

A pure builder. Agents who may not look up invoices see that instead of the instructions,
and how to get access (``allowed=False``; deciding who is allowed is not this module's job).
"""

from __future__ import annotations

from bot import ids
from bot.blocks.common import (
    APP_NAME,
    SOURCE_LABELS,
    Block,
    View,
    button,
    code,
    context,
    divider,
    plain_text,
    section,
    status_legend,
)
from bot.blocks.modal import TITLE_CHOOSE, TITLE_LOOKUP
from bot.blocks.national import code_words
from bot.blocks.reply import ALL_WORD, HELP_EXAMPLE_CUSTNUM, HELP_WORD
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, _, current_language
from bot.national_ids import Country
from bot.settings import RopoEnvironment

LABEL_OPEN_LOOKUP = N_("Look up invoices")

_WHAT_IT_DOES = N_(
    "Look up a customer's invoices in *Ropo One* without leaving Slack: the status, the open "
    "amount, the invoice date, Ropo's case number and a link to MyRopo, where the customer "
    "can see and pay. *Only you see the answers*, nothing is posted to a channel, and an "
    "identity code is never shown in full: answers show {masked}."
)


def render_home(
    environment: RopoEnvironment,
    *,
    allowed: bool = True,
    access_message: str | None = None,
    country: Country = Country.FI,
    language_not_saved: bool = False,
) -> View:
    """The Home tab; ``allowed=False`` replaces the instructions with how to get access.

    ``access_message`` is the access policy's own explanation for this agent (mrkdwn, written
    by the app: which user groups, whom to ask); without one, the advice is generic.
    ``language_not_saved`` says that the language just chosen could not be remembered.
    """
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(f":receipt: {APP_NAME}")},
        section(_(_WHAT_IT_DOES).format(masked=code("131052-****"))),
    ]
    blocks.extend(_how_to_use(country) if allowed else _no_access(access_message))
    blocks.append(divider())
    blocks.append(_language_choice())
    if language_not_saved:
        blocks.append(
            context(
                _(
                    ":warning: Your choice could not be saved, so later answers may come in "
                    "another language. Try again in a minute."
                )
            )
        )
    blocks.append(
        context(
            _(":electric_plug: Connected to *{source}*").format(source=SOURCE_LABELS[environment])
        ),
    )
    return {"type": "home", "callback_id": ids.VIEW_HOME, "blocks": blocks}


def _how_to_use(country: Country) -> list[Block]:
    words = code_words(country)
    legend = status_legend()
    return [
        {
            "type": "actions",
            "block_id": ids.BLOCK_HOME_ACTIONS,
            "elements": [
                button(_(LABEL_OPEN_LOOKUP), ids.ACTION_OPEN_LOOKUP_FORM, style="primary"),
            ],
        },
        divider(),
        section(
            _(
                "*With the {command} command*, in any channel or direct message:\n"
                "• {by_code}: open invoices of the person with this {plain}, typed in full\n"
                "• {by_number}: open invoices of customer {custnum}\n"
                "• {with_paid}: paid invoices too (of the last 2 years)\n"
                "• {help}: usage and examples"
            ).format(
                command=ids.COMMAND,
                by_code=code(f"{ids.COMMAND} {words.pattern}"),
                plain=words.plain,
                by_number=code(f"{ids.COMMAND} {HELP_EXAMPLE_CUSTNUM}"),
                custnum=HELP_EXAMPLE_CUSTNUM,
                with_paid=code(f"{ids.COMMAND} {HELP_EXAMPLE_CUSTNUM} {_(ALL_WORD)}"),
                help=code(f"{ids.COMMAND} {_(HELP_WORD)}"),
            )
        ),
        section(
            _(
                "*From a customer's message*: choose *{shortcut}* in the message's "
                "*More actions* menu (⋮). The app finds the identity code or customer number in "
                "the message and shows the invoices in a window only you see."
            ).format(shortcut=_(TITLE_CHOOSE))
        ),
        section(
            _(
                "*From anywhere*: *{shortcut}* in the shortcuts menu (or the button above) "
                "opens a form to type the identifier into."
            ).format(shortcut=_(TITLE_LOOKUP))
        ),
        divider(),
        section(_("*What the statuses mean for the customer*\n{legend}").format(legend=legend)),
    ]


def _language_choice() -> Block:
    """The agent's own choice of language: every reply, form and this tab follow it."""
    options = [
        {"text": plain_text(LANGUAGE_NAMES[language]), "value": language} for language in LANGUAGES
    ]
    chosen = options[LANGUAGES.index(current_language())]
    return section(
        _("*Language*\nThe app answers you in this language, wherever you use it."),
        block_id=ids.BLOCK_HOME_LANGUAGE,
        accessory={
            "type": "static_select",
            "action_id": ids.ACTION_CHOOSE_LANGUAGE,
            "placeholder": plain_text(_("Choose a language")),
            "options": options,
            "initial_option": chosen,
        },
    )


def _no_access(access_message: str | None) -> list[Block]:
    advice = access_message or _(
        "Invoices are personal data, so only the agents who need them may look them up. "
        "If your work needs it, ask a Slack admin to add you to the agents allowed to look "
        "up invoices."
    )
    heading = _("You don't have access to look up invoices")
    return [section(f":no_entry: *{heading}*\n{advice}")]
