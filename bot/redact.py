"""Keep identity codes out of text that may be logged or shown.

Anything shaped like a Finnish personal identity code (HETU), valid or not, is masked to
``DDMMYY-****``-style: the date part stays (it helps support), the individual number and
check character go.
"""

from __future__ import annotations

import logging
import re

# DDMMYY, a century sign (+ - A B C D E F U V W X Y), three digits and a check character.
# Case-insensitive and not anchored: it must catch codes embedded in JSON, URLs and sentences.
HETU_SHAPE = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})([-+A-FU-Ya-fu-y])(\d{3}[0-9A-Za-z])(?![0-9A-Za-z])"
)


# Slack tokens (xoxb-, xoxp-, xapp-, ...) and bearer tokens (Ropo's JWTs) in any text.
SECRET_SHAPE = re.compile(
    r"\b(?:xox[abeoprs]|xapp)-[0-9A-Za-z-]{6,}|(?<=[Bb]earer )[0-9A-Za-z._~+/=-]{8,}"
)


def mask_hetu(hetu: str) -> str:
    """Return ``131052-****`` for ``131052-308T``: birth date and century sign, nothing more."""
    return f"{hetu[:7].upper()}****"


def redact(text: str) -> str:
    """Mask every HETU-shaped substring and every token-shaped secret in ``text``."""
    text = HETU_SHAPE.sub(lambda m: mask_hetu(m.group(0)), text)
    return SECRET_SHAPE.sub("[redacted]", text)


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
