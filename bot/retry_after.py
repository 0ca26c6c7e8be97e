"""One reading of HTTP's ``Retry-After`` header, for Ropo One, Slack's Web API and response_url."""

from __future__ import annotations

import datetime
import email.utils
import math
import time


def parse_retry_after(value: str | None, *, cap_s: float) -> float | None:
    """The seconds ``value`` asks to wait, from 0 to ``cap_s``; None when it says nothing usable.

    Both forms of RFC 9110 are read: delay-seconds (``"7"``) and an HTTP-date. "NaN" and "inf"
    parse as floats, so they are refused explicitly: waiting on one would burn a whole budget.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": an HTTP-date is always GMT, never local time
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap_s)
