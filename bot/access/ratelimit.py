"""A per-agent limit on lookups: walking through identity codes should be slow and visible.

The hits are counted in the store (:mod:`bot.store`), so every process and instance shares
one count: an agent's 31st lookup in a minute is refused whichever instance receives it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from bot.store.base import Hit, Store, StoreUnavailable

logger = logging.getLogger(__name__)

WINDOW_S = 60.0
HIT_TIMEOUT_S = 1.0
"""The count is asked before the request is acknowledged: Slack waits 3 s at most."""


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window_s`` seconds; ``limit`` 0 means no limit.

    A sliding log, not fixed minutes (see :func:`bot.store.base.decide_hits`). When the store
    cannot count in time the request goes on, logged: the lookup's own audit row is written
    to the same store, so while it is down the agent is told the lookup could not be
    recorded and is shown nothing, and a limit that failed shut would refuse everyone.
    """

    def __init__(
        self,
        limit: int,
        store: Store,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._store = store
        self._clock = clock  # wall-clock time: every process and host must agree on it

    async def hit(self, key: str) -> int | None:
        """Count one hit for ``key``; ``None`` if allowed, else whole seconds until it would be.

        A refused hit is not counted, so an agent who waits as told gets through.
        """
        if self.limit <= 0:
            return None
        now = self._clock()
        try:
            async with asyncio.timeout(HIT_TIMEOUT_S):
                oldest = await self._store.hit(Hit(key, now, self.window_s, self.limit))
        except (StoreUnavailable, TimeoutError):
            logger.error("the rate limit could not be counted in the store: request let through")
            return None
        except Exception:  # a fault of ours must not stop the request unanswered either
            logger.exception("the rate limit failed: request let through")
            return None
        if oldest is None:
            return None
        return max(1, math.ceil(oldest + self.window_s - now))
