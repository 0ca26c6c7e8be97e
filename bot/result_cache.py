"""Recent lookup results, kept for a few minutes so paging does not ask Ropo One again.

An agent who pages through a reply (Next, Previous) or narrows it ("Open invoices only"
after "Include paid invoices") is shown the result Ropo One gave moments ago instead of
waiting for a new answer. Each agent's results are their own: the key is the agent, the
identifier and whether paid invoices were included. The cache is bounded three ways: by
age (a Refresh button, or a new lookup, asks Ropo One again), by entries and by an estimate
of the bytes the results hold, least recently used first out. It lives in this process only:
another instance of the app, or one restarted, asks Ropo One as before.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

from bot.lookup import LookupResult, Requester
from bot.query import Query
from bot.ropo.models import InvoiceStatus

CacheKey = tuple[str, str, str, str, bool]
"""(team, agent, identifier kind, identifier value, include paid)."""

# What one cached invoice costs beyond its strings (its model, date, Decimal, dict):
# tracemalloc of sandbox results puts the whole invoice near 1.1 KB with ~100 bytes of text.
_INVOICE_BYTES = 1_000
_RESULT_BYTES = 500
_STRING_BYTES = 50  # a str object's own overhead


def estimated_size(result: LookupResult) -> int:
    """Roughly how many bytes ``result`` holds in memory: the byte bound's measure."""
    size = _RESULT_BYTES
    for invoice in result.invoices:
        size += _INVOICE_BYTES + len(invoice.invoice_number or "") + len(invoice.my_ropo_link or "")
        size += sum(_STRING_BYTES + len(n) for n in invoice.group_invoice_numbers)
    return size


def open_only(result: LookupResult) -> LookupResult:
    """``result`` as an open-invoices-only lookup would have answered: the paid ones left out."""
    return dataclasses.replace(
        result,
        query=Query(result.query.identifier, include_paid=False),
        invoices=tuple(i for i in result.invoices if i.status is not InvoiceStatus.PAID),
    )


class _LruTtlCache(TTLCache[CacheKey, LookupResult]):
    """cachetools' TTL + LRU cache, bounded by ``getsizeof`` and by a number of entries too."""

    def __init__(self, *, max_entries: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_entries = max_entries

    def __setitem__(self, key: CacheKey, value: LookupResult, *args: Any, **kwargs: Any) -> None:
        self.expire()
        while key not in self and len(self) >= self._max_entries:
            self.popitem()  # the least recently used
        super().__setitem__(key, value, *args, **kwargs)


class ResultCache:
    """Lookup results by agent, identifier and include-paid; ``ttl_s`` 0 keeps nothing."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._enabled = ttl_s > 0 and max_entries > 0 and max_bytes > 0
        self._entries = _LruTtlCache(
            max_entries=max(max_entries, 1),
            maxsize=max(max_bytes, 1),
            ttl=max(ttl_s, 0.001),
            timer=clock,
            getsizeof=estimated_size,
        )

    def __len__(self) -> int:
        self._entries.expire()
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The estimated bytes held now (expired results not yet dropped included)."""
        return int(self._entries.currsize)

    def put(self, who: Requester, result: LookupResult) -> None:
        """Keep ``result`` for ``who``; too big on its own, or no agent to key it by: not kept."""
        key = _key(who, result.query)
        if not self._enabled or key is None:
            return
        try:
            self._entries[key] = result
        except ValueError:  # larger than the whole byte budget
            self._entries.pop(key, None)  # an older, smaller answer is now out of date

    def get(self, who: Requester, query: Query) -> LookupResult | None:
        """``who``'s recent result for ``query``, or None.

        An open-invoices-only query is also answered from a recent include-paid result.
        """
        key = _key(who, query)
        if not self._enabled or key is None:
            return None
        found = self._entries.get(key)
        if found is not None or query.include_paid:
            return found
        wider = self._entries.get((*key[:4], True))
        return open_only(wider) if wider is not None else None


def _key(who: Requester, query: Query) -> CacheKey | None:
    if not who.user_id:
        return None
    identifier = query.identifier
    return (
        who.team_id or "",
        who.user_id,
        identifier.kind.value,
        identifier.value,
        query.include_paid,
    )
