"""Money as the agent's locale writes it (``412,80 €``, ``€412.80``), through Babel's CLDR data.

Every reply formats a dozen amounts, and Babel's ``format_currency`` looks the locale's
pattern, symbols and the currency's digits up again for each one. So they are looked up once
per locale and currency (:class:`MoneyFormat`) and applied the way Babel's
``NumberPattern.apply`` applies them. A pattern this shortcut does not cover (scientific,
significant digits, per-mille, the currency's plural name) is left to Babel itself; the tests
hold the two to the same output for every locale the app speaks.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)

from bot.i18n import LANGUAGES, N_, _, current_locale, long_date, number, use_language

UNKNOWN = N_("unknown")
"""A ``msgid``: shown translated where an amount or a date is missing."""

_QUOTED = re.compile(r"'([^']*)'")


def format_amount(amount: Decimal | None, currency: str, locale: str) -> str:
    """``412,80 €``-style money in ``locale``'s conventions, or ``unknown``."""
    if amount is None or not amount.is_finite():
        return _(UNKNOWN)
    return money_format(locale, currency).format(amount)


def load_formats(currency: str, territory: str | None) -> None:
    """Load each language's CLDR data and catalogue at start-up, not in a rush's first replies.

    Babel reads a locale's data from disk the first time it is used, and gettext its catalogue:
    milliseconds each, spent while the first hundreds of agents wait.
    """
    for language in LANGUAGES:
        with use_language(language, territory):
            _(UNKNOWN)
            format_amount(Decimal(0), currency, current_locale())
            long_date(date(2000, 1, 1))
            number(0)


@functools.lru_cache(maxsize=16)
def babel_locale(name: str) -> Locale:
    """The parsed locale; parsing loads CLDR data, far slower than formatting with it."""
    return Locale.parse(name)


@functools.lru_cache(maxsize=64)
def money_format(locale: str, currency: str) -> MoneyFormat:
    """How ``locale`` writes amounts of ``currency``, looked up once."""
    return MoneyFormat(babel_locale(locale), currency)


class MoneyFormat:
    """Babel's standard currency format for one locale and currency, its lookups done once."""

    def __init__(self, locale: Locale, currency: str) -> None:
        self._locale = locale
        self._currency = currency
        pattern: NumberPattern = locale.currency_formats["standard"]
        self._pattern = pattern
        self._digits = get_currency_precision(currency)
        self._quantum = Decimal(1).scaleb(-self._digits)
        self._decimal = get_decimal_symbol(locale)
        self._group = get_group_symbol(locale)
        self._grouping = pattern.grouping
        self._min_int = pattern.int_prec[0]
        symbol = get_currency_symbol(currency, locale)

        def affix(text: str) -> str:
            text = text.replace("¤¤", currency.upper()).replace("¤", symbol)
            return _QUOTED.sub(lambda m: m.group(1) or "'", text)

        self._prefix = tuple(affix(p) for p in pattern.prefix)
        self._suffix = tuple(affix(s) for s in pattern.suffix)
        affixes = "".join(pattern.prefix + pattern.suffix)
        self._babel_only = bool(
            pattern.exp_prec
            or pattern.scale
            or "@" in pattern.pattern
            or "¤¤¤" in affixes  # the currency's name, in the plural the amount takes
            or not pattern.number_pattern
            or "'" in self._group + self._decimal  # Babel unquotes the whole text, digits too
        )

    def format(self, amount: Decimal) -> str:
        """``amount`` (finite) as Babel's ``format_currency`` writes it."""
        if self._babel_only:
            return format_currency(amount, self._currency, locale=self._locale)
        negative = int(amount.is_signed())
        rounded = abs(amount).normalize().quantize(self._quantum)
        whole, _, fraction = f"{rounded:f}".partition(".")
        number = self._grouped(whole)
        if self._digits:
            number += self._decimal + (fraction or "0").ljust(self._digits, "0")
        return self._prefix[negative] + number + self._suffix[negative]

    def _grouped(self, digits: str) -> str:
        digits = digits.rjust(self._min_int, "0")
        size, rest = self._grouping
        groups = ""
        while len(digits) > size:
            groups = self._group + digits[-size:] + groups
            digits = digits[:-size]
            size = rest
        return digits + groups
