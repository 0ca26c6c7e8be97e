"""A per-agent limit on lookups: walking through identity codes should be slow and visible."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window_s`` seconds; ``limit`` 0 means no limit.

    A sliding log, not fixed minutes: 30 lookups at 12:00:59 and 30 more at 12:01:00 would
    pass a per-minute counter. The state lives in this process only, so with N instances an
    agent could get up to N times the limit; behind a load balancer that still stops a
    script from walking through identity codes at speed.
    """

    def __init__(
        self,
        limit: int,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._since_sweep = 0

    def hit(self, key: str) -> int | None:
        """Count one hit for ``key``; ``None`` if allowed, else whole seconds until it would be.

        A refused hit is not counted, so an agent who waits as told gets through.
        """
        if self.limit <= 0:
            return None
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window_s - now))
        hits.append(now)
        self._sweep(now)
        return None

    def _sweep(self, now: float) -> None:
        """Forget agents idle for a whole window, now and then, so memory stays bounded."""
        self._since_sweep += 1
        if self._since_sweep < 1_000:
            return
        self._since_sweep = 0
        idle = [
            key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window_s
        ]
        for key in idle:
            del self._hits[key]
