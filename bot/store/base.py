"""The storage interface both databases implement, and the rate limit's decision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.audit.store import AuditQuery, AuditRow


class StoreUnavailable(Exception):
    """The database could not be reached or did not answer: nothing was stored or read."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One request to count against a rate limit: ``limit`` per ``window_s`` per ``key``."""

    key: str
    now: float  # Unix time, so that every process and host counts on the same clock
    window_s: float
    limit: int


class Store(Protocol):
    """Everything the app keeps: audit rows, the rate limit's hits, agents' settings.

    Appends and hits are batched by the implementations: many concurrent callers share a
    transaction, and each still learns its own outcome.
    """

    @property
    def where(self) -> str:
        """The database, for messages (a file path, or a URL without its password)."""
        ...

    async def start(self) -> None:
        """Begin work that needs the event loop (connection pools); call once it runs."""
        ...

    async def append(self, row: AuditRow) -> None:
        """Store ``row``; return once committed, else raise ``AuditWriteError``."""
        ...

    async def hit(self, hit: Hit) -> float | None:
        """Count ``hit`` if under its limit (``None``); else the time of the oldest counted one.

        Hits past their window are deleted as batches go by. Raises :class:`StoreUnavailable`
        when the database cannot say.
        """
        ...

    async def get_setting(self, team_id: str, user_id: str, key: str) -> str | None:
        """An agent's setting, or ``None`` if they have not chosen one."""
        ...

    async def set_setting(self, team_id: str, user_id: str, key: str, value: str) -> None:
        """Remember an agent's setting, replacing the one they had."""
        ...

    async def search(self, criteria: AuditQuery) -> list[AuditRow]:
        """The audit rows matching ``criteria``, oldest first."""
        ...

    async def purge(self, older_than: datetime) -> int:
        """Delete audit rows from before ``older_than`` for good; return how many went."""
        ...

    async def set_delivery(self, reference: str, delivery: str, *, wait: bool = True) -> None:
        """Record what became of the pending row ``reference``'s answer, after its insert."""
        ...

    async def aclose(self) -> None:
        """Store what is queued, then release the database."""
        ...

    def problem(self) -> str | None:
        """Why audit rows cannot be stored now (for ``/readyz``); None while they can."""
        ...


def decide_hits(hits: Sequence[Hit], counted: Iterable[tuple[str, float]]) -> list[float | None]:
    """For each of ``hits``, in order: ``None`` if it is let through, else its oldest hit.

    ``counted`` is every hit already stored for these keys that may still be in a window.
    A sliding log, not fixed minutes: 30 lookups at 12:00:59 and 30 more at 12:01:00 would
    pass a per-minute counter. A refused hit is not counted, so an agent who waits as told
    gets through.
    """
    times: dict[str, list[float]] = {}
    for key, at in counted:
        times.setdefault(key, []).append(at)
    for values in times.values():
        values.sort()
    decisions: list[float | None] = []
    for hit in hits:
        window = [at for at in times.get(hit.key, ()) if at > hit.now - hit.window_s]
        if len(window) >= hit.limit:
            decisions.append(min(window))
        else:
            window.append(hit.now)
            decisions.append(None)
        times[hit.key] = window
    return decisions


def oldest_relevant(hits: Sequence[Hit]) -> float:
    """The earliest time a stored hit can matter to any of ``hits``; older ones can go."""
    return min(hit.now - hit.window_s for hit in hits)
