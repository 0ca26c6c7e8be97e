"""The use case: a :class:`~bot.query.Query` in, a typed result or a typed failure out."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from bot.query import Query
from bot.ropo.errors import RopoCircuitOpen, RopoError
from bot.ropo.models import Invoice, InvoiceStatus
from bot.settings import RopoEnvironment

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
        ropo_latency_ms: int,
    ) -> None:
        """Store the lookup's audit row before its answer is shown."""
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


class InvoiceLookup:
    """Runs lookups against an :class:`InvoiceSource`; never raises for a Ropo failure.

    Every lookup is recorded in ``audit`` after Ropo One answers and before the answer is
    returned. If the record fails and ``audit_required`` is set, the answer is withheld:
    the agent gets an ``AUDIT_FAILED`` failure instead. ``audit`` ``None`` records nothing.
    """

    def __init__(
        self,
        source: InvoiceSource,
        *,
        currency: str,
        environment: RopoEnvironment,
        audit: AuditSink | None,
        audit_required: bool = True,
    ) -> None:
        self._source = source
        self.currency = currency
        self.environment = environment
        self._audit = audit
        self._audit_required = audit_required

    async def run(self, query: Query, requester: Requester) -> LookupResult | LookupFailure:
        """Ask Ropo One for ``requester``; return the sorted invoices or a failure, audited."""
        started = time.monotonic()
        outcome = await self._ask_ropo(query, requester)
        latency_ms = round((time.monotonic() - started) * 1000)
        if self._audit is None:
            return outcome
        try:
            await self._audit.record_lookup(requester, outcome, ropo_latency_ms=latency_ms)
        except Exception:
            # The cause is logged where the write failed; this line names the lookup.
            logger.error(
                "AUDIT FAILURE: lookup %s by %s could not be audited; %s",
                outcome.reference,
                requester.user_id,
                "its answer is withheld" if self._audit_required else "served anyway",
            )
            if self._audit_required:
                await self._mark_withheld(outcome.reference)
                return LookupFailure(
                    query=query,
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
            # AUTH is a configuration problem someone must fix: louder than a passing outage.
            level = logging.ERROR if kind is FailureKind.AUTH else logging.WARNING
            logger.log(
                level, "lookup %s by %s failed (%s): %s", reference, requester.user_id, kind, exc
            )
        except Exception:
            kind = FailureKind.INTERNAL
            logger.exception(
                "lookup %s by %s failed with an unexpected error", reference, requester.user_id
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
