"""Swedish and Norwegian national identity codes: read, check, mask, and keep out of logs.

Sweden: the personnummer and the samordningsnummer (a coordination number: the day of
birth plus 60), written with 10 or 12 digits, with ``-``, ``+`` (aged 100 or more) or no
separator, and a Luhn check digit. Norway: the fødselsnummer, the D-number (day plus 40)
and the H-number (month plus 40), 11 digits with two check digits.

python-stdnum does the checking where it can (``se.personnummer``, ``no.fodselsnummer``);
it refuses samordningsnummer, which are checked here with the same Luhn digit. Each code has
one canonical form, the one audit hashes and sealed buttons carry: 12 digits
``YYYYMMDDNNNN`` for Sweden, 11 digits for Norway. What Ropo One is sent is a setting
(:data:`SSN_FORMATS`), because Ropo's documentation names only the Finnish HETU.

The Finnish HETU stays in ``bot/query.py`` and ``bot/redact.py``; this module knows nothing
of Slack or Ropo.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from enum import StrEnum

from stdnum import luhn
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.no import fodselsnummer as stdnum_fodselsnummer
from stdnum.se import personnummer as stdnum_personnummer

from bot.i18n import _


class Country(StrEnum):
    """A country Ropo One runs in: decides which national identity code the app accepts."""

    FI = "fi"
    SE = "se"
    NO = "no"

    @property
    def code_name(self) -> str:
        """What its identity code is called: HETU, personnummer, fødselsnummer."""
        return _CODE_NAMES[self]


_CODE_NAMES = {Country.FI: "HETU", Country.SE: "personnummer", Country.NO: "fødselsnummer"}

Today = Callable[[], datetime.date]


class InvalidCode(Exception):
    """A code shaped like a national identity code that is not a valid one.

    The message is the agent-facing reason and never contains the code.
    """


# --- Sweden -------------------------------------------------------------------------------

# YYMMDD or YYYYMMDD, then -, + or nothing, then three digits and the check digit.
PERSONNUMMER_SHAPE = re.compile(
    r"(?P<year>[0-9]{2})?(?P<date>[0-9]{6})(?P<sep>[-+]?)(?P<tail>[0-9]{4})"
)
_SAMORDNING_OFFSET = 60
_PLUS_AGE = 100  # from the year a person turns 100, the separator is "+"


def is_personnummer_attempt(text: str) -> bool:
    """True if ``text`` is written like a personnummer: it must then be a valid one.

    With a separator, any code of the shape counts. Digits alone (10 or 12) count only if they
    begin with a date (a samordningsnummer's too): a mistyped code must not travel to Ropo
    as a customer number, yet "1234567890" is more likely a customer number than a person.
    """
    match = PERSONNUMMER_SHAPE.fullmatch(text)
    if match is None:
        return False
    if match["sep"]:
        return True
    century = match["year"]
    date = match["date"]
    if century is not None and not 18 <= int(century) <= 20:
        return False
    day = int(date[4:])
    if day > _SAMORDNING_OFFSET:
        day -= _SAMORDNING_OFFSET
    return _is_day_of_year(int(date[2:4]), day)


def parse_personnummer(text: str, today: Today = datetime.date.today) -> str:
    """The canonical 12 digits ``YYYYMMDDNNNN`` of a valid personnummer or samordningsnummer.

    A 10-digit code's century comes from its separator and today's date: with ``-`` (or
    none) the person turns at most 99 this year, with ``+`` 100 or more. Raises
    :class:`InvalidCode` with the reason.
    """
    match = PERSONNUMMER_SHAPE.fullmatch(text)
    if match is None:
        raise InvalidCode(
            _(
                "A personnummer has 10 digits (YYMMDD-NNNN) or 12 (YYYYMMDDNNNN); "
                "the separator is -, + or none."
            )
        )
    date, tail = match["date"], match["tail"]
    if match["year"] is not None:
        year = int(match["year"] + date[:2])
    else:
        year = _century_year(int(date[:2]), plus=match["sep"] == "+", this_year=today().year)
    day = int(date[4:])
    samordning = day > _SAMORDNING_OFFSET
    try:
        birth = datetime.date(year, int(date[2:4]), day - _SAMORDNING_OFFSET * samordning)
    except ValueError:
        raise InvalidCode(_("That date doesn't exist.")) from None
    if birth > today():
        raise InvalidCode(_("That birth date is in the future."))
    canonical = f"{year:04}{date[2:]}{tail}"
    try:
        if samordning:  # stdnum refuses day + 60; the check digit is the same Luhn digit
            luhn.validate(canonical[2:])
        else:
            stdnum_personnummer.validate(canonical)
    except InvalidChecksum:
        raise InvalidCode(_("The check digit doesn't match: the code may be mistyped.")) from None
    except ValidationError:
        raise InvalidCode(_("It doesn't pass the personnummer check.")) from None
    return canonical


def _century_year(yy: int, *, plus: bool, this_year: int) -> int:
    """The year ``yy`` stands for: the last one not after this year, a century back with +."""
    year = this_year - (this_year - yy) % 100
    return year - _PLUS_AGE if plus else year


def personnummer_separator(canonical: str, today: Today = datetime.date.today) -> str:
    """``+`` if the person turns 100 or more this year (Folkbokföringslagen §18), else ``-``."""
    return "+" if today().year - int(canonical[:4]) >= _PLUS_AGE else "-"


def mask_personnummer(canonical: str, today: Today = datetime.date.today) -> str:
    """``811218-****`` for ``198112189876``: the birth date as written, and nothing more."""
    return f"{canonical[2:8]}{personnummer_separator(canonical, today)}****"


# --- Norway -------------------------------------------------------------------------------

FODSELSNUMMER_SHAPE = re.compile(r"[0-9]{11}")
_D_NUMBER_OFFSET = 40
_H_NUMBER_OFFSET = 40


def is_fodselsnummer_attempt(text: str) -> bool:
    """True if ``text`` is 11 digits beginning with a date (a D- or H-number's too).

    Such a code must then be valid; other 11-digit numbers may be customer numbers.
    """
    if not FODSELSNUMMER_SHAPE.fullmatch(text):
        return False
    day, month = int(text[:2]), int(text[2:4])
    if day > _D_NUMBER_OFFSET:
        day -= _D_NUMBER_OFFSET
    if month > _H_NUMBER_OFFSET:
        month -= _H_NUMBER_OFFSET
    return _is_day_of_year(month, day)


def parse_fodselsnummer(text: str, today: Today = datetime.date.today) -> str:
    """The 11 digits of a valid fødselsnummer, D-number or H-number; else :class:`InvalidCode`.

    stdnum knows D-numbers (day + 40), H-numbers (month + 40) and both check digits.
    """
    if not FODSELSNUMMER_SHAPE.fullmatch(text):
        raise InvalidCode(_("A fødselsnummer has 11 digits: the birth date DDMMYY and five more."))
    try:
        birth = stdnum_fodselsnummer.get_birth_date(text)
    except ValidationError:
        raise InvalidCode(
            _("Its date doesn't exist, or doesn't fit the individual number's century.")
        ) from None
    if birth > today():
        raise InvalidCode(_("That birth date is in the future."))
    try:
        stdnum_fodselsnummer.validate(text)
    except InvalidChecksum:
        raise InvalidCode(_("The check digits don't match: the code may be mistyped.")) from None
    except ValidationError:
        raise InvalidCode(_("It doesn't pass the fødselsnummer check.")) from None
    return text


def mask_fodselsnummer(code: str) -> str:
    """``181281*****`` for ``18128112345``: the birth date, and nothing more."""
    return f"{code[:6]}*****"


# --- what Ropo One is sent ----------------------------------------------------------------

SSN_FORMATS: dict[Country, tuple[str, ...]] = {
    # The first of each country is its default.
    Country.FI: ("as-typed",),
    Country.SE: ("YYYYMMDDNNNN", "YYYYMMDD-NNNN", "YYMMDD-NNNN", "YYMMDDNNNN"),
    Country.NO: ("DDMMYYNNNNN", "DDMMYY NNNNN"),
}
"""The forms ROPO_SSN_FORMAT may name, per country (``YYMMDD-NNNN`` writes ``+`` from 100)."""


def default_ssn_format(country: Country) -> str:
    """The form sent unless ROPO_SSN_FORMAT says otherwise."""
    return SSN_FORMATS[country][0]


def format_for_ropo(
    canonical: str, country: Country, form: str, today: Today = datetime.date.today
) -> str:
    """Write a canonical code (see the module docstring) in ``form`` for Ropo's ``ssn``."""
    if country is Country.SE:
        short = canonical[2:]
        return {
            "YYYYMMDDNNNN": canonical,
            "YYYYMMDD-NNNN": f"{canonical[:8]}-{canonical[8:]}",
            "YYMMDD-NNNN": f"{short[:6]}{personnummer_separator(canonical, today)}{short[6:]}",
            "YYMMDDNNNN": short,
        }.get(form, canonical)
    if country is Country.NO and form == "DDMMYY NNNNN":
        return f"{canonical[:6]} {canonical[6:]}"
    return canonical


# --- keeping them out of logs -------------------------------------------------------------

# Digit runs not touching other digits: 12 or 10 digits with an optional separator before the
# last four (Sweden), or 11 digits (Norway). Only those that pass the check are masked, so
# timestamps, order numbers and phone numbers stay readable.
_SE_IN_TEXT = re.compile(r"(?<![0-9])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9])")
_NO_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")


def redact_national_ids(text: str, today: Today = datetime.date.today) -> str:
    """Mask every valid Swedish or Norwegian identity code in ``text`` to its birth date.

    ``198112189876`` becomes ``19811218****``, ``811218-9876`` ``811218-****`` and
    ``18128112345`` ``181281*****``: the date part stays (it helps support), the rest goes.
    """
    text = _NO_IN_TEXT.sub(lambda match: _mask_if_valid_no(match, today), text)
    return _SE_IN_TEXT.sub(lambda match: _mask_if_valid_se(match, today), text)


def _mask_if_valid_no(match: re.Match[str], today: Today) -> str:
    code = match.group()
    try:
        parse_fodselsnummer(code, today)
    except InvalidCode:
        return code
    return mask_fodselsnummer(code)


def _mask_if_valid_se(match: re.Match[str], today: Today) -> str:
    code = match.group()
    try:
        parse_personnummer(code, today)
    except InvalidCode:
        return code
    return code[:-4] + "****"


def _is_day_of_year(month: int, day: int) -> bool:
    """True if ``day`` of ``month`` exists in some year (29 February included)."""
    try:
        datetime.date(2000, month, day)  # a leap year
    except ValueError:
        return False
    return True
