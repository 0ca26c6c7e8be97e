"""Acknowledgements before lookups: Slack's 3-second deadline is hard, a lookup's is not.

In a rush every request is first acknowledged and then looked up, and both compete for one
event loop. Bolt returns an ack from a task that polls for it every 10 ms, so a lookup that
starts right after its ``ack()`` delays the acknowledgements still queued behind it (bench/:
at 800 simultaneous commands that pushed ack p99 from ~350 ms to ~1 s). Lookups therefore
wait, for a bounded time, until no Slack request is still waiting for its acknowledgement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_S = 0.3  # under a steady stream of requests a lookup never waits longer than this


class AckFirst:
    """Counts requests not yet acknowledged; lets lookups wait until there are none."""

    def __init__(self, max_wait_s: float = MAX_WAIT_S) -> None:
        self._max_wait_s = max_wait_s
        self._pending = 0
        self._none_pending = asyncio.Event()
        self._none_pending.set()

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Around the handling of one Slack request, until its acknowledgement is returned."""
        self._pending += 1
        self._none_pending.clear()
        try:
            yield
        finally:
            self._pending -= 1
            if not self._pending:
                self._none_pending.set()

    async def wait_turn(self) -> None:
        """Return once no request awaits its ack, or after ``max_wait_s`` at the latest."""
        if not self._pending:
            return
        try:
            async with asyncio.timeout(self._max_wait_s):
                await self._none_pending.wait()
        except TimeoutError:
            pass
