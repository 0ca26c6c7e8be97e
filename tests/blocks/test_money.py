"""Money formatting: each locale's own conventions, from Babel's CLDR data, looked up once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import localedata
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.money import UNKNOWN, babel_locale, format_amount, load_formats, money_format

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


def test_a_locale_and_currency_are_looked_up_once_and_reused() -> None:
    babel_locale.cache_clear()
    money_format.cache_clear()
    for amount in ("1", "2", "3"):
        format_amount(Decimal(amount), "EUR", "fi_FI")
    assert money_format.cache_info().misses == 1
    assert money_format.cache_info().hits == 2
    assert babel_locale.cache_info().misses == 1


# Every language the app speaks in every Nordic country it serves, and locales whose
# patterns differ in each way the shortcut handles: symbol first, Indian grouping, another
# minus sign, no fraction digits. de_CH groups with an apostrophe, which Babel's own
# unquoting eats, so it is left to Babel outright; it must agree all the same.
LOCALES = [
    locale
    for language in ("en", "fi", "sv", "nb")
    for country in ("FI", "SE", "NO")
    if localedata.exists(locale := f"{language}_{country}")
] + ["en_US", "en_IN", "ar_EG", "he_IL", "fa_IR", "de_CH", "ja_JP"]
CURRENCIES = ["EUR", "SEK", "NOK", "USD", "JPY", "KWD", "INR"]

amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=None
)


@given(amount=amounts, currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(LOCALES))
def test_amounts_read_exactly_as_babel_writes_them(
    amount: Decimal, currency: str, locale: str
) -> None:
    assert format_amount(amount, currency, locale) == format_currency(
        amount, currency, locale=babel_locale(locale)
    )


@pytest.mark.parametrize("amount", ["-0.001", "-0", "0.004999", "-1234.565"])
def test_signs_and_rounding_at_the_edges_follow_babel(amount: str) -> None:
    for locale in ("fi_FI", "en_US", "he_IL"):
        expected = format_currency(Decimal(amount), "EUR", locale=babel_locale(locale))
        assert format_amount(Decimal(amount), "EUR", locale) == expected


def test_every_languages_formats_are_loaded_before_the_first_reply() -> None:
    money_format.cache_clear()
    load_formats("EUR", "FI")
    misses = money_format.cache_info().misses
    for locale in ("en_FI", "fi_FI", "sv_FI", "nb_NO"):  # Norwegian in Finland: nb_NO's data
        money_format(locale, "EUR")
    assert money_format.cache_info().misses == misses
