"""Keep identity codes out of text that may be logged or shown.

Anything shaped like a Finnish personal identity code (HETU), valid or not, is masked to
``DDMMYY-****``-style: the date part stays (it helps support), the individual number and
check character go.
"""

from __future__ import annotations

import logging
import re

from bot.national_ids import redact_national_ids

# DDMMYY, a century sign, three digits and a check character, anywhere: inside a longer
# token too ("FI131052-308T" is no customer number to show in full). The century sign may be
# any of + - A-F U-Y in either case, a look-alike dash (autocorrect's en dash, the minus
# sign: the parser accepts those), or percent-encoded as in a form body (%2B for "+").
_CENTURY_SIGN = r"[-+A-FU-Ya-fu-y\u2010-\u2015\u2212]|%2[Bb]|%[Ee]2%80%9[0-5]|%[Ee]2%88%92"
HETU_SHAPE = re.compile(rf"(\d{{6}})({_CENTURY_SIGN})(\d{{3}}[0-9A-Za-z])")
# Characters nobody sees, which a pasted code may carry between its digits.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


# Slack tokens (xoxb-, xoxp-, xapp-, ...) and bearer tokens (Ropo's JWTs) in any text.
SECRET_SHAPE = re.compile(
    r"\b(?:xox[abeoprs]|xapp)-[0-9A-Za-z-]{6,}|(?<=[Bb]earer )[0-9A-Za-z._~+/=-]{8,}"
)


def mask_hetu(hetu: str) -> str:
    """Return ``131052-****`` for ``131052-308T``: birth date and century sign, nothing more."""
    return f"{hetu[:7].upper()}****"


def redact(text: str) -> str:
    """Mask every HETU-shaped substring and every token-shaped secret in ``text``.

    Invisible characters are dropped first, so a code pasted with a zero-width space in it
    is masked too.
    """
    text = redact_national_ids(HETU_SHAPE.sub(_mask_match, text.translate(_INVISIBLE)))
    return SECRET_SHAPE.sub("[redacted]", text)


def _mask_match(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2).upper()}****"


class RedactingFilter(logging.Filter):
    """A logging filter that masks HETU-shaped text in a record's message, args and traceback.

    It rewrites the record in place so every handler after it sees only the masked text.
    ``secrets`` are literal values (the Ropo apicode, the signing secret) masked as well.
    """

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if len(s) >= 4)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self._clean(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True
