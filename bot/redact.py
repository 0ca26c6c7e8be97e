"""Keep identity codes out of text that may be logged or shown.

Anything shaped like a Finnish personal identity code (HETU), valid or not, is masked to
``DDMMYY-****``-style: the date part stays (it helps support), the individual number and
check character go.
"""

from __future__ import annotations

import logging
import re

from bot.national_ids import redact_national_ids

# Characters nobody sees, which a pasted code may carry between its digits.
INVISIBLES = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
# Typed or pasted look-alikes of "-" (autocorrect's en dash, the minus sign, the full-width
# hyphen, ...): the parser reads each as "-", so each is a century sign here too.
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_INVISIBLE = dict.fromkeys(map(ord, INVISIBLES))


def _written(char: str) -> str:
    """A pattern for ``char`` as a log line may carry it, other than literally.

    Percent-encoded (a form body, a URL; twice over when a URL is in a URL), or escaped as
    JSON and Python's repr write it (``\\u2013``; more backslashes when JSON is in JSON,
    ``%5C`` when that JSON is in a form body).
    """
    percent = "".join(f"%(?:25)*{byte:02x}" for byte in char.encode())
    forms = [percent, rf"(?:\\|%(?:25)*5c)+u{ord(char):04x}"]
    if ord(char) < 0x100:
        forms.append(rf"(?:\\|%(?:25)*5c)+x{ord(char):02x}")
    return "|".join(forms)


# DDMMYY, a century sign, three digits and a check character, anywhere: inside a longer
# token too ("FI131052-308T" is no customer number to show in full), in either case. The
# century sign is any the parser accepts (+ - A-F U-Y, a look-alike dash), also encoded or
# escaped, and escaped invisible characters may sit between any two characters (literal ones
# are dropped before matching).
# Every escaped form starts with "%" or a backslash: the lookahead makes a digit followed by
# anything else (almost every digit in a log line) fail fast.
_GAP = "(?:(?=[%\\\\])(?:" + "|".join(_written(char) for char in INVISIBLES) + "))*+"
_CENTURY_SIGN = (
    f"[-+A-FU-Y{DASHES}]|(?=[%\\\\])(?:" + "|".join(_written(char) for char in "-+" + DASHES) + ")"
)
_CHARACTERS_AFTER_SIGN = rf"\d{_GAP}\d{_GAP}\d{_GAP}[0-9A-Z]"
HETU_SHAPE = re.compile(
    rf"(\d(?:{_GAP}\d){{5}}){_GAP}({_CENTURY_SIGN}){_GAP}({_CHARACTERS_AFTER_SIGN})",
    re.IGNORECASE | re.ASCII,
)
_GAP_CHARACTER = re.compile(_GAP.removesuffix("*+"), re.IGNORECASE | re.ASCII)
# Every encoded or escaped form has a "%" or a backslash in it: text with neither (most log
# lines) is matched with the plain pattern, which is as fast as a pattern for HETUs can be.
_PLAIN_HETU_SHAPE = re.compile(
    rf"(\d{{6}})([-+A-FU-Y{DASHES}])(\d{{3}}[0-9A-Z])", re.IGNORECASE | re.ASCII
)


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
    is masked too; a code URL-encoded or JSON-escaped (``131052%2D308T``,
    ``131052\\u2013308T``) is masked as written.
    """
    text = text.translate(_INVISIBLE)
    shape = HETU_SHAPE if "%" in text or "\\" in text else _PLAIN_HETU_SHAPE
    text = redact_national_ids(shape.sub(_mask_match, text))
    return SECRET_SHAPE.sub("[redacted]", text)


def _mask_match(match: re.Match[str]) -> str:
    """Keep the birth date and the century sign as written (a letter upper-cased)."""
    birth_date = _GAP_CHARACTER.sub("", match.group(1))
    sign = match.group(2)
    return f"{birth_date}{sign.upper() if len(sign) == 1 else sign}****"


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
