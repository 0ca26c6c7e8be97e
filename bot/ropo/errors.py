"""One error hierarchy for everything that can go wrong talking to Ropo One.

Messages are written for logs and never contain an identity code, the apicode or a token:
text that comes from Ropo itself is passed through :func:`bot.redact.redact` first, because a
problem ``detail`` may echo the request back.
"""

from __future__ import annotations

from bot.redact import redact


class RopoError(Exception):
    """Base class: any failure of a Ropo One call."""

    kind = "error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(redact(message))
        self.status = status


class RopoAuthError(RopoError):
    """Ropo refused our credentials (bad ``cid``/``apicode``): a configuration problem."""

    kind = "auth"


class RopoBadRequest(RopoError):
    """Ropo rejected the question itself (400)."""

    kind = "bad_request"


class RopoUnavailable(RopoError):
    """Ropo could not answer: 5xx, 429 or a connection failure, after retries."""

    kind = "unavailable"


class RopoTimeout(RopoUnavailable):
    """Ropo did not answer within the lookup's time budget."""

    kind = "timeout"


class RopoProtocolError(RopoError):
    """Ropo answered, but not with what the API promises (e.g. an HTML proxy page)."""

    kind = "protocol"


class RopoCircuitOpen(RopoUnavailable):
    """Not asked: Ropo One failed repeatedly, and the app waits ``retry_in_s`` to try again."""

    kind = "circuit_open"

    def __init__(self, message: str, *, retry_in_s: float) -> None:
        super().__init__(message)
        self.retry_in_s = retry_in_s
