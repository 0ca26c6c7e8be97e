"""A time-limited cache whose misses share one load, and whose stale entries are still served.

The storage, expiry and size limit are :class:`cachetools.TTLCache`'s; what this adds is what
an async caller of Slack needs on top:

- concurrent misses for one key share one load (fifty requests from one agent in a burst cost
  one ``users.info`` call, not fifty);
- an entry past its time-to-live is served for a while longer (``stale_s``) while one load
  refreshes it in the background, so that an answer we had a minute ago is not thrown away
  just because Slack is slow or down right now (stale-while-revalidate).

A failed load is not kept: the next caller tries again, and a stale value stays as it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from cachetools import TTLCache as _Storage

V = TypeVar("V")

MAX_ENTRIES = 10_000


class TtlCache(Generic[V]):
    """Values fresh for ``ttl_s``, then served stale for ``stale_s`` more while refreshed.

    With ``ttl_s`` 0 nothing is kept: every :meth:`get` loads (caching is off). When the
    cache is full, the least recently used entry makes room.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        stale_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        # Kept until stale too; each value carries when it was stored, to tell fresh from stale.
        self._entries: _Storage[str, tuple[float, V]] | None = (
            _Storage(maxsize=max_entries, ttl=ttl_s + max(stale_s, 0.0), timer=clock)
            if ttl_s > 0
            else None
        )
        self._loading: dict[str, asyncio.Task[V]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        """The value for ``key``: cached (refreshed in the background if stale), or loaded.

        Only a miss waits for ``load()``, and concurrent misses share one call of it.
        """
        entry = self._entries.get(key) if self._entries is not None else None
        if entry is None:
            # Shielded: one caller giving up (a timeout) must not cancel the load for the rest.
            return await asyncio.shield(self._load_once(key, load))
        stored_at, value = entry
        if self._clock() - stored_at >= self._ttl_s:
            self._load_once(key, load)  # stale: this caller is served, the next one fresh
        return value

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` for ``key`` as if it had just been loaded."""
        if self._entries is not None:
            self._entries[key] = (self._clock(), value)

    def peek(self, key: str) -> V | None:
        """The value kept for ``key``, fresh or stale, without loading it; None if none."""
        entry = self._entries.get(key) if self._entries is not None else None
        return None if entry is None else entry[1]

    def loading(self, key: str) -> asyncio.Task[V] | None:
        """The load of ``key`` in flight, if any (a refresh in the background included)."""
        return self._loading.get(key)

    async def aclose(self) -> None:
        """Cancel the loads in flight (background refreshes included) and wait for them."""
        tasks = list(self._loading.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _load_once(self, key: str, load: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key, load))
            # Nobody may be waiting (a background refresh, or every waiter gave up): the failure
            # is still retrieved, not warned about. The loader logs what went wrong.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._loading[key] = task
        return task

    async def _load(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        self.put(key, value)
        return value
