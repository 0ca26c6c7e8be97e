"""Counting work in flight, and waiting, for a bounded time, until there is none.

Two uses. Acknowledgements before lookups: Slack's 3-second deadline is hard, a lookup's is
not, and both compete for one event loop. Bolt returns an ack from a task that polls for it
every 10 ms, so a lookup starting right after its ``ack()`` delays the acknowledgements
queued behind it (bench/: in a large burst the slowest acks come close to Slack's deadline);
lookups therefore wait until no request awaits its ack. And a clean shutdown: a deploy lets
the lookups already acknowledged finish and answer before the connections close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class InFlight:
    """How many of something are under way; lets others wait until none are."""

    def __init__(self) -> None:
        self._count = 0
        self._none = asyncio.Event()
        self._none.set()

    @property
    def count(self) -> int:
        """How many are under way now."""
        return self._count

    def begin(self) -> None:
        """Count one more; :meth:`end` it when it is done."""
        self._count += 1
        self._none.clear()

    def end(self) -> None:
        """Count one fewer."""
        self._count -= 1
        if not self._count:
            self._none.set()

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count one for the duration of the ``with`` block."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    async def idle(self, max_wait_s: float) -> bool:
        """Return once none are under way (True), or after ``max_wait_s`` at the latest."""
        if not self._count:
            return True
        try:
            async with asyncio.timeout(max_wait_s):
                await self._none.wait()
        except TimeoutError:
            return False
        return True
