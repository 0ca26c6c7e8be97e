"""Money formatting: the precomputed format always says what Babel's format_currency says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.money import format_amount, money_format

# The app's own locales first, then patterns unlike them: the symbol first (en_US), other
# separators (de_DE, fr_FR, de_CH), Indian grouping (en_IN), a currency without cents (JPY).
LOCALES = ["fi_FI", "sv_SE", "nb_NO", "en_FI", "en_SE", "sv_FI", "en_US", "de_DE", "fr_FR"]
LOCALES += ["de_CH", "en_IN", "ja_JP", "ar_EG", "he_IL", "nl_NL", "pt_BR"]
CURRENCIES = ["EUR", "SEK", "NOK", "USD", "JPY", "CHF", "INR"]

amounts = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal("1e20") and (d == 0 or abs(d) > Decimal("1e-20"))
)


@given(amount=amounts, locale=st.sampled_from(LOCALES), currency=st.sampled_from(CURRENCIES))
def test_every_amount_reads_as_babel_writes_it(amount: Decimal, locale: str, currency: str):
    assert format_amount(amount, currency, locale) == format_currency(
        amount, currency, locale=locale
    )


@pytest.mark.parametrize(
    "amount",
    ["0", "-0", "-0.001", "0.005", "0.015", "0.025", "999.995", "1000", "-1234567.891", "1E+5"],
)
@pytest.mark.parametrize("locale", LOCALES)
def test_rounding_signs_and_grouping_edges(amount: str, locale: str) -> None:
    for currency in ("EUR", "JPY"):
        expected = format_currency(Decimal(amount), currency, locale=locale)
        assert format_amount(Decimal(amount), currency, locale) == expected


def test_the_app_locales_take_the_fast_path() -> None:
    for locale in ("fi_FI", "sv_SE", "nb_NO", "en_FI", "en_US"):
        assert money_format("EUR", locale) is not None
