"""What the agent typed -> a question for Ropo One, or a typed refusal. No Slack, no HTTP."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fi import hetu as stdnum_hetu

from bot.i18n import N_, _
from bot.national_ids import (
    Country,
    InvalidCode,
    is_fodselsnummer_attempt,
    is_personnummer_attempt,
    mask_fodselsnummer,
    mask_personnummer,
    parse_fodselsnummer,
    parse_personnummer,
    redact_national_ids,
)
from bot.redact import HETU_SHAPE, mask_hetu


class IdentifierKind(StrEnum):
    """Which Ropo field an identifier goes into, and which country's code it is."""

    HETU = "hetu"  # sent as ``ssn``, as typed
    PERSONNUMMER = "personnummer"  # sent as ``ssn``; the value is 12 digits YYYYMMDDNNNN
    FODSELSNUMMER = "fodselsnummer"  # sent as ``ssn``; the value is 11 digits
    CUSTOMER_NUMBER = "custnum"  # sent as ``custnum``

    @property
    def is_identity_code(self) -> bool:
        """True for a national identity code: masked when shown, never stored in full."""
        return self is not IdentifierKind.CUSTOMER_NUMBER

    @property
    def country(self) -> Country | None:
        """Whose identity code this is; None for a customer number."""
        return _KIND_COUNTRIES.get(self)


_KIND_COUNTRIES = {
    IdentifierKind.HETU: Country.FI,
    IdentifierKind.PERSONNUMMER: Country.SE,
    IdentifierKind.FODSELSNUMMER: Country.NO,
}
IDENTITY_CODE_KINDS = {country: kind for kind, country in _KIND_COUNTRIES.items()}
"""The identifier kind of each country's identity code."""


@dataclass(frozen=True, slots=True)
class Identifier:
    """A validated identifier. Its ``repr`` is masked, so logging one by mistake leaks nothing."""

    kind: IdentifierKind
    value: str = field(repr=False)

    @property
    def display(self) -> str:
        """What may be shown to an agent: a masked identity code, or the customer number."""
        if self.kind is IdentifierKind.HETU:
            return mask_hetu(self.value)
        if self.kind is IdentifierKind.PERSONNUMMER:
            return mask_personnummer(self.value)
        if self.kind is IdentifierKind.FODSELSNUMMER:
            return mask_fodselsnummer(self.value)
        return self.value

    def __repr__(self) -> str:
        return f"Identifier({self.kind.value}, {self.display!r})"


@dataclass(frozen=True, slots=True)
class Query:
    """One lookup: who, and whether paid invoices are wanted too."""

    identifier: Identifier
    include_paid: bool = False


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """The agent typed nothing, or ``help``."""


class RefusalReason(StrEnum):
    """Why an input cannot be looked up."""

    INVALID_HETU = "invalid_hetu"  # HETU-shaped but fails validation (checksum, date, ...)
    INVALID_CODE = "invalid_code"  # the same for a personnummer or fødselsnummer
    FOREIGN_CODE = "foreign_code"  # a valid identity code of a country the app isn't set up for
    UNUSABLE = "unusable"  # neither a HETU nor an acceptable customer number
    TOO_MANY_WORDS = "too_many_words"  # extra words that are not a known flag


@dataclass(frozen=True, slots=True)
class Refusal:
    """A typed refusal with an agent-facing explanation that never contains a full HETU."""

    reason: RefusalReason
    message: str


MAX_INPUT_CHARS = 200
"""Longer input is refused before any parsing, so pasted essays cost nothing."""

MAX_CUSTOMER_NUMBER_CHARS = 40

HELP_WORDS = frozenset({"help", "?", "ohje", "apua", "hjälp", "hjelp"})
# "-all" is what "--all" becomes when a client turns "--" into a dash and we read it back as "-".
PAID_FLAGS = ("all", "--all", "kaikki", "alla")
"""The words that include paid invoices, as help shows them (English, Finnish, Swedish)."""
# Norwegian "alle" is accepted too, without crowding the help's list.
INCLUDE_PAID_FLAGS = frozenset({*PAID_FLAGS, "-all", "alle"})

_TOO_LONG = N_(
    "That is longer than {max_chars} characters: too long for an identity code or a customer "
    "number."
)
_NOT_A_HETU = N_(
    "That isn't an identity code. It has 11 characters: the birth date DDMMYY, a century sign, "
    "three digits and a check character."
)
_HETU_AS_CUSTOMER_NUMBER = N_(
    "That contains an identity code, so it can't be used as a customer number. "
    "Type the identity code on its own."
)


@dataclass(frozen=True, slots=True)
class _Texts:
    """What the refusals of one country say where they name its identity code."""

    empty: str
    unusable: str
    usage: str
    missing_identifier: str
    not_a_code: str


def _texts(country: Country) -> _Texts:
    """The refusal texts of ``country``, in the agent's language (built per refusal: cheap)."""
    if country is Country.FI:
        usage = _(
            "Type one identity code (HETU) or customer number, and {all} after it to include "
            "paid invoices. A customer number has no spaces."
        ).format(all=f"`{_(N_('all'))}`")
        return _Texts(
            empty=_("Type an identity code (HETU) or a customer number."),
            unusable=_(
                "That isn't an identity code or a customer number. An identity code is the "
                "birth date DDMMYY, a century sign, three digits and a check character. A "
                "customer number is 1 to {max_chars} letters, digits and the characters "
                "- _ . / with no spaces."
            ).format(max_chars=MAX_CUSTOMER_NUMBER_CHARS),
            usage=usage,
            missing_identifier=_("Which customer? {usage}").format(usage=usage),
            not_a_code=_(_NOT_A_HETU),
        )
    if country is Country.SE:
        code = _("personnummer")
        what_it_is = _(
            "A personnummer is the birth date YYMMDD or YYYYMMDD, then -, + or nothing, then "
            "four digits; a samordningsnummer is written the same way."
        )
        not_a_code = _(
            "That isn't a personnummer. It has 10 digits (YYMMDD-NNNN) or 12 (YYYYMMDDNNNN)."
        )
    else:
        code = _("fødselsnummer")
        what_it_is = _(
            "A fødselsnummer is 11 digits: the birth date DDMMYY and five more; a D-number or "
            "H-number is written the same way."
        )
        not_a_code = _(
            "That isn't a fødselsnummer. It has 11 digits: the birth date DDMMYY and five more."
        )
    usage = _(
        "Type one {code} or customer number, and {all} after it to include paid "
        "invoices. A customer number has no spaces."
    ).format(code=code, all=f"`{_(N_('all'))}`")
    return _Texts(
        empty=_("Type a {code} or a customer number.").format(code=code),
        unusable=_(
            "That isn't a {code} or a customer number. {what_it_is} A customer number is 1 "
            "to {max_chars} letters, digits and the characters - _ . / with no spaces."
        ).format(code=code, what_it_is=what_it_is, max_chars=MAX_CUSTOMER_NUMBER_CHARS),
        usage=usage,
        missing_identifier=_("Which customer? {usage}").format(usage=usage),
        not_a_code=not_a_code,
    )


# A valid identity code of another country, named in a refusal.
_A_FOREIGN_CODE = {
    Country.FI: N_("a Finnish HETU"),
    Country.SE: N_("a Swedish personnummer"),
    Country.NO: N_("a Norwegian fødselsnummer"),
}
_ROPO_ONE_OF = {
    Country.FI: N_("Ropo One Finland"),
    Country.SE: N_("Ropo One Sweden"),
    Country.NO: N_("Ropo One Norway"),
}
_CODES_ACCEPTED = {
    Country.FI: N_("Finnish identity codes (HETU)"),
    Country.SE: N_("Swedish identity codes (personnummer)"),
    Country.NO: N_("Norwegian identity codes (fødselsnummer)"),
}

# Typed or pasted look-alikes of "-" become "-"; invisible characters that ride along with
# copy-paste are dropped, so what the agent sees is what is parsed.
_CLEANUP = {
    **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"),
    **dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None),
}

# ASCII only: with Unicode matching, \d takes Arabic-Indic digits and IGNORECASE matches the
# Kelvin sign as "k", neither of which may reach Ropo inside a "valid" code.
_FLAGS = re.ASCII | re.IGNORECASE
_PREFIX = re.compile(r"(hetu|ssn|pnr|fnr|cust):", _FLAGS)
_PREFIX_WORDS = frozenset({"hetu:", "ssn:", "pnr:", "fnr:", "cust:"})
_HETU = re.compile(r"[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Z]", _FLAGS)
# "Almost a HETU": a birth date and a century sign, then 3 to 5 letters or digits (one
# character dropped, added or mistyped). It is refused as an invalid identity code, never sent
# to Ropo as a customer number, where a near-miss identity code would just not match and would
# be shown and stored in full. A customer number of this shape can still be forced with `cust:`.
_NEAR_HETU = re.compile(r"[0-9]{6}[-+A-FU-Y][0-9A-Z]{3,5}", _FLAGS)
_HETU_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Z](?![0-9A-Za-z])", _FLAGS
)
# Swedish and Norwegian codes in free text: whole digit runs (a separator only before the
# last four), not inside a longer word or number.
_CODE_IN_TEXT = {
    Country.SE: re.compile(r"(?<![0-9A-Za-z+-])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9A-Za-z])"),
    Country.NO: re.compile(r"(?<![0-9A-Za-z+-])[0-9]{11}(?![0-9A-Za-z])"),
}
_CENTURY_YEARS = {"+": 1800, **dict.fromkeys("-UVWXY", 1900), **dict.fromkeys("ABCDEF", 2000)}
_CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_LENGTH = 11

# Letters are ASCII plus the Nordic letters customers of Finnish, Swedish, Norwegian and Danish
# businesses have in their names (Å Ä Ö Æ Ø), after NFC so a decomposed "A" + umlaut counts.
# The first character must be a letter or digit: "-x", "." and "/" are not customer numbers.
_CUSTOMER_CHAR = "0-9A-Za-zÅÄÖÆØåäöæø"
_CUSTOMER_NUMBER = re.compile(
    f"[{_CUSTOMER_CHAR}][{_CUSTOMER_CHAR}_./-]{{0,{MAX_CUSTOMER_NUMBER_CHARS - 1}}}"
)
_LABELLED_CUSTOMER_NUMBER = re.compile(
    r"""
    (?<![^\W_])                                 # not inside a word; _italic_ is fine
    (?:
        (?:
            asiakas-?(?:numero[a-zåäö]*|nro|nr) # Finnish, with any case ending: asiakasnumeroni
          | kunde?-?(?:nummer(?:et)?|numret|nr) # Swedish kund-, Norwegian and Danish kunde-
          | (?:customer|cust\.?)[^\S\n]*(?:number|no|nr)
        )
        (?:\.|(?![^\W\d_]))                    # "customer no.", not "customer numbers" or "note"
      | (?:customer|cust\.?)[^\S\n]*\#
    )
    [*_~`\s]*                                   # spaces and *bold* or `code` marks, then
    (?:[:#-][*_~`\s]*)?                         # an optional separator, then
    (?:(?:is|on|är|er)[*_~`\s]+)?               # "is" in English, Finnish, Swedish, Norwegian
    (?P<value>[0-9A-Za-zÅÄÖÆØåäöæø][0-9A-Za-zÅÄÖÆØåäöæø_./-]*)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def parse_command(text: str, country: Country = Country.FI) -> Query | HelpRequest | Refusal:
    """Read ``/invoices <identifier> [all]`` into a query, a request for help, or a refusal.

    Words are split on any Unicode whitespace, so Slack's non-breaking spaces separate too.
    ``all``, ``--all``, ``kaikki`` and ``alla`` (any case, anywhere) include paid invoices.
    A ``hetu:``, ``ssn:``, ``pnr:``, ``fnr:`` or ``cust:`` prefix may be followed by a space.
    ``country`` decides which national identity code is accepted (see :func:`parse_identifier`).
    """
    if len(text) > MAX_INPUT_CHARS:
        return Refusal(RefusalReason.UNUSABLE, _(_TOO_LONG).format(max_chars=MAX_INPUT_CHARS))
    words = _join_prefixes(_clean(text).split())
    identifiers = [word for word in words if word.casefold() not in INCLUDE_PAID_FLAGS]
    include_paid = len(identifiers) < len(words)
    if not words or (len(identifiers) == 1 and identifiers[0].casefold() in HELP_WORDS):
        return HelpRequest()
    if not identifiers:
        return Refusal(RefusalReason.UNUSABLE, _texts(country).missing_identifier)
    if len(identifiers) > 1:
        return Refusal(RefusalReason.TOO_MANY_WORDS, _texts(country).usage)
    identifier = parse_identifier(identifiers[0], country)
    if isinstance(identifier, Refusal):
        return identifier
    return Query(identifier, include_paid=include_paid)


def parse_identifier(text: str, country: Country = Country.FI) -> Identifier | Refusal:
    """Read one identity code or customer number, or say why it can't be looked up.

    ``country`` decides which identity code is accepted: the HETU (fi), the personnummer or
    samordningsnummer (se), the fødselsnummer, D- or H-number (no). A ``hetu:``/``ssn:``/
    ``pnr:``/``fnr:`` or ``cust:`` prefix forces the reading. Otherwise anything written like
    the country's code, or almost, is read as one and must be valid; a valid code of another
    country is refused with its name; everything else must pass as a customer number.
    Refusal messages never repeat the input, except a masked identity code.
    """
    if len(text) > MAX_INPUT_CHARS:
        return Refusal(RefusalReason.UNUSABLE, _(_TOO_LONG).format(max_chars=MAX_INPUT_CHARS))
    value = _clean(text).strip()
    if not value:
        return Refusal(RefusalReason.UNUSABLE, _texts(country).empty)
    prefix = _PREFIX.match(value)
    if prefix is None:
        if _is_code_attempt(value, country):
            return _parse_own_code(value, country)
        return _foreign_code(value, country) or _parse_customer_number(value, country)
    rest = value[prefix.end() :].strip()
    if prefix.group(1).lower() == "cust":
        return _parse_customer_number(rest, country)
    if not _is_code_attempt(rest, country):
        return _foreign_code(rest, country) or _parse_code(rest, country)
    return _parse_own_code(rest, country)


def _parse_own_code(value: str, country: Country) -> Identifier | Refusal:
    """``value``, written like ``country``'s code, as one; if invalid, say so.

    Some invalid codes are valid ones of another country (a HETU written without a letter
    is shaped like a personnummer): the refusal stays "invalid", for a mistyped code is the
    likelier story, and adds what the other country would make of it.
    """
    parsed = _parse_code(value, country)
    if isinstance(parsed, Identifier):
        return parsed
    foreign = _foreign_code(value, country)
    if foreign is None:
        return parsed
    return Refusal(parsed.reason, f"{parsed.message} {foreign.message}")


def _is_code_attempt(value: str, country: Country) -> bool:
    """True if ``value`` is written like ``country``'s identity code, valid or not."""
    if country is Country.SE:
        return is_personnummer_attempt(value)
    if country is Country.NO:
        return is_fodselsnummer_attempt(value)
    return bool(_NEAR_HETU.fullmatch(value) or _HETU.fullmatch(value))


def _parse_code(value: str, country: Country) -> Identifier | Refusal:
    """``value`` as ``country``'s identity code, or why it isn't a valid one."""
    if country is Country.FI:
        return _parse_hetu(value)
    if not value:
        return Refusal(
            RefusalReason.INVALID_CODE,
            _("Type the {code} after the prefix.").format(code=_(country.code_name)),
        )
    if not _is_code_attempt(value, country) and not _CODE_IN_TEXT[country].fullmatch(value):
        return Refusal(RefusalReason.INVALID_CODE, _texts(country).not_a_code)
    kind = IDENTITY_CODE_KINDS[country]
    try:
        if country is Country.SE:
            return Identifier(kind, parse_personnummer(value))
        return Identifier(kind, parse_fodselsnummer(value))
    except InvalidCode as problem:
        shown = _mask_unchecked(value, country)
        # Digits alone may be a date-based customer number: say how to look one up.
        hint = (
            " " + _("If it is a customer number, type cust: before it.") if value.isdigit() else ""
        )
        return Refusal(
            RefusalReason.INVALID_CODE,
            _("{shown} isn't a valid {code}.").format(shown=shown, code=_(country.code_name))
            + f" {problem}{hint}",
        )


def _mask_unchecked(value: str, country: Country) -> str:
    """A code that failed its check, masked to its date part as a valid one would be."""
    if country is Country.NO:
        return mask_fodselsnummer(value)
    return value[:-4] + "****"


def _foreign_code(value: str, country: Country) -> Refusal | None:
    """A refusal naming the country whose valid identity code ``value`` is, if any."""
    for other in Country:
        if other is country or not _is_code_attempt(value, other):
            continue
        if isinstance(_parse_code(value, other), Identifier):
            return Refusal(
                RefusalReason.FOREIGN_CODE,
                _(
                    "That looks like {a_foreign_code}; this app is connected to {ropo_one}, "
                    "so it looks up {codes} and customer numbers."
                ).format(
                    a_foreign_code=_(_A_FOREIGN_CODE[other]),
                    ropo_one=_(_ROPO_ONE_OF[country]),
                    codes=_(_CODES_ACCEPTED[country]),
                ),
            )
    return None


def find_identifiers(text: str, country: Country = Country.FI) -> list[Identifier]:
    """Every valid identity code and labelled customer number in free text, in order, once each.

    Identity codes are ``country``'s only (HETU, personnummer or fødselsnummer).

    A customer number counts only after a label such as ``asiakasnumero``, ``customer no.``
    or ``kundnr``, and only if it has a digit in it: "customer number is missing" names none.
    Invalid HETUs are ignored. HETUs inside Slack links and mailto markup count.
    """
    text = _clean(text)
    found: list[tuple[int, Identifier]] = []
    pattern = _HETU_IN_TEXT if country is Country.FI else _CODE_IN_TEXT[country]
    for match in pattern.finditer(text):
        code = _parse_code(match.group(), country)
        if isinstance(code, Identifier):
            found.append((match.start(), code))
    for match in _LABELLED_CUSTOMER_NUMBER.finditer(text):
        if match.end() < len(text) and (text[match.end()].isalnum() or text[match.end()] == "+"):
            continue  # runs on into a character it can't have; "+" would make it a HETU
        value = match.group("value").rstrip("._/-")  # "My customer number is C-1001."
        if not any(char.isdigit() for char in value):
            continue
        customer_number = _parse_customer_number(value, country)
        if isinstance(customer_number, Identifier):
            found.append((match.start("value"), customer_number))
    found.sort(key=lambda item: item[0])
    return list(dict.fromkeys(identifier for _at, identifier in found))


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_CLEANUP)


def _join_prefixes(words: list[str]) -> list[str]:
    """Glue ``hetu:`` and the word after it back together: the space was after the colon."""
    joined: list[str] = []
    for word in words:
        if joined and joined[-1].casefold() in _PREFIX_WORDS:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _parse_hetu(value: str) -> Identifier | Refusal:
    if _HETU.fullmatch(value):
        code = value.upper()  # the century sign is upper-cased, never rewritten: "-" is not "Y"
        try:
            stdnum_hetu.validate(code, allow_temporary=True)
        except InvalidChecksum:
            return _invalid_hetu(
                code, _("The check character doesn't match: the code may be mistyped.")
            )
        except ValidationError:
            return _invalid_hetu(code, _hetu_problem(code))
        return Identifier(IdentifierKind.HETU, code)
    if _NEAR_HETU.fullmatch(value):
        if len(value) != _HETU_LENGTH:
            return _invalid_hetu(
                value,
                _("An identity code has 11 characters; this has {count}.").format(count=len(value)),
            )
        return _invalid_hetu(
            value, _("After the century sign come three digits and a check character.")
        )
    if not value:
        return Refusal(RefusalReason.INVALID_HETU, _("Type the identity code after the prefix."))
    return Refusal(RefusalReason.INVALID_HETU, _(_NOT_A_HETU))


def _hetu_problem(code: str) -> str:
    """Why python-stdnum refused a HETU-shaped ``code`` for a reason other than its checksum."""
    try:
        datetime.date(_CENTURY_YEARS[code[6]] + int(code[4:6]), int(code[2:4]), int(code[:2]))
    except ValueError:
        return _("That date doesn't exist.")
    if int(code[7:10]) < 2:
        return _("The three digits after the century sign can't be 000 or 001.")
    if code[10] not in _CHECK_CHARACTERS:
        return _("The last character is never a check character: the code may be mistyped.")
    return _("It doesn't pass the identity code check.")


def _invalid_hetu(code: str, problem: str) -> Refusal:
    return Refusal(
        RefusalReason.INVALID_HETU,
        _("{shown} isn't a valid identity code.").format(shown=mask_hetu(code)) + f" {problem}",
    )


def _parse_customer_number(value: str, country: Country = Country.FI) -> Identifier | Refusal:
    if not value:
        return Refusal(RefusalReason.UNUSABLE, _texts(country).empty)
    if not _CUSTOMER_NUMBER.fullmatch(value):
        return Refusal(RefusalReason.UNUSABLE, _texts(country).unusable)
    # A customer number is shown and stored as is, so it must not carry an identity code:
    # anything HETU-shaped, or a Swedish or Norwegian code that passes its check.
    if HETU_SHAPE.search(value) or redact_national_ids(value) != value:
        return Refusal(RefusalReason.UNUSABLE, _(_HETU_AS_CUSTOMER_NUMBER))
    return Identifier(IdentifierKind.CUSTOMER_NUMBER, value)
