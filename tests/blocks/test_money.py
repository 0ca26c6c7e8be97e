"""Money formatting: each locale's own conventions, through Babel, with the locale parsed once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.blocks.money import UNKNOWN, babel_locale, format_amount

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("412.8", "EUR", "fi_FI", f"412,80{NBSP}€"),
        ("1234567.891", "EUR", "sv_SE", f"1{NBSP}234{NBSP}567,89{NBSP}€"),
        ("1234.5", "NOK", "nb_NO", f"1{NBSP}234,50{NBSP}kr"),
        ("1234.5", "EUR", "en_US", "€1,234.50"),
        ("1E+5", "EUR", "en_US", "€100,000.00"),
        # Rounded half to even, to the currency's own unit: the yen has no cents.
        ("0.005", "EUR", "fi_FI", f"0,00{NBSP}€"),
        ("0.015", "EUR", "fi_FI", f"0,02{NBSP}€"),
        ("1234.5", "JPY", "en_US", "¥1,234"),
        # Indian grouping: three digits, then twos.
        ("12345678.9", "INR", "en_IN", "₹1,23,45,678.90"),
    ],
)
def test_amounts_are_written_as_the_locale_writes_money(
    amount: str, currency: str, locale: str, expected: str
) -> None:
    assert format_amount(Decimal(amount), currency, locale) == expected


@pytest.mark.parametrize("amount", [None, Decimal("NaN"), Decimal("Infinity"), Decimal("-Inf")])
def test_an_amount_that_is_not_a_number_is_unknown(amount: Decimal | None) -> None:
    assert format_amount(amount, "EUR", "fi_FI") == UNKNOWN


def test_a_locale_is_parsed_once_and_reused() -> None:
    babel_locale.cache_clear()
    for amount in ("1", "2", "3"):
        format_amount(Decimal(amount), "EUR", "fi_FI")
    assert babel_locale.cache_info().misses == 1
    assert babel_locale.cache_info().hits == 2
