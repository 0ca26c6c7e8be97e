"""Money as the agent's locale writes it (``412,80 €``, ``€412.80``), through Babel's CLDR data.

Babel's ``format_currency`` does the work; what costs is parsing the locale (loading its CLDR
data), so the parsed :class:`~babel.Locale` is kept, once per locale name.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency

from bot.i18n import N_, _

UNKNOWN = N_("unknown")
"""A ``msgid``: shown translated where an amount or a date is missing."""


def format_amount(amount: Decimal | None, currency: str, locale: str) -> str:
    """``412,80 €``-style money in ``locale``'s conventions, or ``unknown``."""
    if amount is None or not amount.is_finite():
        return _(UNKNOWN)
    return format_currency(amount, currency, locale=babel_locale(locale))


@functools.lru_cache(maxsize=16)
def babel_locale(name: str) -> Locale:
    """The parsed locale; parsing loads CLDR data, far slower than formatting with it."""
    return Locale.parse(name)
