"""Money as the agent's locale writes it (``412,80 €``, ``€412.80``), through Babel's CLDR data.

Babel's ``format_currency`` looks up the locale's pattern and symbols, and even the
currency's plural name, on every call: about 11 µs an amount, and a reply shows a dozen.
:class:`MoneyFormat` asks Babel once per locale and currency and then does what
``NumberPattern.apply`` does for an ordinary currency pattern, in about a tenth of the time;
a pattern with anything else in it (scientific notation, significant digits, quoted text,
the currency's name or code) is left to Babel. ``tests/blocks/test_money.py`` checks that
both always agree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_quantum,
    get_decimal_symbol,
    get_group_symbol,
)

from bot.i18n import N_, _

UNKNOWN = N_("unknown")
"""A ``msgid``: shown translated where an amount or a date is missing."""


@dataclass(frozen=True, slots=True)
class MoneyFormat:
    """One locale's standard currency pattern for one currency, with its symbols filled in."""

    prefixes: tuple[str, str]  # (for a positive amount, for a negative one)
    suffixes: tuple[str, str]
    quantum: Decimal  # the currency's smallest unit: Decimal("0.01") for the euro
    min_digits: int  # integer digits always shown ("0,50 €")
    grouping: tuple[int, int]  # the first group's size, then every other's (3, 3; or 3, 2)
    group_symbol: str
    decimal_symbol: str

    def __call__(self, amount: Decimal) -> str:
        """``amount``, rounded half-even to the currency's unit as Babel rounds it."""
        negative = int(amount.is_signed())
        whole, _, fraction = f"{abs(amount).normalize().quantize(self.quantum):f}".partition(".")
        number = self._grouped(whole.zfill(self.min_digits))
        if fraction:
            number += self.decimal_symbol + fraction
        return self.prefixes[negative] + number + self.suffixes[negative]

    def _grouped(self, digits: str) -> str:
        size, groups = self.grouping[0], []
        while len(digits) > size:
            groups.append(digits[-size:])
            digits = digits[:-size]
            size = self.grouping[1]
        return self.group_symbol.join([digits, *reversed(groups)])


def format_amount(amount: Decimal | None, currency: str, locale: str) -> str:
    """``412,80 €``-style money in ``locale``'s conventions, or ``unknown``."""
    if amount is None or not amount.is_finite():
        return _(UNKNOWN)
    money = money_format(currency, locale)
    if money is None:
        return format_currency(amount, currency, locale=babel_locale(locale))
    return money(amount)


@functools.lru_cache(maxsize=16)
def babel_locale(name: str) -> Locale:
    """The parsed locale; parsing loads CLDR data, far slower than formatting with it."""
    return Locale.parse(name)


@functools.lru_cache(maxsize=64)
def money_format(currency: str, locale: str) -> MoneyFormat | None:
    """The fast format for ``currency`` in ``locale``, or None where Babel must do the work."""
    babel = babel_locale(locale)
    pattern = babel.currency_formats["standard"]
    affixes = "".join(pattern.prefix + pattern.suffix)
    if (
        pattern.exp_prec
        or pattern.scale
        or "@" in pattern.pattern
        or "'" in affixes
        or "¤¤" in affixes
        or not pattern.grouping[0]
        or not pattern.grouping[1]
    ):
        return None
    symbol = get_currency_symbol(currency, babel)
    group, decimal = get_group_symbol(babel), get_decimal_symbol(babel)
    if "'" in symbol + group + decimal:  # Babel would take it for a quote to remove
        return None
    return MoneyFormat(
        prefixes=(pattern.prefix[0].replace("¤", symbol), pattern.prefix[1].replace("¤", symbol)),
        suffixes=(pattern.suffix[0].replace("¤", symbol), pattern.suffix[1].replace("¤", symbol)),
        quantum=get_decimal_quantum(get_currency_precision(currency)),
        min_digits=pattern.int_prec[0],
        grouping=pattern.grouping,
        group_symbol=group,
        decimal_symbol=decimal,
    )
