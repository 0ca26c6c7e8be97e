"""Hypothesis strategies that build checksum-valid Swedish and Norwegian identity codes.

Built from the published rules (Luhn for Sweden; the two weighted mod-11 digits and the
individual-number centuries for Norway), not from bot/national_ids.py or python-stdnum, so a
test that uses them checks the app against the rules, not against itself.
"""

from __future__ import annotations

import datetime

from hypothesis import assume
from hypothesis import strategies as st

TODAY = datetime.date.today()


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for ``digits`` (doubling every second digit from the right)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


@st.composite
def personnummer(draw: st.DrawFn, *, samordning: bool | None = None) -> tuple[str, datetime.date]:
    """A valid personnummer (or samordningsnummer) as 12 digits, and the birth date in it."""
    born = draw(st.dates(datetime.date(TODAY.year - 99, 1, 1), TODAY))
    coordination = draw(st.booleans()) if samordning is None else samordning
    day = born.day + (60 if coordination else 0)
    serial = draw(st.integers(0, 999))
    body = f"{born.year % 100:02d}{born.month:02d}{day:02d}{serial:03d}"
    return f"{born.year // 100:02d}{body}{luhn_digit(body)}", born


@st.composite
def personnummer_written(draw: st.DrawFn) -> tuple[str, str]:
    """A valid personnummer written any accepted way, and its canonical 12 digits."""
    canonical, _ = draw(personnummer())
    form = draw(st.sampled_from(["12", "12-", "10", "10-"]))
    written = {
        "12": canonical,
        "12-": f"{canonical[:8]}-{canonical[8:]}",
        "10": canonical[2:],
        "10-": f"{canonical[2:8]}-{canonical[8:]}",
    }[form]
    return written, canonical


def _no_check_digits(nine: str) -> str | None:
    k1 = (11 - sum(w * int(n) for w, n in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), nine, strict=True))) % 11
    if k1 == 10:
        return None
    ten = nine + str(k1)
    k2 = (
        11 - sum(w * int(n) for w, n in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), ten, strict=True))
    ) % 11
    return None if k2 == 10 else f"{k1}{k2}"


@st.composite
def fodselsnummer(draw: st.DrawFn, *, kind: str | None = None) -> str:
    """A valid fødselsnummer, D-number (day + 40) or H-number (month + 40): 11 digits."""
    born = draw(st.dates(datetime.date(1900, 1, 1), min(TODAY, datetime.date(2039, 12, 31))))
    # Individual numbers by century: 000-499 for 1900-1999, 500-999 for 2000-2039.
    individual = draw(st.integers(0, 499) if born.year < 2000 else st.integers(500, 999))
    which = kind or draw(st.sampled_from(["f", "d", "h"]))
    day = born.day + (40 if which == "d" else 0)
    month = born.month + (40 if which == "h" else 0)
    nine = f"{day:02d}{month:02d}{born.year % 100:02d}{individual:03d}"
    check = _no_check_digits(nine)
    assume(check is not None)
    return f"{nine}{check}"
