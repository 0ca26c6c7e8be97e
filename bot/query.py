"""What the agent typed -> a question for Ropo One, or a typed refusal. No Slack, no HTTP."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fi import hetu as stdnum_hetu

from bot.redact import HETU_SHAPE, mask_hetu


class IdentifierKind(StrEnum):
    """Which Ropo field an identifier goes into."""

    HETU = "hetu"  # sent as ``ssn``
    CUSTOMER_NUMBER = "custnum"  # sent as ``custnum``


@dataclass(frozen=True, slots=True)
class Identifier:
    """A validated identifier. Its ``repr`` is masked, so logging one by mistake leaks nothing."""

    kind: IdentifierKind
    value: str = field(repr=False)

    @property
    def display(self) -> str:
        """What may be shown to an agent: a masked HETU, or the customer number as is."""
        return mask_hetu(self.value) if self.kind is IdentifierKind.HETU else self.value

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

HELP_WORDS = frozenset({"help", "?", "ohje", "hjälp"})
# "-all" is what "--all" becomes when a client turns "--" into a dash and we read it back as "-".
PAID_FLAGS = ("all", "--all", "kaikki", "alla")
"""The words that include paid invoices, as help shows them (English, Finnish, Swedish)."""
INCLUDE_PAID_FLAGS = frozenset({*PAID_FLAGS, "-all"})

_TOO_LONG = (
    f"That is longer than {MAX_INPUT_CHARS} characters: "
    "too long for an identity code or a customer number."
)
_EMPTY = "Type an identity code (HETU) or a customer number."
_WHAT_IS_ACCEPTED = (
    "An identity code is the birth date DDMMYY, a century sign, three digits and a check "
    f"character. A customer number is 1 to {MAX_CUSTOMER_NUMBER_CHARS} letters, digits "
    "and the characters - _ . / with no spaces."
)
_UNUSABLE = f"That isn't an identity code or a customer number. {_WHAT_IS_ACCEPTED}"
_USAGE = (
    "Type one identity code (HETU) or customer number, and `all` after it to include paid "
    "invoices. A customer number has no spaces."
)
_MISSING_IDENTIFIER = f"Which customer? {_USAGE}"
_NOT_A_HETU = (
    "That isn't an identity code. It has 11 characters: the birth date DDMMYY, a century sign, "
    "three digits and a check character."
)
_HETU_AS_CUSTOMER_NUMBER = (
    "That contains an identity code, so it can't be used as a customer number. "
    "Type the identity code on its own."
)

# Typed or pasted look-alikes of "-" become "-"; invisible characters that ride along with
# copy-paste are dropped, so what the agent sees is what is parsed.
_CLEANUP = {
    **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"),
    **dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None),
}

# ASCII only: with Unicode matching, \d takes Arabic-Indic digits and IGNORECASE matches the
# Kelvin sign as "k", neither of which may reach Ropo inside a "valid" code.
_FLAGS = re.ASCII | re.IGNORECASE
_PREFIX = re.compile(r"(hetu|ssn|cust):", _FLAGS)
_PREFIX_WORDS = frozenset({"hetu:", "ssn:", "cust:"})
_HETU = re.compile(r"[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Z]", _FLAGS)
# "Almost a HETU": a birth date and a century sign, then 3 to 5 letters or digits (one
# character dropped, added or mistyped). It is refused as an invalid identity code, never sent
# to Ropo as a customer number, where a near-miss identity code would just not match and would
# be shown and stored in full. A customer number of this shape can still be forced with `cust:`.
_NEAR_HETU = re.compile(r"[0-9]{6}[-+A-FU-Y][0-9A-Z]{3,5}", _FLAGS)
_HETU_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Z](?![0-9A-Za-z])", _FLAGS
)
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


def parse_command(text: str) -> Query | HelpRequest | Refusal:
    """Read ``/invoices <identifier> [all]`` into a query, a request for help, or a refusal.

    Words are split on any Unicode whitespace, so Slack's non-breaking spaces separate too.
    ``all``, ``--all``, ``kaikki`` and ``alla`` (any case, anywhere) include paid invoices.
    A ``hetu:``, ``ssn:`` or ``cust:`` prefix may be followed by a space.
    """
    if len(text) > MAX_INPUT_CHARS:
        return Refusal(RefusalReason.UNUSABLE, _TOO_LONG)
    words = _join_prefixes(_clean(text).split())
    identifiers = [word for word in words if word.casefold() not in INCLUDE_PAID_FLAGS]
    include_paid = len(identifiers) < len(words)
    if not words or (len(identifiers) == 1 and identifiers[0].casefold() in HELP_WORDS):
        return HelpRequest()
    if not identifiers:
        return Refusal(RefusalReason.UNUSABLE, _MISSING_IDENTIFIER)
    if len(identifiers) > 1:
        return Refusal(RefusalReason.TOO_MANY_WORDS, _USAGE)
    identifier = parse_identifier(identifiers[0])
    if isinstance(identifier, Refusal):
        return identifier
    return Query(identifier, include_paid=include_paid)


def parse_identifier(text: str) -> Identifier | Refusal:
    """Read one identity code (HETU) or customer number, or say why it can't be looked up.

    A ``hetu:``/``ssn:`` or ``cust:`` prefix forces the reading. Otherwise anything shaped like
    a HETU, or almost, is read as one and must be valid; everything else must pass as a
    customer number. Refusal messages never repeat the input, except a masked HETU.
    """
    if len(text) > MAX_INPUT_CHARS:
        return Refusal(RefusalReason.UNUSABLE, _TOO_LONG)
    value = _clean(text).strip()
    if not value:
        return Refusal(RefusalReason.UNUSABLE, _EMPTY)
    prefix = _PREFIX.match(value)
    if prefix is None:
        if _NEAR_HETU.fullmatch(value) or _HETU.fullmatch(value):
            return _parse_hetu(value)
        return _parse_customer_number(value)
    rest = value[prefix.end() :].strip()
    if prefix.group(1).lower() == "cust":
        return _parse_customer_number(rest)
    return _parse_hetu(rest)


def find_identifiers(text: str) -> list[Identifier]:
    """Every valid HETU and every labelled customer number in free text, in order, once each.

    A customer number counts only after a label such as ``asiakasnumero``, ``customer no.``
    or ``kundnr``, and only if it has a digit in it: "customer number is missing" names none.
    Invalid HETUs are ignored. HETUs inside Slack links and mailto markup count.
    """
    text = _clean(text)
    found: list[tuple[int, Identifier]] = []
    for match in _HETU_IN_TEXT.finditer(text):
        hetu = _parse_hetu(match.group())
        if isinstance(hetu, Identifier):
            found.append((match.start(), hetu))
    for match in _LABELLED_CUSTOMER_NUMBER.finditer(text):
        if match.end() < len(text) and (text[match.end()].isalnum() or text[match.end()] == "+"):
            continue  # runs on into a character it can't have; "+" would make it a HETU
        value = match.group("value").rstrip("._/-")  # "My customer number is C-1001."
        if not any(char.isdigit() for char in value):
            continue
        customer_number = _parse_customer_number(value)
        if isinstance(customer_number, Identifier):
            found.append((match.start("value"), customer_number))
    found.sort(key=lambda item: item[0])
    return list(dict.fromkeys(identifier for _, identifier in found))


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
                code, "The check character doesn't match: the code may be mistyped."
            )
        except ValidationError:
            return _invalid_hetu(code, _hetu_problem(code))
        return Identifier(IdentifierKind.HETU, code)
    if _NEAR_HETU.fullmatch(value):
        if len(value) != _HETU_LENGTH:
            return _invalid_hetu(
                value, f"An identity code has 11 characters; this has {len(value)}."
            )
        return _invalid_hetu(
            value, "After the century sign come three digits and a check character."
        )
    if not value:
        return Refusal(RefusalReason.INVALID_HETU, "Type the identity code after the prefix.")
    return Refusal(RefusalReason.INVALID_HETU, _NOT_A_HETU)


def _hetu_problem(code: str) -> str:
    """Why python-stdnum refused a HETU-shaped ``code`` for a reason other than its checksum."""
    try:
        datetime.date(_CENTURY_YEARS[code[6]] + int(code[4:6]), int(code[2:4]), int(code[:2]))
    except ValueError:
        return "That date doesn't exist."
    if int(code[7:10]) < 2:
        return "The three digits after the century sign can't be 000 or 001."
    if code[10] not in _CHECK_CHARACTERS:
        return "The last character is never a check character: the code may be mistyped."
    return "It doesn't pass the identity code check."


def _invalid_hetu(code: str, problem: str) -> Refusal:
    return Refusal(
        RefusalReason.INVALID_HETU, f"{mask_hetu(code)} isn't a valid identity code. {problem}"
    )


def _parse_customer_number(value: str) -> Identifier | Refusal:
    if not value:
        return Refusal(RefusalReason.UNUSABLE, _EMPTY)
    if not _CUSTOMER_NUMBER.fullmatch(value):
        return Refusal(RefusalReason.UNUSABLE, _UNUSABLE)
    # A customer number is shown and stored as is, so it must not carry an identity code.
    if HETU_SHAPE.search(value):
        return Refusal(RefusalReason.UNUSABLE, _HETU_AS_CUSTOMER_NUMBER)
    return Identifier(IdentifierKind.CUSTOMER_NUMBER, value)
