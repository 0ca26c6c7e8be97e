"""Tests for bot.query: what the agent typed -> a query, help, or a typed refusal."""

from __future__ import annotations

import datetime
import re
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.query import (
    MAX_INPUT_CHARS,
    HelpRequest,
    Identifier,
    IdentifierKind,
    Query,
    Refusal,
    RefusalReason,
    find_identifiers,
    parse_command,
    parse_identifier,
)
from bot.redact import HETU_SHAPE
from tests.privacy import assert_no_identity_code, plain_disguises

HETU = IdentifierKind.HETU
CUSTNUM = IdentifierKind.CUSTOMER_NUMBER

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}
ALL_CENTURY_SIGNS = "".join(CENTURY_SIGNS.values())
DIGIT_POSITIONS = (0, 1, 2, 3, 4, 5, 7, 8, 9)

VALID_HETUS = [
    "131052-308T",
    "100190-999P",
    "100190Y999P",
    "010101A900R",
    "290200A901C",
    "311299-950V",
]

UNUSABLE_MESSAGE = (
    "That isn't an identity code or a customer number. An identity code is the birth date "
    "DDMMYY, a century sign, three digits and a check character. A customer number is 1 to 40 "
    "letters, digits and the characters - _ . / with no spaces."
)
TOO_LONG_MESSAGE = (
    "That is longer than 200 characters: too long for an identity code or a customer number."
)
EMPTY_MESSAGE = "Type an identity code (HETU) or a customer number."
USAGE_MESSAGE = (
    "Type one identity code (HETU) or customer number, and `all` after it to include paid "
    "invoices. A customer number has no spaces."
)
NOT_A_HETU_MESSAGE = (
    "That isn't an identity code. It has 11 characters: the birth date DDMMYY, a century sign, "
    "three digits and a check character."
)
HETU_AS_CUSTOMER_NUMBER_MESSAGE = (
    "That contains an identity code, so it can't be used as a customer number. "
    "Type the identity code on its own."
)


def hetu(value: str) -> Identifier:
    return Identifier(HETU, value)


def custnum(value: str) -> Identifier:
    return Identifier(CUSTNUM, value)


def invalid_hetu(masked: str, problem: str) -> Refusal:
    return Refusal(RefusalReason.INVALID_HETU, f"{masked} isn't a valid identity code. {problem}")


def unusable(message: str = UNUSABLE_MESSAGE) -> Refusal:
    return Refusal(RefusalReason.UNUSABLE, message)


@st.composite
def valid_hetus(draw: st.DrawFn) -> str:
    """A valid HETU, built independently of python-stdnum: date, sign, 002-999, mod-31 check."""
    born = draw(st.dates(datetime.date(1800, 1, 1), datetime.date(2099, 12, 31)))
    sign = draw(st.sampled_from(CENTURY_SIGNS[born.year // 100 * 100]))
    individual = draw(st.integers(2, 999))
    date_part = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}"
    check = CHECK_CHARACTERS[int(f"{date_part}{individual:03d}") % 31]
    return f"{date_part}{sign}{individual:03d}{check}"


def replace_at(text: str, position: int, char: str) -> str:
    return f"{text[:position]}{char}{text[position + 1 :]}"


# --- parse_command ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\u00a0", "\t\n"])
def test_empty_command_asks_for_help(text: str) -> None:
    assert parse_command(text) == HelpRequest()


@pytest.mark.parametrize(
    "text", ["help", "HELP", " Help ", "?", "ohje", "OHJE", "hjälp", "HJÄLP", "hja\u0308lp"]
)
def test_help_words_in_any_case_ask_for_help(text: str) -> None:
    assert parse_command(text) == HelpRequest()


def test_help_with_a_flag_still_asks_for_help() -> None:
    assert parse_command("help all") == HelpRequest()


def test_identifier_alone_asks_for_unpaid_invoices() -> None:
    assert parse_command("131052-308T") == Query(hetu("131052-308T"), include_paid=False)
    assert parse_command(" C-1001 ") == Query(custnum("C-1001"), include_paid=False)


@pytest.mark.parametrize(
    "text",
    [
        "131052-308T all",
        "all 131052-308T",
        "131052-308T ALL",
        "131052-308T --all",
        "--ALL 131052-308T",
        "131052-308T kaikki",
        "Kaikki 131052-308T",
        "131052-308T alla",
        "131052-308T ALLA",
        "131052-308T \u2014all",  # "--all" auto-corrected to an em dash
        "all 131052-308T all",
    ],
)
def test_include_paid_flag_anywhere_in_any_case(text: str) -> None:
    assert parse_command(text) == Query(hetu("131052-308T"), include_paid=True)


@pytest.mark.parametrize(
    "text",
    [
        "131052-308T\u00a0all",
        "\u2003131052-308T\u3000kaikki\u00a0",
        "131052-308T\u202falla",
        "\u00a0\u00a0131052-308T\u2009--all\n",
    ],
)
def test_any_unicode_whitespace_separates_words(text: str) -> None:
    assert parse_command(text) == Query(hetu("131052-308T"), include_paid=True)


@pytest.mark.parametrize(
    "text", ["131052-308T 12345", "C-1001 C-1002 all", "show me 131052-308T", "131052 308T"]
)
def test_more_than_one_identifier_word_is_refused_with_usage(text: str) -> None:
    assert parse_command(text) == Refusal(RefusalReason.TOO_MANY_WORDS, USAGE_MESSAGE)


def test_flag_without_identifier_asks_which_customer() -> None:
    assert parse_command("all") == unusable(f"Which customer? {USAGE_MESSAGE}")
    assert parse_command("--all kaikki") == unusable(f"Which customer? {USAGE_MESSAGE}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hetu: 131052-308T", Query(hetu("131052-308T"))),
        ("all SSN:\u00a0131052-308t", Query(hetu("131052-308T"), include_paid=True)),
        ("cust: 131052-308 all", Query(custnum("131052-308"), include_paid=True)),
        ("cust:all", Query(custnum("all"))),
    ],
)
def test_prefix_may_be_followed_by_a_space_in_the_command(text: str, expected: Query) -> None:
    assert parse_command(text) == expected


def test_refusal_of_the_identifier_is_the_command_refusal() -> None:
    assert parse_command("131052-308U all") == invalid_hetu(
        "131052-****", "The check character doesn't match: the code may be mistyped."
    )
    assert parse_command("<!here>") == unusable()


def test_overlong_command_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def parsing(text: str) -> str:
        raise AssertionError("an overlong command was parsed")

    monkeypatch.setattr("bot.query._clean", parsing)  # where every parse starts
    text = "<@U123> " * 1_000_000

    assert parse_command(text) == unusable(TOO_LONG_MESSAGE)
    assert parse_identifier(text) == unusable(TOO_LONG_MESSAGE)


def test_command_at_the_length_limit_is_parsed() -> None:
    text = "C-1001" + " " * (MAX_INPUT_CHARS - len("C-1001"))
    assert parse_command(text) == Query(custnum("C-1001"))
    assert parse_command(text + " ") == unusable(TOO_LONG_MESSAGE)


# --- parse_identifier: HETU ------------------------------------------------------------------


@pytest.mark.parametrize("value", VALID_HETUS)
def test_valid_hetus_are_accepted(value: str) -> None:
    assert parse_identifier(value) == hetu(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("131052-308t", "131052-308T"),
        ("010101a900r", "010101A900R"),
        ("100190y999p", "100190Y999P"),
    ],
)
def test_lower_case_hetu_is_upper_cased(text: str, value: str) -> None:
    assert parse_identifier(text) == hetu(value)


def test_century_sign_is_kept_as_typed() -> None:
    plain, new_style = parse_identifier("100190-999P"), parse_identifier("100190Y999P")
    assert plain == hetu("100190-999P")
    assert new_style == hetu("100190Y999P")
    assert plain != new_style


@pytest.mark.parametrize("value", ["100190-999P", "010101A900R", "290200A901C", "311299-950V"])
def test_temporary_individual_numbers_are_accepted(value: str) -> None:
    assert parse_identifier(value) == hetu(value)


@pytest.mark.parametrize(
    "text", [" 131052-308T ", "\u00a0131052-308T\n", "131052\u2013308T", "131052-\u200b308T"]
)
def test_spaces_dash_look_alikes_and_invisible_characters_are_tidied(text: str) -> None:
    assert parse_identifier(text) == hetu("131052-308T")


def test_wrong_check_character_is_refused_with_the_code_masked() -> None:
    assert parse_identifier("131052-308U") == invalid_hetu(
        "131052-****", "The check character doesn't match: the code may be mistyped."
    )


@pytest.mark.parametrize("text", ["310252-308T", "290200-901C", "131352-308T", "001052-308T"])
def test_impossible_date_is_refused(text: str) -> None:
    assert parse_identifier(text) == invalid_hetu(f"{text[:7]}****", "That date doesn't exist.")


def test_february_29th_depends_on_the_century_sign() -> None:
    assert parse_identifier("290200A901C") == hetu("290200A901C")
    assert parse_identifier("290200-901C") == invalid_hetu(
        "290200-****", "That date doesn't exist."
    )


@pytest.mark.parametrize("text", ["131052-000X", "131052-001W"])
def test_individual_number_000_or_001_is_refused(text: str) -> None:
    assert parse_identifier(text) == invalid_hetu(
        "131052-****", "The three digits after the century sign can't be 000 or 001."
    )


@pytest.mark.parametrize("check", ["G", "I", "O", "Q", "Z", "g"])
def test_letter_never_used_as_check_character_is_refused(check: str) -> None:
    assert parse_identifier(f"131052-308{check}") == invalid_hetu(
        "131052-****",
        "The last character is never a check character: the code may be mistyped.",
    )


@pytest.mark.parametrize(("text", "length"), [("131052-308", 10), ("131052-308TT", 12)])
def test_almost_hetu_of_wrong_length_is_refused_not_sent_as_customer_number(
    text: str, length: int
) -> None:
    assert parse_identifier(text) == invalid_hetu(
        "131052-****", f"An identity code has 11 characters; this has {length}."
    )


@pytest.mark.parametrize("text", ["131052-3O8T", "131052a30lt"])
def test_almost_hetu_with_letters_for_digits_is_refused(text: str) -> None:
    assert parse_identifier(text) == invalid_hetu(
        f"{text[:7].upper()}****",
        "After the century sign come three digits and a check character.",
    )


@pytest.mark.parametrize(
    "text", ["hetu:131052-308T", "HETU: 131052-308T", "ssn:\u00a0131052-308t", "Ssn:131052-308T"]
)
def test_hetu_prefix_reads_a_hetu(text: str) -> None:
    assert parse_identifier(text) == hetu("131052-308T")


@pytest.mark.parametrize("text", ["hetu: 12345", "ssn:C-1001", "hetu:<@U123>", "hetu:131052308T"])
def test_hetu_prefix_refuses_anything_else_without_echoing_it(text: str) -> None:
    assert parse_identifier(text) == Refusal(RefusalReason.INVALID_HETU, NOT_A_HETU_MESSAGE)


def test_hetu_prefix_still_explains_what_is_wrong_with_the_code() -> None:
    assert parse_identifier("hetu: 131052-308U") == invalid_hetu(
        "131052-****", "The check character doesn't match: the code may be mistyped."
    )
    assert parse_identifier("hetu:131052-308") == invalid_hetu(
        "131052-****", "An identity code has 11 characters; this has 10."
    )


def test_hetu_prefix_alone_asks_for_the_code() -> None:
    assert parse_identifier("hetu:") == Refusal(
        RefusalReason.INVALID_HETU, "Type the identity code after the prefix."
    )


# --- parse_identifier: customer numbers ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["12345", "C-1001", "c-1001", "ab_12.3/4", "Åström-7", "ÄÖÅäöåØÆøæ1", "x" * 40, "123456-78"],
)
def test_customer_numbers_are_accepted_as_typed(value: str) -> None:
    assert parse_identifier(value) == custnum(value)


def test_decomposed_nordic_letters_are_composed() -> None:
    assert parse_identifier("A\u0308hti-1") == custnum("\u00c4hti-1")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("cust:C-1001", "C-1001"),
        ("CUST: 131052-308", "131052-308"),
        ("cust:100190-99", "100190-99"),
    ],
)
def test_customer_prefix_reads_a_customer_number(text: str, value: str) -> None:
    assert parse_identifier(text) == custnum(value)


@pytest.mark.parametrize("text", ["cust:131052-308T", "cust: 131052-308X", "C/131052-308T"])
def test_customer_number_carrying_a_hetu_is_refused(text: str) -> None:
    assert parse_identifier(text) == unusable(HETU_AS_CUSTOMER_NUMBER_MESSAGE)


@pytest.mark.parametrize(
    "text",
    [
        "12 345",
        "<@U123>",
        "<!here>",
        "<https://example.com|x>",
        ":smile:",
        "a&b",
        "a*b",
        "a<b>",
        "x" * 41,
        "-1001",
        ".",
        "/",
        "_a",
        "\u0661\u0662\u0663",  # Arabic-Indic digits
        "\uff11\uff12\uff13",  # full-width digits
        "C\u00e9-1",
        "cust:a b",
        "cust:<@U123>",
    ],
)
def test_unusable_input_is_refused_without_echoing_it(text: str) -> None:
    assert parse_identifier(text) == unusable()


@pytest.mark.parametrize("text", ["", "   ", "\u00a0", "\u200b", "cust:", "cust:  "])
def test_empty_identifier_asks_for_one(text: str) -> None:
    assert parse_identifier(text) == unusable(EMPTY_MESSAGE)


def test_overlong_identifier_is_refused_before_parsing() -> None:
    assert parse_identifier("<" * 5000) == unusable(TOO_LONG_MESSAGE)


def test_repr_of_an_identifier_masks_the_hetu() -> None:
    assert repr(parse_identifier("131052-308T")) == "Identifier(hetu, '131052-****')"


# --- find_identifiers ------------------------------------------------------------------------


def test_valid_hetus_in_text_are_found_in_order_once_each() -> None:
    text = "Hei! Hetu 131052-308t, vaimon 010101A900R. Siis 131052-308T."
    assert find_identifiers(text) == [hetu("131052-308T"), hetu("010101A900R")]


def test_invalid_hetus_in_text_are_ignored() -> None:
    assert find_identifiers("131052-308U or 310252-308T or 131052-308") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x131052-308T", []),
        ("131052-308TX", []),
        ("9131052-308T", []),
        ("(131052-308T)", [hetu("131052-308T")]),
        ("hetu:131052-308T.", [hetu("131052-308T")]),
        ("id_131052-308T", [hetu("131052-308T")]),
    ],
)
def test_hetus_are_found_only_at_word_boundaries(text: str, expected: list[Identifier]) -> None:
    assert find_identifiers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<mailto:131052-308T@example.fi|131052-308T@example.fi>",
        "<https://example.fi/?q=131052-308t>",
        "<https://example.fi/|hetu 131052-308T>",
        "*131052-308T*",
        "`131052-308T`",
    ],
)
def test_hetu_inside_slack_markup_is_found(text: str) -> None:
    assert find_identifiers(text) == [hetu("131052-308T")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("asiakasnumero 12345", "12345"),
        ("Asiakasnro: 12345", "12345"),
        ("ASIAKASNUMERO #12345", "12345"),
        ("Asiakasnumeroni on 12345, kiitos", "12345"),
        ("customer number: C-1001", "C-1001"),
        ("Customer No. C-1001", "C-1001"),
        ("customer no C-1001", "C-1001"),
        ("customer #C-1001", "C-1001"),
        ("cust. no 12345", "12345"),
        ("customer no.C-1001", "C-1001"),
        ("cust.nr.12345", "12345"),
        ("Cust no: 12345", "12345"),
        ("my customer number is C-1001.", "C-1001"),
        ("kundnummer 12345", "12345"),
        ("Mitt kundnummer är 12345", "12345"),
        ("kundnr - 12345", "12345"),
        ("kundenummer 12345", "12345"),
        ("kundenr: 12345", "12345"),
        ("*Customer number:* `C-1001`", "C-1001"),
        ("_asiakasnumero_ on *12345*", "12345"),
        ("customer number:\u00a0A/7-b", "A/7-b"),
        ("asiakasnumero 12345ä", "12345ä"),
    ],
)
def test_labelled_customer_numbers_are_found(text: str, value: str) -> None:
    assert find_identifiers(text) == [custnum(value)]


@pytest.mark.parametrize(
    "text",
    [
        "Call me on 0401234567 about order 12345",
        "customer number is missing",
        "asiakasnumero puuttuu",
        "customer numbers 1 and 2",
        "customer note2",
        "customer number: \u0661\u0662",
        "customer number: 12345\u00e9",
        f"customer number: {'1' * 41}",
        "mycustomer number 12345",
        "asiakasnumero 000000+0000",  # a HETU-shaped value, not its first half
    ],
)
def test_only_labelled_customer_numbers_with_a_digit_count(text: str) -> None:
    assert find_identifiers(text) == []


def test_labelled_hetu_is_found_as_a_hetu() -> None:
    assert find_identifiers("asiakasnumero 131052-308T") == [hetu("131052-308T")]


def test_identifiers_of_both_kinds_come_in_order_of_appearance() -> None:
    text = "kundnr 4711, hetu 131052-308T, customer no. C-1001, again kundnr 4711"
    assert find_identifiers(text) == [custnum("4711"), hetu("131052-308T"), custnum("C-1001")]


def test_long_message_is_searched_quickly() -> None:
    text = "customer number" + " " * 40_000 + "*" * 40_000 + " 131052-308T"
    started = time.perf_counter()
    assert find_identifiers(text) == [hetu("131052-308T")]
    # Backtracking over those runs would take minutes; this bound holds on a loaded machine.
    assert time.perf_counter() - started < 10


# --- properties ------------------------------------------------------------------------------


@given(st.text())
def test_no_text_crashes_the_command_parser(text: str) -> None:
    result = parse_command(text)
    assert isinstance(result, Query | HelpRequest | Refusal)


@given(st.text())
def test_no_text_crashes_the_identifier_parser(text: str) -> None:
    assert isinstance(parse_identifier(text), Identifier | Refusal)


@given(st.text())
def test_no_text_crashes_the_free_text_search(text: str) -> None:
    found = find_identifiers(text)
    assert all(isinstance(identifier, Identifier) for identifier in found)
    assert len(found) == len(set(found))


# Text with one of the tests' identity codes in it, in a disguise the parser reads.
_TEXT_WITH_A_CODE = st.builds(
    lambda before, code, after: f"{before}{code}{after}",
    st.text(max_size=20),
    st.sampled_from(["131052-308T", "010101A900R", "131052-308U"]).flatmap(
        lambda code: st.sampled_from(plain_disguises(code))
    ),
    st.text(max_size=20),
)


@given(st.one_of(st.text(max_size=300), _TEXT_WITH_A_CODE))
def test_refusals_never_echo_markup_or_a_full_hetu(text: str) -> None:
    for result in (parse_command(text), parse_identifier(text)):
        if isinstance(result, Refusal):
            assert not any(char in result.message for char in "<>&@|")
            assert_no_identity_code(result.message)


@given(valid_hetus(), st.booleans(), st.booleans())
def test_every_valid_hetu_is_accepted_with_its_century_sign(
    value: str, lower: bool, include_paid: bool
) -> None:
    typed = value.lower() if lower else value
    assert parse_identifier(typed) == hetu(value)
    command = f"{typed} all" if include_paid else typed
    assert parse_command(command) == Query(hetu(value), include_paid=include_paid)


@given(valid_hetus(), st.text(), st.text())
def test_every_valid_hetu_in_free_text_is_found(value: str, before: str, after: str) -> None:
    assert hetu(value) in find_identifiers(f"{before} {value.lower()} {after}")


@given(st.from_regex(r"[0-9]{6}[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-Za-z]", fullmatch=True))
def test_hetu_shaped_input_is_never_a_customer_number(text: str) -> None:
    result = parse_identifier(text)
    if isinstance(result, Identifier):
        assert result == hetu(text.upper())
    else:
        assert result.reason is RefusalReason.INVALID_HETU
        assert result.message.startswith(f"{text[:7].upper()}**** isn't a valid identity code.")
    assert find_identifiers(f"asiakasnumero {text}") in ([], [hetu(text.upper())])


@given(valid_hetus(), st.sampled_from(DIGIT_POSITIONS), st.sampled_from("0123456789"))
def test_any_changed_digit_is_refused(value: str, position: int, digit: str) -> None:
    assume(value[position] != digit)
    result = parse_identifier(replace_at(value, position, digit))
    assert isinstance(result, Refusal)
    assert result.reason is RefusalReason.INVALID_HETU


@given(valid_hetus(), st.sampled_from(CHECK_CHARACTERS + "GIOQZ"))
def test_any_changed_check_character_is_refused(value: str, check: str) -> None:
    assume(value[10] != check)
    result = parse_identifier(replace_at(value, 10, check))
    assert isinstance(result, Refusal)
    assert result.reason is RefusalReason.INVALID_HETU


@given(valid_hetus(), st.sampled_from(ALL_CENTURY_SIGNS))
def test_changed_century_sign_is_refused_or_a_different_person(value: str, sign: str) -> None:
    # The check character covers only the digits, so another sign can make another valid code.
    assume(value[6] != sign)
    changed = replace_at(value, 6, sign)
    result = parse_identifier(changed)
    if isinstance(result, Refusal):
        assert result == invalid_hetu(f"{changed[:7]}****", "That date doesn't exist.")
    else:
        assert result == hetu(changed)
        assert result != hetu(value)


@given(st.from_regex(r"[0-9A-Za-zÅÄÖÆØåäöæø][0-9A-Za-zÅÄÖÆØåäöæø_./-]{0,39}", fullmatch=True))
def test_acceptable_customer_numbers_pass_through_unchanged(value: str) -> None:
    assume(HETU_SHAPE.search(value) is None)
    assume(not re.fullmatch(r"[0-9]{6}[-+A-FU-Ya-fu-y][0-9A-Za-z]{3,5}", value))  # almost a HETU
    assert parse_identifier(value) == custnum(value)
    assert parse_identifier(f"cust:{value}") == custnum(value)
