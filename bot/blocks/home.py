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
from bot.blocks.reply import HELP_EXAMPLE_CUSTNUM
from bot.national_ids import Country
from bot.query import PAID_FLAGS
from bot.settings import RopoEnvironment

LABEL_OPEN_LOOKUP = "Look up invoices"

_WHAT_IT_DOES = (
    "Look up a customer's invoices in *Ropo One* without leaving Slack: the status, the open "
    "amount, the invoice date, Ropo's case number and a link to MyRopo, where the customer "
    "can see and pay. *Only you see the answers*, nothing is posted to a channel, and an "
    f"identity code is never shown in full: answers show {code('131052-****')}."
)


def render_home(
    environment: RopoEnvironment,
    *,
    allowed: bool = True,
    access_message: str | None = None,
    country: Country = Country.FI,
) -> View:
    """The Home tab; ``allowed=False`` replaces the instructions with how to get access.

    ``access_message`` is the access policy's own explanation for this agent (mrkdwn, written
    by the app: which user groups, whom to ask); without one, the advice is generic.
    """
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(f":receipt: {APP_NAME}")},
        section(_WHAT_IT_DOES),
    ]
    blocks.extend(_how_to_use(country) if allowed else _no_access(access_message))
    blocks.append(divider())
    blocks.append(
        context(f":electric_plug: Connected to *{SOURCE_LABELS[environment]}*"),
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
                button(LABEL_OPEN_LOOKUP, ids.ACTION_OPEN_LOOKUP_FORM, style="primary"),
            ],
        },
        divider(),
        section(
            f"*With the {ids.COMMAND} command*, in any channel or direct message:\n"
            f"• {code(f'{ids.COMMAND} {words.pattern}')}: open invoices of the person "
            f"with this {words.plain}, typed in full\n"
            f"• {code(f'{ids.COMMAND} {HELP_EXAMPLE_CUSTNUM}')}: open invoices of customer "
            f"{HELP_EXAMPLE_CUSTNUM}\n"
            f"• {code(f'{ids.COMMAND} {HELP_EXAMPLE_CUSTNUM} {PAID_FLAGS[0]}')}: paid "
            "invoices too (of the last 2 years)\n"
            f"• {code(f'{ids.COMMAND} help')}: usage and examples"
        ),
        section(
            f"*From a customer's message*: choose *{TITLE_CHOOSE}* in the message's "
            "*More actions* menu (⋮). The app finds the identity code or customer number in "
            "the message and shows the invoices in a window only you see."
        ),
        section(
            f"*From anywhere*: *{TITLE_LOOKUP}* in the shortcuts menu (or the button above) "
            "opens a form to type the identifier into."
        ),
        divider(),
        section(f"*What the statuses mean for the customer*\n{legend}"),
    ]


def _no_access(access_message: str | None) -> list[Block]:
    advice = access_message or (
        "Invoices are personal data, so only the agents who need them may look them up. "
        "If your work needs it, ask a Slack admin to add you to the agents allowed to look "
        "up invoices."
    )
    return [section(f":no_entry: *You don't have access to look up invoices*\n{advice}")]
