"""The use case: a :class:`~bot.query.Query` in, a typed result or a typed failure out."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.metrics import LOOKUPS, ROPO_ERRORS
from bot.query import Query
from bot.ropo.errors import RopoCircuitOpen, RopoError
from bot.ropo.models import Invoice, InvoiceStatus
from bot.settings import RopoEnvironment

if TYPE_CHECKING:
    from bot.result_cache import ResultCache

logger = logging.getLogger(__name__)

PAGE_SIZE = 10


class InvoiceSource(Protocol):
    """Anything that can answer an invoice query: the Ropo client, or a test double."""

    async def find_invoices(self, query: Query) -> tuple[Invoice, ...]:
        """Every invoice for the query's customer."""
        ...


class AuditSink(Protocol):
    """Where every lookup is recorded (:class:`bot.audit.AuditTrail`); raises if it can't be."""

    async def record_lookup(
        self,
        requester: Requester,
        outcome: LookupResult | LookupFailure,
        *,
        ropo_latency_ms: int | None,
        cached: bool = False,
    ) -> None:
        """Store the lookup's audit row before its answer is shown.

        ``cached``: the result was served from the paging cache, without asking Ropo One
        (``ropo_latency_ms`` is then None).
        """
        ...

    async def record_delivery(
        self, reference: str, delivery: Delivery, *, wait: bool = True
    ) -> None:
        """Store what became of the answer of the lookup ``reference``."""
        ...


class Surface(StrEnum):
    """Where in Slack a lookup was asked for (audited with it)."""

    COMMAND = "command"
    MESSAGE_SHORTCUT = "message_shortcut"
    MODAL = "modal"
    BUTTON = "button"
    DETAILS = "details"  # one invoice's details, from a reply's Details button


class Delivery(StrEnum):
    """What became of a lookup's answer: what the agent saw, as the audit trail records it."""

    SHOWN = "shown"  # Slack took it (through response_url, a modal, or chat.postEphemeral)
    NOT_DELIVERED = "not_delivered"  # Slack refused it on every way there was to the agent
    UNCONFIRMED = "unconfirmed"  # sent, but Slack never answered: it may have been shown
    WITHHELD = "withheld"  # not shown because it could not be audited


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, from where: the agent's Slack identity and the surface they used."""

    team_id: str | None
    user_id: str | None
    channel_id: str | None
    surface: Surface

    def log_fields(self, reference: str, **more: object) -> dict[str, object]:
        """Fields for a log record's ``extra``: structured logs (``LOG_FORMAT=json``) show them."""
        return {
            "reference": reference,
            "team_id": self.team_id,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "surface": self.surface.value,
            **more,
        }


class FailureKind(StrEnum):
    """What went wrong, in the terms the agent's answer is chosen by."""

    AUTH = "auth"  # our Ropo credentials are refused: an admin must act
    BAD_REQUEST = "bad_request"  # Ropo refused the question
    UNAVAILABLE = "unavailable"  # Ropo down or overloaded: try again in a minute
    TIMEOUT = "timeout"  # Ropo too slow: try again in a minute
    PROTOCOL = "protocol"  # Ropo answered something we cannot read
    INTERNAL = "internal"  # a bug of ours
    AUDIT_FAILED = "audit_failed"  # the lookup could not be audited, so it is not shown
    CIRCUIT_OPEN = "circuit_open"  # Ropo failed repeatedly: not asked until the breaker's wait


@dataclass(frozen=True, slots=True)
class LookupResult:
    """A customer's invoices, sorted most urgent first, then oldest first."""

    query: Query
    invoices: tuple[Invoice, ...]
    currency: str
    environment: RopoEnvironment
    reference: str

    @property
    def total_open(self) -> Decimal:
        """The sum of what is still open (paid invoices count as nothing)."""
        return sum(
            (i.open_amount for i in self.invoices if i.status is not InvoiceStatus.PAID),
            Decimal(0),
        )

    def page_count(self, page_size: int = PAGE_SIZE) -> int:
        """How many pages of ``page_size`` the invoices fill (at least one)."""
        return max(1, -(-len(self.invoices) // page_size))


@dataclass(frozen=True, slots=True)
class LookupFailure:
    """A lookup that could not be answered, with the reference id that is also in the log."""

    query: Query
    kind: FailureKind
    environment: RopoEnvironment
    reference: str
    retry_in_s: float | None = None  # CIRCUIT_OPEN: when the app will ask Ropo One again


_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32: no 0/O or 1/I to misread


def new_reference() -> str:
    """A short id an agent can quote to support, e.g. ``R-7K2QF9``; it is in the log line too."""
    bits = secrets.randbits(30)  # one read of the OS's randomness, not one per character
    return "R-" + "".join(_REFERENCE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(6))


def sort_invoices(invoices: tuple[Invoice, ...]) -> tuple[Invoice, ...]:
    """Most urgent status first (collection ... paid), then the oldest invoice first."""
    return tuple(
        sorted(
            invoices,
            key=lambda i: (
                i.status.urgency,
                i.original_invoice_date is None,
                i.original_invoice_date or 0,
                i.invoice_number or "",
            ),
        )
    )


def _failure_kind(exc: RopoError) -> FailureKind:
    try:
        return FailureKind(exc.kind)
    except ValueError:  # the bare base class: something Ropo did that we have no name for
        return FailureKind.PROTOCOL


def _outcome_label(outcome: LookupResult | LookupFailure) -> str:
    """``found``, ``none`` or the failure's kind: a metric label with a fixed set of values."""
    if isinstance(outcome, LookupFailure):
        return outcome.kind.value
    return "found" if outcome.invoices else "none"


def _latency(started: float) -> dict[str, int]:
    return {"ropo_latency_ms": round((time.monotonic() - started) * 1000)}


class InvoiceLookup:
    """Runs lookups against an :class:`InvoiceSource`; never raises for a Ropo failure.

    Every lookup is recorded in ``audit`` after Ropo One answers and before the answer is
    returned. If the record fails and ``audit_required`` is set, the answer is withheld:
    the agent gets an ``AUDIT_FAILED`` failure instead. ``audit`` ``None`` records nothing.
    With a ``cache``, every result is kept there for the agent's paging (:meth:`page`).
    """

    def __init__(
        self,
        source: InvoiceSource,
        *,
        currency: str,
        environment: RopoEnvironment,
        audit: AuditSink | None,
        audit_required: bool = True,
        cache: ResultCache | None = None,
    ) -> None:
        self._source = source
        self.currency = currency
        self.environment = environment
        self._audit = audit
        self._audit_required = audit_required
        self._cache = cache

    async def run(self, query: Query, requester: Requester) -> LookupResult | LookupFailure:
        """Ask Ropo One for ``requester``; return the sorted invoices or a failure, audited."""
        started = time.monotonic()
        outcome = await self._ask_ropo(query, requester)
        latency_ms = round((time.monotonic() - started) * 1000)
        if self._cache is not None and isinstance(outcome, LookupResult):
            self._cache.put(requester, outcome)
        outcome = await self._audited(requester, outcome, latency_ms)
        LOOKUPS.labels(requester.surface.value, _outcome_label(outcome)).inc()
        return outcome

    async def page(self, query: Query, requester: Requester) -> LookupResult | LookupFailure:
        """Like :meth:`run`, but answered from ``requester``'s recent result when one is kept.

        A result served from the cache gets a reference of its own and an audit row of its
        own (who saw what), marked as served without asking Ropo One.
        """
        kept = self._cache.get(requester, query) if self._cache is not None else None
        if kept is None:
            return await self.run(query, requester)
        outcome = dataclasses.replace(kept, reference=new_reference())
        logger.info(
            "lookup %s by %s via %s: %d invoices from the paging cache",
            outcome.reference,
            requester.user_id,
            requester.surface,
            len(outcome.invoices),
        )
        served = await self._audited(requester, outcome, None)
        LOOKUPS.labels(requester.surface.value, _outcome_label(served)).inc()
        return served

    async def _audited(
        self, requester: Requester, outcome: LookupResult | LookupFailure, latency_ms: int | None
    ) -> LookupResult | LookupFailure:
        """``outcome`` once audited; an ``AUDIT_FAILED`` failure if it must be and can't be."""
        if self._audit is None:
            return outcome
        try:
            await self._audit.record_lookup(
                requester, outcome, ropo_latency_ms=latency_ms, cached=latency_ms is None
            )
        except Exception:
            # The cause is logged where the write failed; this line names the lookup.
            logger.error(
                "AUDIT FAILURE: lookup %s by %s could not be audited; %s",
                outcome.reference,
                requester.user_id,
                "its answer is withheld" if self._audit_required else "served anyway",
                extra=requester.log_fields(outcome.reference, outcome=FailureKind.AUDIT_FAILED),
            )
            if self._audit_required:
                await self._mark_withheld(outcome.reference)
                return LookupFailure(
                    query=outcome.query,
                    kind=FailureKind.AUDIT_FAILED,
                    environment=self.environment,
                    reference=outcome.reference,
                )
        return outcome

    async def _mark_withheld(self, reference: str) -> None:
        """Make sure a row written after all (a write that timed out) says it was withheld.

        Not waited for: the audit trail has just failed, and the agent is waiting.
        """
        assert self._audit is not None
        try:
            await self._audit.record_delivery(reference, Delivery.WITHHELD, wait=False)
        except Exception:
            logger.exception("lookup %s: could not mark its audit row withheld", reference)

    async def _ask_ropo(self, query: Query, requester: Requester) -> LookupResult | LookupFailure:
        reference = new_reference()
        started = time.monotonic()
        kind: FailureKind
        retry_in_s: float | None = None
        try:
            invoices = await self._source.find_invoices(query)
        except RopoCircuitOpen as exc:
            kind, retry_in_s = FailureKind.CIRCUIT_OPEN, exc.retry_in_s
            # The breaker logged the outage once; a line per agent told so is enough at INFO.
            logger.info("lookup %s by %s not sent: %s", reference, requester.user_id, exc)
        except RopoError as exc:
            kind = _failure_kind(exc)
            ROPO_ERRORS.labels(kind.value).inc()
            # AUTH is a configuration problem someone must fix: louder than a passing outage.
            level = logging.ERROR if kind is FailureKind.AUTH else logging.WARNING
            logger.log(
                level,
                "lookup %s by %s failed (%s): %s",
                reference,
                requester.user_id,
                kind,
                exc,
                extra=requester.log_fields(reference, outcome=kind.value, **_latency(started)),
            )
        except Exception:
            kind = FailureKind.INTERNAL
            logger.exception(
                "lookup %s by %s failed with an unexpected error",
                reference,
                requester.user_id,
                extra=requester.log_fields(reference, outcome=kind.value),
            )
        else:
            logger.info(
                "lookup %s by %s via %s: %s, %d invoices in %.0f ms",
                reference,
                requester.user_id,
                requester.surface,
                query.identifier.kind,
                len(invoices),
                (time.monotonic() - started) * 1000,
                extra=requester.log_fields(
                    reference, outcome="found" if invoices else "none", **_latency(started)
                ),
            )
            return LookupResult(
                query=query,
                invoices=sort_invoices(invoices),
                currency=self.currency,
                environment=self.environment,
                reference=reference,
            )
        return LookupFailure(
            query=query,
            kind=kind,
            environment=self.environment,
            reference=reference,
            retry_in_s=retry_in_s,
        )
