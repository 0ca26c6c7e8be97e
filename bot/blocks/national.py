"""How help, forms and refusals name the identity code of the country the app is set up for.

One place for the words, so the HETU, the personnummer and the fødselsnummer are named the
same way on every surface. Examples are patterns, never sample codes: no payload ever holds
a full identity code, so a scan of everything sent to Slack needs no exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot import ids
from bot.i18n import N_, _
from bot.national_ids import Country


@dataclass(frozen=True, slots=True)
class CodeWords:
    """The words for one country's identity code (``msgid``s until :func:`code_words`)."""

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
        return _("{command} <{code} or customer number> [{all}]").format(
            command=ids.COMMAND, code=self.short, all=_(N_("all"))
        )


_WORDS = {
    Country.FI: CodeWords(
        short=N_("HETU"),
        plain=N_("identity code"),
        full=N_("personal identity code (HETU)"),
        pattern="DDMMYY-NNNX",
        masked="131052-****",
        field_label=N_("Identity code (HETU) or customer number"),
        invalid_advice=N_("the date, the century sign and the last character must all match"),
    ),
    Country.SE: CodeWords(
        short=N_("personnummer"),
        plain=N_("personnummer"),
        full=N_("personnummer (or samordningsnummer)"),
        pattern="YYMMDD-NNNN",
        masked="811228-****",
        field_label=N_("Personnummer or customer number"),
        invalid_advice=N_(
            "the date (a samordningsnummer's day plus 60) and the last digit must "
            "match; for someone aged 100 or more, write + instead of -"
        ),
    ),
    Country.NO: CodeWords(
        short=N_("fødselsnummer"),
        plain=N_("fødselsnummer"),
        full=N_("fødselsnummer (or D- or H-number)"),
        pattern="DDMMYYNNNNN",
        masked="151086*****",
        field_label=N_("Fødselsnummer or customer number"),
        invalid_advice=N_("all 11 digits: the date and the two check digits must match"),
    ),
}


def code_words(country: Country) -> CodeWords:
    """The words for ``country``'s identity code, in the agent's language."""
    words = _WORDS[country]
    return replace(
        words,
        short=_(words.short),
        plain=_(words.plain),
        full=_(words.full),
        field_label=_(words.field_label),
        invalid_advice=_(words.invalid_advice),
    )
