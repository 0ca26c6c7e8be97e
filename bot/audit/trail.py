"""Who looked up whom, and when: one audit row per lookup attempt, allowed or refused.

The identifier itself is never stored. Its keyed hash is (HMAC-SHA256 with ``AUDIT_KEY``),
so whoever holds the key can find every lookup of one person, while the table alone reveals
no identity code: without the key, hashing every possible HETU to match the table is no use.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from bot.audit.store import DELIVERY_PENDING, AuditRow
from bot.details import DetailsResult
from bot.lookup import Delivery, LookupFailure, LookupResult, Requester
from bot.query import Identifier, Query
from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How a lookup attempt ended."""

    FOUND = "found"  # invoices shown
    NONE = "none"  # Ropo One has none for the customer
    REFUSED = "refused"  # not asked: access, the rate limit, or no audit
    ERROR = "error"  # Ropo One failed


CACHED = "cached"
"""The ``detail`` of a result served from the paging cache: Ropo One was not asked."""


def identifier_hash(key: bytes, identifier: Identifier) -> str:
    """The keyed hash stored instead of ``identifier``: hex HMAC-SHA256 over kind and value."""
    message = f"{identifier.kind.value}:{identifier.value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def audit_key(settings: Settings) -> bytes:
    """``AUDIT_KEY``; with the sandbox, a random key for this process when it is unset.

    With Ropo credentials (real people's data) a missing key stops start-up: a key made up
    at start would make this run's rows unsearchable for ever after.
    """
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    if not settings.uses_sandbox:
        raise SettingsError(
            "AUDIT_KEY is not set: with Ropo One credentials every lookup is audited, and the "
            "audit trail needs a secret key of at least 32 characters to hash identity codes "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))'). Keep it safe: "
            "investigators need it to search the trail."
        )
    # Nobody's real data is at stake offline (the demo console): no need to raise the voice.
    level = logging.WARNING if settings.slack_bot_token else logging.INFO
    logger.log(
        level,
        "AUDIT_KEY is not set: using a random audit key for this run (sandbox data only); "
        "set AUDIT_KEY to search the audit trail by identifier across restarts",
    )
    return secrets.token_bytes(32)


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class RowStore(Protocol):
    """Where rows go: the app's store (bot.store), or the SQLite writer on its own."""

    async def append(self, row: AuditRow) -> None:
        """Store ``row``; raise ``AuditWriteError`` if it can't be."""
        ...

    async def set_delivery(self, reference: str, delivery: str, *, wait: bool = True) -> None:
        """Record what became of the pending row ``reference``'s answer."""
        ...

    async def aclose(self) -> None:
        """Store what is queued and stop."""
        ...


class AuditTrail:
    """Turns lookups and refusals into audit rows and stores them (see :class:`RowStore`)."""

    def __init__(
        self, store: RowStore, key: bytes, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._key = key
        self._clock = clock

    def hash_identifier(self, identifier: Identifier) -> str:
        """``identifier``'s keyed hash, as stored."""
        return identifier_hash(self._key, identifier)

    async def record_lookup(
        self,
        requester: Requester,
        outcome: LookupResult | LookupFailure,
        *,
        ropo_latency_ms: int | None,
        cached: bool = False,
    ) -> None:
        """Store a lookup; raise :class:`AuditWriteError` if it can't be.

        A result served from the paging cache (``cached``) is stored with ``detail``
        ``cached`` and no Ropo latency.
        """
        if isinstance(outcome, LookupResult):
            count = len(outcome.invoices)
            result = Outcome.FOUND if count else Outcome.NONE
            detail = CACHED if cached else None
        else:
            count, result, detail = None, Outcome.ERROR, outcome.kind.value
        await self._store.append(
            self._row(
                requester,
                outcome.query,
                result,
                detail=detail,
                invoice_count=count,
                ropo_latency_ms=ropo_latency_ms,
                reference=outcome.reference,
                delivery=DELIVERY_PENDING,  # until its answer is shown, or could not be
            )
        )

    async def record_details(
        self,
        requester: Requester,
        outcome: DetailsResult | LookupFailure,
        *,
        ropo_latency_ms: int,
    ) -> None:
        """Store one invoice's details view (surface ``details``, detail ``job <id>``)."""
        if isinstance(outcome, DetailsResult):
            found = outcome.details is not None
            result = Outcome.FOUND if found else Outcome.NONE
            count, detail = (1 if found else None), f"job {outcome.job_id}"
        else:
            count, result, detail = None, Outcome.ERROR, outcome.kind.value
        await self._store.append(
            self._row(
                requester,
                outcome.query,
                result,
                detail=detail,
                invoice_count=count,
                ropo_latency_ms=ropo_latency_ms,
                reference=outcome.reference,
            )
        )

    async def record_delivery(
        self, reference: str, delivery: Delivery, *, wait: bool = True
    ) -> None:
        """Store what became of lookup ``reference``'s answer (:meth:`RowStore.set_delivery`)."""
        await self._store.set_delivery(reference, delivery.value, wait=wait)

    async def record_refusal(
        self, requester: Requester, query: Query | None, reason: str, *, reference: str
    ) -> None:
        """Store a request refused before Ropo One was asked; ``query`` if it named one."""
        await self._store.append(
            self._row(requester, query, Outcome.REFUSED, detail=reason, reference=reference)
        )

    async def aclose(self) -> None:
        """Store what is queued and stop."""
        await self._store.aclose()

    def _row(
        self,
        requester: Requester,
        query: Query | None,
        outcome: Outcome,
        *,
        reference: str,
        detail: str | None = None,
        invoice_count: int | None = None,
        ropo_latency_ms: int | None = None,
        delivery: str | None = None,
    ) -> AuditRow:
        identifier = query.identifier if query is not None else None
        return AuditRow(
            at=self._clock().astimezone(UTC).isoformat(timespec="milliseconds"),
            team_id=requester.team_id,
            user_id=requester.user_id,
            channel_id=requester.channel_id,
            surface=requester.surface.value,
            identifier_kind=identifier.kind.value if identifier else None,
            identifier_hash=self.hash_identifier(identifier) if identifier else None,
            include_paid=query.include_paid if query is not None else None,
            outcome=outcome.value,
            detail=detail,
            invoice_count=invoice_count,
            ropo_latency_ms=ropo_latency_ms,
            reference=reference,
            delivery=delivery,
        )
