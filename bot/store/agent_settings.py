"""An agent's own settings (their language), kept in the app's store and read on every request."""

from __future__ import annotations

from cachetools import TTLCache

from bot.store.base import Store

# Several instances may share the store, and a choice made through one must reach the others:
# a value read is trusted this long, a value written by this process at once.
CACHE_TTL_S = 60.0
CACHE_MAX_ENTRIES = 50_000


class AgentSettings:
    """``get``/``set`` of an agent's settings in ``store``, with reads cached for a while."""

    def __init__(self, store: Store, *, ttl_s: float = CACHE_TTL_S) -> None:
        self._store = store
        self._cache: TTLCache[tuple[str, str, str], str | None] = TTLCache(
            maxsize=CACHE_MAX_ENTRIES, ttl=ttl_s
        )

    async def get(self, team_id: str, user_id: str, key: str) -> str | None:
        """The agent's value for ``key``, or None if they never chose one."""
        cache_key = (team_id, user_id, key)
        try:
            return self._cache[cache_key]
        except KeyError:
            value = await self._store.get_setting(team_id, user_id, key)
            self._cache[cache_key] = value
            return value

    async def set(self, team_id: str, user_id: str, key: str, value: str) -> None:
        """Remember ``value`` for the agent; raises what the store raises if it can't."""
        await self._store.set_setting(team_id, user_id, key, value)
        self._cache[(team_id, user_id, key)] = value
