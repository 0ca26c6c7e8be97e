"""The use case behind a reply's Details button: one invoice's details, audited.

The agent already looked the customer up; the sealed button names that lookup's query and
the invoice's Ropo job id. Ropo One is asked for the job (``GET /rest/jobs``), and the view
is audited like a lookup (surface ``details``) before it is shown. Failures are the
lookup's failures, so the agent reads the same clear texts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.lookup import FailureKind, LookupFailure, Requester, _failure_kind, new_reference
from bot.query import Query
from bot.ropo.errors import RopoError
from bot.ropo.models import JobDetails
from bot.settings import RopoEnvironment

logger = logging.getLogger(__name__)


class JobDetailsSource(Protocol):
    """Anything that can fetch one job's details: the Ropo client, or a test double."""

    async def get_job_details(self, job_id: int) -> JobDetails | None:
        """The job's details, or None when Ropo One has no such job."""
        ...


class DetailsAuditSink(Protocol):
    """Where every details view is recorded (:class:`bot.audit.AuditTrail`)."""

    async def record_details(
        self, requester: Requester, outcome: DetailsResult | LookupFailure, *, ropo_latency_ms: int
    ) -> None:
        """Store the view's audit row before it is shown; raise if it can't be."""
        ...


@dataclass(frozen=True, slots=True)
class DetailsResult:
    """Ropo One's answer about one of the customer's invoices; ``details`` None: not found."""

    query: Query
    job_id: int
    details: JobDetails | None
    environment: RopoEnvironment
    reference: str


class InvoiceDetailsLookup:
    """Fetches one invoice's details; never raises for a Ropo failure. Audited like lookups."""

    def __init__(
        self,
        source: JobDetailsSource,
        *,
        environment: RopoEnvironment,
        audit: DetailsAuditSink | None,
        audit_required: bool = True,
    ) -> None:
        self._source = source
        self.environment = environment
        self._audit = audit
        self._audit_required = audit_required

    async def run(
        self,
        query: Query,
        job_id: int,
        requester: Requester,
        *,
        shown: Callable[[], Awaitable[bool]] | None = None,
    ) -> DetailsResult | LookupFailure:
        """Ask Ropo One about job ``job_id`` of ``query``'s customer; audited before returned.

        ``shown``, if given, says (once Ropo has answered) whether there is anywhere to show
        the answer: the modal opened while Ropo was asked. If not, nothing was viewed and
        nothing is audited.
        """
        started = time.monotonic()
        outcome = await self._ask_ropo(query, job_id, requester)
        latency_ms = round((time.monotonic() - started) * 1000)
        if self._audit is None or (shown is not None and not await shown()):
            return outcome
        try:
            await self._audit.record_details(requester, outcome, ropo_latency_ms=latency_ms)
        except Exception:
            logger.error(
                "AUDIT FAILURE: details %s by %s could not be audited; %s",
                outcome.reference,
                requester.user_id,
                "withheld" if self._audit_required else "served anyway",
            )
            if self._audit_required:
                return LookupFailure(
                    query=query,
                    kind=FailureKind.AUDIT_FAILED,
                    environment=self.environment,
                    reference=outcome.reference,
                )
        return outcome

    async def _ask_ropo(
        self, query: Query, job_id: int, requester: Requester
    ) -> DetailsResult | LookupFailure:
        reference = new_reference()
        kind: FailureKind
        try:
            details = await self._source.get_job_details(job_id)
        except RopoError as exc:
            kind = _failure_kind(exc)  # the lookup's own mapping: the same texts follow
            level = logging.ERROR if kind is FailureKind.AUTH else logging.WARNING
            logger.log(
                level,
                "details %s (job %d) by %s failed (%s): %s",
                reference,
                job_id,
                requester.user_id,
                kind,
                exc,
            )
        except Exception:
            kind = FailureKind.INTERNAL
            logger.exception(
                "details %s (job %d) by %s failed with an unexpected error",
                reference,
                job_id,
                requester.user_id,
            )
        else:
            logger.info(
                "details %s (job %d) by %s: %s",
                reference,
                job_id,
                requester.user_id,
                "found" if details is not None else "not found",
            )
            return DetailsResult(query, job_id, details, self.environment, reference)
        return LookupFailure(
            query=query, kind=kind, environment=self.environment, reference=reference
        )
