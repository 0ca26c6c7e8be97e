"""A circuit breaker around Ropo One: while it is down, agents hear so at once and Ropo rests.

Without one, every lookup during an outage costs Ropo a request and its retries, and every
agent waits out the backoff to be told what the previous agent was just told. The breaker
sits in the HTTP transport, so it sees each request, retries and logins included:

- *closed*: requests go through; ``failure_threshold`` failures in a row (a 5xx answer, a
  timeout, a connection that could not be made) open it. Any other answer, a 4xx or "no
  invoices" included, shows Ropo is up and resets the count.
- *open*: no request is sent; each is refused at once with :class:`RopoCircuitOpen`, which
  says when the app will try Ropo again (``reset_after_s`` after it opened).
- *half-open*: from then on one request, the probe, goes through; the others are refused
  until it is answered. A probe that succeeds closes the breaker; one that fails opens it
  for another ``reset_after_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import StrEnum

import httpx

from bot.ropo.errors import RopoCircuitOpen

logger = logging.getLogger(__name__)

FAILURE_THRESHOLD = 5
RESET_AFTER_S = 30.0
PROBE_PENDING_S = 2.0
"""What a refused agent is told while the probe is out: it will be answered about this soon."""


class CircuitState(StrEnum):
    """Where the breaker is; the value is what ``/healthz`` shows."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts Ropo's failures in a row and decides whether the next request may be sent.

    Not thread-safe: one per event loop, like the client it belongs to. ``clock`` is
    ``time.monotonic`` unless a test steps time itself.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = FAILURE_THRESHOLD,
        reset_after_s: float = RESET_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_until: float | None = None  # set while open (or half-open)
        self._probing = False

    @property
    def state(self) -> CircuitState:
        """Closed, open, or half-open (the wait is over: the next request probes)."""
        if self._opened_until is None:
            return CircuitState.CLOSED
        if self._probing or self._clock() >= self._opened_until:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def seconds_until_retry(self) -> float | None:
        """How long until a probe may go (0 when it may now); None while closed."""
        if self._opened_until is None:
            return None
        return max(0.0, self._opened_until - self._clock())

    def admit(self) -> bool:
        """Claim the right to send one request; True if it may go, and if so, report back.

        The caller must then call :meth:`succeeded`, :meth:`failed` or :meth:`abandoned`.
        Raises :class:`RopoCircuitOpen` when it may not.
        """
        state = self.state
        if state is CircuitState.CLOSED:
            return False
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            logger.info("Ropo One circuit half-open: sending one request to test it")
            return True
        wait_s = PROBE_PENDING_S if self._probing else (self.seconds_until_retry() or 0.0)
        raise RopoCircuitOpen(
            f"Ropo One is not being asked for {wait_s:.0f} s after repeated failures",
            retry_in_s=wait_s,
        )

    def succeeded(self, *, probe: bool) -> None:
        """Ropo answered (any status it is allowed to answer with): it is up."""
        self._failures = 0
        if probe:
            self._probing = False
        if self._opened_until is not None:
            logger.warning("Ropo One answers again: circuit closed")
            self._opened_until = None

    def failed(self, *, probe: bool) -> None:
        """Ropo failed: a 5xx, a timeout, or no connection."""
        self._failures += 1
        if probe:
            self._probing = False
            self._open("the test request failed")
        elif self._opened_until is None and self._failures >= self._threshold:
            self._open(f"{self._failures} requests in a row failed")

    def abandoned(self, *, probe: bool) -> None:
        """The request was given up before Ropo answered for a reason of ours: no verdict."""
        if probe:
            self._probing = False

    def _open(self, why: str) -> None:
        self._opened_until = self._clock() + self._reset_after_s
        logger.warning(
            "Ropo One circuit open (%s): lookups are answered at once for %.0f s, "
            "then one request tests Ropo One",
            why,
            self._reset_after_s,
        )


def is_failure_status(status: int) -> bool:
    """Whether an answer with ``status`` counts against Ropo One: a 5xx does, a 4xx does not."""
    return status >= 500


class CircuitBreakerTransport(httpx.AsyncBaseTransport):
    """An httpx transport that asks the breaker before each request and tells it the result."""

    def __init__(self, inner: httpx.AsyncBaseTransport, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self._breaker = breaker

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` unless the breaker is open (:class:`RopoCircuitOpen`)."""
        probe = self._breaker.admit()
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx.TimeoutException, httpx.TransportError):
            self._breaker.failed(probe=probe)
            raise
        except asyncio.CancelledError:
            # The lookup's own budget ran out while Ropo kept it waiting: Ropo was too slow.
            self._breaker.failed(probe=probe)
            raise
        except BaseException:
            self._breaker.abandoned(probe=probe)
            raise
        if is_failure_status(response.status_code):
            self._breaker.failed(probe=probe)
        else:
            self._breaker.succeeded(probe=probe)
        return response

    async def aclose(self) -> None:
        """Close the transport underneath."""
        await self._inner.aclose()
