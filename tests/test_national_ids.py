"""Swedish and Norwegian identity codes: read, checked, masked, refused where they don't belong."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.national_ids import (
    Country,
    InvalidCode,
    format_for_ropo,
    mask_fodselsnummer,
    mask_personnummer,
    parse_fodselsnummer,
    parse_personnummer,
    redact_national_ids,
)
from bot.query import (
    Identifier,
    IdentifierKind,
    Query,
    Refusal,
    RefusalReason,
    find_identifiers,
    parse_command,
    parse_identifier,
)
from tests.national_id_strategies import fodselsnummer, personnummer, personnummer_written
from tests.test_query import valid_hetus


def on(year: int, month: int, day: int) -> datetime.date:
    return datetime.date(year, month, day)


TODAY = lambda: on(2026, 11, 29)  # noqa: E731

# python-stdnum's and Skatteverket's published examples, and a Norwegian one from stdnum.
PNR = "811228-9841"
PNR_CANONICAL = "198112289841"
SAMORDNING = "701063-2391"  # day 10 + 60
FNR = "15108695088"
FNR_BAD_CHECK = "15108695077"


# --- Sweden -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["811228-9841", "8112289841", "19811228-9841", "198112289841", " 811228-9841 "]
)
def test_every_way_of_writing_a_personnummer_reads_as_the_same_12_digits(written: str) -> None:
    assert parse_identifier(written, Country.SE) == Identifier(
        IdentifierKind.PERSONNUMMER, PNR_CANONICAL
    )


def test_a_samordningsnummer_passes_with_the_same_luhn_check() -> None:
    assert parse_personnummer(SAMORDNING, TODAY) == "197010632391"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("880320-0016", "198803200016"),  # under 100: this century or the last
        ("880320+0016", "188803200016"),  # "+": 100 or more, a century further back
        ("8803200016", "198803200016"),  # no separator reads as "-"
        ("260101-0008", "202601010008"),  # this year's yy is this century
    ],
)
def test_the_century_of_a_10_digit_code_comes_from_its_separator_and_today(
    written: str, canonical: str
) -> None:
    try:
        assert parse_personnummer(written, TODAY) == canonical
    except InvalidCode as exc:  # pragma: no cover - the message says which
        pytest.fail(f"{written}: {exc}")


def test_a_birth_date_later_this_year_is_refused_not_moved_a_century_back() -> None:
    # 1926-12-15 would be written with "+" (100 this year), so "-" means 2026-12-15: future.
    with pytest.raises(InvalidCode, match="future"):
        parse_personnummer("261215-0000", TODAY)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("811228-9842", "check digit"),
        ("811328-9841", "date doesn't exist"),
        ("810230-9841", "date doesn't exist"),
        ("811292-9841", "date doesn't exist"),  # day 32 + 60
    ],
)
def test_invalid_personnummer_are_refused_with_the_reason_and_masked(
    written: str, reason: str
) -> None:
    refusal = parse_identifier(written, Country.SE)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is RefusalReason.INVALID_CODE
    assert reason in refusal.message
    assert written not in refusal.message
    assert f"{written[:7]}****" in refusal.message


def test_a_personnummer_is_shown_masked_to_its_birth_date() -> None:
    assert mask_personnummer(PNR_CANONICAL, TODAY) == "811228-****"
    assert mask_personnummer("191212121212", TODAY) == "121212+****"  # 113 this year
    identifier = parse_identifier(PNR, Country.SE)
    assert isinstance(identifier, Identifier)
    assert identifier.display == "811228-****"
    assert "9841" not in repr(identifier)


@given(personnummer_written())
def test_generated_personnummer_are_accepted_in_any_written_form(case: tuple[str, str]) -> None:
    written, canonical = case
    assert parse_identifier(written, Country.SE) == Identifier(
        IdentifierKind.PERSONNUMMER, canonical
    )


@given(personnummer(), st.integers(8, 11), st.integers(1, 9))
def test_a_generated_personnummer_with_one_digit_changed_is_refused(
    case: tuple[str, datetime.date], position: int, delta: int
) -> None:
    canonical, _ = case
    changed = canonical[:position] + str((int(canonical[position]) + delta) % 10)
    changed += canonical[position + 1 :]
    result = parse_identifier(changed, Country.SE)
    assert isinstance(result, Refusal)
    assert changed not in result.message


# --- Norway -----------------------------------------------------------------------------------


def test_a_fodselsnummer_is_accepted_and_masked_to_its_birth_date() -> None:
    identifier = parse_identifier(FNR, Country.NO)
    assert identifier == Identifier(IdentifierKind.FODSELSNUMMER, FNR)
    assert isinstance(identifier, Identifier)
    assert identifier.display == "151086*****"
    assert mask_fodselsnummer(FNR) == "151086*****"


@pytest.mark.parametrize("kind", ["d", "h"])
@given(data=st.data())
def test_generated_d_and_h_numbers_are_accepted(kind: str, data: st.DataObject) -> None:
    code = data.draw(fodselsnummer(kind=kind))
    assert parse_identifier(code, Country.NO) == Identifier(IdentifierKind.FODSELSNUMMER, code)


@given(fodselsnummer())
def test_generated_fodselsnummer_are_accepted(code: str) -> None:
    assert parse_fodselsnummer(code) == code


@given(fodselsnummer(), st.integers(6, 10), st.integers(1, 9))
def test_a_generated_fodselsnummer_with_one_digit_changed_is_refused(
    code: str, position: int, delta: int
) -> None:
    changed = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1 :]
    result = parse_identifier(changed, Country.NO)
    assert isinstance(result, Refusal)
    assert result.reason is RefusalReason.INVALID_CODE
    assert changed not in result.message
    assert f"{changed[:6]}*****" in result.message


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (FNR_BAD_CHECK, "check digits"),
        ("29028695088", "date doesn't exist"),  # 29 February 1986
        ("15105475088", "date doesn't exist"),  # individual number 750 in '54: no century
    ],
)
def test_invalid_fodselsnummer_are_refused_with_the_reason(code: str, reason: str) -> None:
    refusal = parse_identifier(code, Country.NO)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is RefusalReason.INVALID_CODE
    assert reason in refusal.message
    assert code not in refusal.message


@pytest.mark.parametrize("number", ["99999999999", "32108695088", "15138695088"])
def test_an_eleven_digit_number_without_a_date_is_a_customer_number_in_norway(
    number: str,
) -> None:
    assert parse_identifier(number, Country.NO) == Identifier(
        IdentifierKind.CUSTOMER_NUMBER, number
    )


# --- each country's code, refused in the other two ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        (
            "8112289841",
            Country.FI,
            "That looks like a Swedish personnummer; this app is connected to Ropo One Finland",
        ),
        (
            "198112289841",
            Country.NO,
            "That looks like a Swedish personnummer; this app is connected to Ropo One Norway",
        ),
        (
            FNR,
            Country.FI,
            "That looks like a Norwegian fødselsnummer; this app is connected to Ropo One Finland",
        ),
        (
            FNR,
            Country.SE,
            "That looks like a Norwegian fødselsnummer; this app is connected to Ropo One Sweden",
        ),
        (
            "131052-308T",
            Country.SE,
            "That looks like a Finnish HETU; this app is connected to Ropo One Sweden",
        ),
        (
            "131052-308T",
            Country.NO,
            "That looks like a Finnish HETU; this app is connected to Ropo One Norway",
        ),
    ],
)
def test_a_valid_code_of_another_country_is_refused_by_name(
    code: str, country: Country, expected: str
) -> None:
    refusal = parse_command(f"{code} all", country)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is RefusalReason.FOREIGN_CODE
    assert refusal.message.startswith(expected)
    assert code not in refusal.message


@given(st.sampled_from([Country.FI, Country.NO]), personnummer(), st.booleans())
def test_generated_personnummer_are_refused_outside_sweden(
    country: Country, case: tuple[str, datetime.date], short: bool
) -> None:
    canonical, _ = case
    written = canonical[2:] if short else canonical
    result = parse_identifier(written, country)
    assert isinstance(result, Refusal)
    assert "Swedish personnummer" in result.message
    assert written not in result.message


@given(st.sampled_from([Country.FI, Country.SE]), fodselsnummer())
def test_generated_fodselsnummer_are_refused_outside_norway(country: Country, code: str) -> None:
    result = parse_identifier(code, country)
    assert isinstance(result, Refusal)
    assert "Norwegian fødselsnummer" in result.message
    assert code not in result.message


@given(st.sampled_from([Country.SE, Country.NO]), valid_hetus())
def test_generated_hetus_are_refused_outside_finland(country: Country, hetu: str) -> None:
    # A HETU with "-" or "+" and a digit check character is also written like a
    # personnummer; in Sweden that reading wins if it is valid, so those are left out here.
    assume(not (hetu[6] in "-+" and hetu[-1].isdigit()))
    result = parse_identifier(hetu, country)
    assert isinstance(result, Refusal)
    assert hetu not in result.message.upper()


def test_a_customer_number_holding_a_valid_code_is_refused_in_every_country() -> None:
    for country in Country:
        for code in (PNR_CANONICAL, FNR):
            result = parse_identifier(f"cust:X{code}", country)
            assert isinstance(result, Refusal), (country, code)
            assert code not in result.message


# --- free text (the message shortcut) ---------------------------------------------------------


def test_find_identifiers_reads_the_countrys_codes_only() -> None:
    text = f"Asiakas {FNR} / {PNR} / 131052-308T, customer no. C-1001"
    assert find_identifiers(text, Country.SE) == [
        Identifier(IdentifierKind.PERSONNUMMER, PNR_CANONICAL),
        Identifier(IdentifierKind.CUSTOMER_NUMBER, "C-1001"),
    ]
    assert find_identifiers(text, Country.NO) == [
        Identifier(IdentifierKind.FODSELSNUMMER, FNR),
        Identifier(IdentifierKind.CUSTOMER_NUMBER, "C-1001"),
    ]
    assert find_identifiers(text, Country.FI) == [
        Identifier(IdentifierKind.HETU, "131052-308T"),
        Identifier(IdentifierKind.CUSTOMER_NUMBER, "C-1001"),
    ]


def test_an_invalid_code_in_free_text_is_ignored() -> None:
    assert find_identifiers(f"ref {FNR_BAD_CHECK} and 811228-9842", Country.NO) == []
    assert find_identifiers(f"ref {FNR_BAD_CHECK} and 811228-9842", Country.SE) == []


def test_the_command_takes_all_after_a_swedish_code() -> None:
    assert parse_command(f"{PNR} alla", Country.SE) == Query(
        Identifier(IdentifierKind.PERSONNUMMER, PNR_CANONICAL), include_paid=True
    )


# --- what Ropo One is sent --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "sent"),
    [
        ("YYYYMMDDNNNN", "198112289841"),
        ("YYYYMMDD-NNNN", "19811228-9841"),
        ("YYMMDD-NNNN", "811228-9841"),
        ("YYMMDDNNNN", "8112289841"),
    ],
)
def test_a_personnummer_is_sent_in_the_configured_form(form: str, sent: str) -> None:
    assert format_for_ropo(PNR_CANONICAL, Country.SE, form, TODAY) == sent


def test_the_short_swedish_form_writes_plus_from_the_year_of_100() -> None:
    assert format_for_ropo("191212121212", Country.SE, "YYMMDD-NNNN", TODAY) == "121212+1212"


def test_a_fodselsnummer_is_sent_as_11_digits_by_default() -> None:
    assert format_for_ropo(FNR, Country.NO, "DDMMYYNNNNN") == FNR
    assert format_for_ropo(FNR, Country.NO, "DDMMYY NNNNN") == "151086 95088"


# --- log redaction: valid codes masked, look-alikes left readable -------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f'{{"ssn": "{PNR_CANONICAL}"}}', '{"ssn": "19811228****"}'),
        ("pnr 8112289841.", "pnr 811228****."),
        ("19811228-9841", "19811228-****"),
        (f"fnr={FNR}&all=1", "fnr=151086*****&all=1"),
        (f"/customers/{FNR}/invoices", "/customers/151086*****/invoices"),
        ("samordning 7010632391", "samordning 701063****"),
    ],
)
def test_valid_swedish_and_norwegian_codes_are_masked_in_text(text: str, masked: str) -> None:
    assert redact_national_ids(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "at 20261129171754",  # a timestamp: 14 digits
        "epoch 1732900000",  # 10 digits, no valid date
        "order 1234567890",
        "invoice 8112289842",  # a personnummer's shape, but the check digit is wrong
        f"ref {FNR_BAD_CHECK}",  # a fødselsnummer's shape, but the check digits are wrong
        "phone +4791234567",
        "2026-11-29T17:17:54.123Z",
    ],
)
def test_numbers_that_fail_the_check_stay_readable(text: str) -> None:
    assert redact_national_ids(text) == text


@given(personnummer_written())
def test_any_generated_personnummer_is_masked(case: tuple[str, str]) -> None:
    written, _ = case
    assert written not in redact_national_ids(f"ssn={written};")


@given(fodselsnummer())
def test_any_generated_fodselsnummer_is_masked(code: str) -> None:
    assert redact_national_ids(f"ssn={code};") == f"ssn={code[:6]}*****;"


def test_a_date_based_number_that_fails_the_check_can_be_forced_as_a_customer_number() -> None:
    # An order-style number YYYYMMDDNNNN reads as a personnummer attempt, and is refused...
    refusal = parse_identifier("202511290001", Country.SE)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is RefusalReason.INVALID_CODE
    assert "type cust: before it" in refusal.message
    # ...but the agent may say it is a customer number, since it is no valid code.
    assert parse_identifier("cust:202511290001", Country.SE) == Identifier(
        IdentifierKind.CUSTOMER_NUMBER, "202511290001"
    )


@pytest.mark.parametrize(
    ("text", "country", "kind"),
    [
        ("pnr:811228-9841", Country.SE, IdentifierKind.PERSONNUMMER),
        ("ssn: 8112289841", Country.SE, IdentifierKind.PERSONNUMMER),
        (f"fnr:{FNR}", Country.NO, IdentifierKind.FODSELSNUMMER),
    ],
)
def test_a_prefix_forces_the_identity_code_reading(
    text: str, country: Country, kind: IdentifierKind
) -> None:
    query = parse_command(text, country)
    assert isinstance(query, Query)
    assert query.identifier.kind is kind


def test_norwegian_help_and_paid_words_are_understood() -> None:
    assert parse_command("hjelp", Country.NO) == parse_command("help", Country.NO)
    assert parse_command(f"{FNR} alle", Country.NO) == Query(
        Identifier(IdentifierKind.FODSELSNUMMER, FNR), include_paid=True
    )


def test_a_prefixed_code_of_another_country_is_refused_by_name() -> None:
    refusal = parse_identifier("ssn:198112289841", Country.FI)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is RefusalReason.FOREIGN_CODE
