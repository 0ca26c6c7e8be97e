"""How help, forms and refusals name the identity code of the country the app is set up for.

One place for the words, so the HETU, the personnummer and the fødselsnummer are named the
same way on every surface. Examples are patterns, never sample codes: no payload ever holds
a full identity code, so a scan of everything sent to Slack needs no exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import ids
from bot.national_ids import Country


@dataclass(frozen=True, slots=True)
class CodeWords:
    """The words for one country's identity code."""

    short: str  # "HETU": in "Give one HETU or customer number"
    plain: str  # "identity code": in "the person with this identity code"
    full: str  # "personal identity code (HETU)": in "Look the customer up by their ..."
    pattern: str  # "DDMMYY-NNNX": the help's example, a pattern, not a code
    masked: str  # "131052-****": what a reply shows
    field_label: str  # the lookup form's field
    invalid_advice: str  # what to check when a code is refused as invalid

    @property
    def usage(self) -> str:
        """``/invoices <HETU or customer number> [all]``."""
        return f"{ids.COMMAND} <{self.short} or customer number> [all]"


_WORDS = {
    Country.FI: CodeWords(
        short="HETU",
        plain="identity code",
        full="personal identity code (HETU)",
        pattern="DDMMYY-NNNX",
        masked="131052-****",
        field_label="Identity code (HETU) or customer number",
        invalid_advice="the date, the century sign and the last character must all match",
    ),
    Country.SE: CodeWords(
        short="personnummer",
        plain="personnummer",
        full="personnummer (or samordningsnummer)",
        pattern="YYMMDD-NNNN",
        masked="811228-****",
        field_label="Personnummer or customer number",
        invalid_advice="the date (a samordningsnummer's day plus 60) and the last digit must "
        "match; for someone aged 100 or more, write + instead of -",
    ),
    Country.NO: CodeWords(
        short="fødselsnummer",
        plain="fødselsnummer",
        full="fødselsnummer (or D- or H-number)",
        pattern="DDMMYYNNNNN",
        masked="151086*****",
        field_label="Fødselsnummer or customer number",
        invalid_advice="all 11 digits: the date and the two check digits must match",
    ),
}


def code_words(country: Country) -> CodeWords:
    """The words for ``country``'s identity code."""
    return _WORDS[country]
