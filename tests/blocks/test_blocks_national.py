"""Replies, help and refusals of an app set up for Sweden or Norway: goldens and privacy.

The oracle for privacy is the literal codes used here, never the redactor's regex.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.blocks import (
    render_help,
    render_home,
    render_invoice_list,
    render_lookup_form,
    render_refusal,
)
from bot.lookup import LookupResult
from bot.national_ids import Country
from bot.query import Identifier, IdentifierKind, Refusal, parse_identifier
from bot.ropo import sandbox_data as sandbox
from bot.settings import RopoEnvironment

PERSONNUMMER = Identifier(IdentifierKind.PERSONNUMMER, sandbox.PERSONNUMMER_THREE_INVOICES)
FODSELSNUMMER = Identifier(IdentifierKind.FODSELSNUMMER, sandbox.FODSELSNUMMER_THREE_INVOICES)
# Every way these codes could leak, written out by hand.
LITERAL_CODES = (
    "198112289841",
    "8112289841",
    "811228-9841",
    "19811228-9841",
    "15108695088",
    "151086 95088",
    "131052-308T",
)


def _refusal(text: str, country: Country) -> Refusal:
    refused = parse_identifier(text, country)
    assert isinstance(refused, Refusal)
    return refused


@pytest.fixture(scope="module")
def payloads(
    make_result: Callable[..., LookupResult], button_value: Callable[[int, bool], str]
) -> dict[str, dict[str, Any]]:
    def invoice_list(identifier: Identifier, currency: str, locale: str) -> dict[str, Any]:
        customer = sandbox.CUSTOMERS_BY_SSN[identifier.value]
        result = make_result(
            customer.matching_jobs(include_paid=True),
            identifier=identifier,
            include_paid=True,
            currency=currency,
        )
        return render_invoice_list(result, page=0, button_value=button_value, locale=locale)

    production = RopoEnvironment.PRODUCTION
    return {
        "help_se": render_help(RopoEnvironment.SANDBOX, Country.SE),
        "help_no": render_help(RopoEnvironment.SANDBOX, Country.NO),
        "list_personnummer": invoice_list(PERSONNUMMER, "SEK", "en_SE"),
        "list_fodselsnummer": invoice_list(FODSELSNUMMER, "NOK", "en_NO"),
        "refusal_invalid_personnummer": render_refusal(
            _refusal("811228-9842", Country.SE), production, Country.SE
        ),
        "refusal_invalid_fodselsnummer": render_refusal(
            _refusal("15108695077", Country.NO), production, Country.NO
        ),
        "refusal_hetu_in_sweden": render_refusal(
            _refusal("131052-308T", Country.SE), production, Country.SE
        ),
        "refusal_personnummer_in_finland": render_refusal(
            _refusal("198112289841", Country.FI), production, Country.FI
        ),
        "refusal_fodselsnummer_in_sweden": render_refusal(
            _refusal("15108695088", Country.SE), production, Country.SE
        ),
    }


GOLDEN_CASES = [
    "help_se",
    "help_no",
    "list_personnummer",
    "list_fodselsnummer",
    "refusal_invalid_personnummer",
    "refusal_invalid_fodselsnummer",
    "refusal_hetu_in_sweden",
    "refusal_personnummer_in_finland",
    "refusal_fodselsnummer_in_sweden",
]


def test_every_case_has_a_golden(payloads: dict[str, dict[str, Any]]) -> None:
    assert sorted(payloads) == sorted(GOLDEN_CASES)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_payload_matches_golden(
    name: str, payloads: dict[str, dict[str, Any]], assert_golden: Callable[..., None]
) -> None:
    assert_golden(name, payloads[name])


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_payload_is_valid_block_kit(
    name: str, payloads: dict[str, dict[str, Any]], assert_valid: Callable[..., None]
) -> None:
    assert_valid(payloads[name])


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_no_full_identity_code_in_any_payload(
    name: str, payloads: dict[str, dict[str, Any]]
) -> None:
    dumped = json.dumps(payloads[name], ensure_ascii=False)
    assert [code for code in LITERAL_CODES if code in dumped] == []


@pytest.mark.parametrize(
    ("country", "named", "not_named"),
    [
        (Country.SE, "personnummer", "HETU"),
        (Country.NO, "fødselsnummer", "HETU"),
        (Country.FI, "identity code", "personnummer"),
    ],
)
def test_help_form_and_home_name_the_countrys_code(
    country: Country, named: str, not_named: str
) -> None:
    for payload in (
        render_help(RopoEnvironment.SANDBOX, country),
        render_lookup_form(RopoEnvironment.SANDBOX, country=country),
        render_home(RopoEnvironment.SANDBOX, country=country),
    ):
        text = json.dumps(payload, ensure_ascii=False)
        assert named.casefold() in text.casefold()
        assert not_named not in text


def test_a_swedish_reply_shows_the_code_masked_to_its_birth_date(
    payloads: dict[str, dict[str, Any]],
) -> None:
    assert "811228-****" in json.dumps(payloads["list_personnummer"], ensure_ascii=False)
    assert "151086*****" in json.dumps(payloads["list_fodselsnummer"], ensure_ascii=False)
