"""The details use case: audited before shown, withheld when it can't be, silent when unseen."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.audit import AuditQuery, AuditStore, AuditTrail
from bot.audit.store import read_only, search
from bot.details import DetailsResult, InvoiceDetailsLookup
from bot.lookup import FailureKind, LookupFailure, Requester, Surface
from bot.query import Identifier, IdentifierKind, Query
from bot.ropo.errors import RopoTimeout
from bot.ropo.models import JobDetails
from bot.settings import RopoEnvironment

QUERY = Query(Identifier(IdentifierKind.CUSTOMER_NUMBER, "C-1001"))
AGENT = Requester("T1", "U1", "C1", Surface.DETAILS)


class Source:
    def __init__(self, answer: JobDetails | Exception | None) -> None:
        self.answer = answer
        self.asked: list[int] = []

    async def get_job_details(self, job_id: int) -> JobDetails | None:
        self.asked.append(job_id)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class BrokenTrail:
    async def record_details(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")


def rows(path: Path) -> list[str]:
    with read_only(path) as connection:
        return [f"{r.surface} {r.outcome_text}" for r in search(connection, AuditQuery())]


async def run(
    path: Path, answer: JobDetails | Exception | None, *, shown: bool | None = None
) -> DetailsResult | LookupFailure:
    trail = AuditTrail(AuditStore(path), b"k" * 32)
    details = InvoiceDetailsLookup(Source(answer), environment=RopoEnvironment.SANDBOX, audit=trail)

    async def was_shown() -> bool:
        return bool(shown)

    try:
        return await details.run(QUERY, 9100401, AGENT, shown=None if shown is None else was_shown)
    finally:
        await trail.aclose()


async def test_a_view_is_audited_with_its_job(tmp_path: Path) -> None:
    outcome = await run(tmp_path / "a.db", JobDetails(job_id=9100401, invoice_number="SBX-1"))
    assert isinstance(outcome, DetailsResult)
    assert rows(tmp_path / "a.db") == ["details found 1 (job 9100401)"]


async def test_a_missing_job_and_a_failure_are_audited_too(tmp_path: Path) -> None:
    await run(tmp_path / "a.db", None)
    failure = await run(tmp_path / "a.db", RopoTimeout("slow"))
    assert isinstance(failure, LookupFailure)
    assert failure.kind is FailureKind.TIMEOUT
    assert rows(tmp_path / "a.db") == ["details none: job 9100401", "details error: timeout"]


async def test_details_nobody_could_see_are_not_audited(tmp_path: Path) -> None:
    await run(tmp_path / "a.db", JobDetails(job_id=9100401), shown=False)
    await run(tmp_path / "a.db", JobDetails(job_id=9100401), shown=True)
    assert rows(tmp_path / "a.db") == ["details found 1 (job 9100401)"]


@pytest.mark.parametrize(("required", "served"), [(True, False), (False, True)])
async def test_details_that_cannot_be_audited_are_withheld_when_audit_is_required(
    required: bool, served: bool
) -> None:
    details = InvoiceDetailsLookup(
        Source(JobDetails(job_id=9100401)),
        environment=RopoEnvironment.SANDBOX,
        audit=BrokenTrail(),
        audit_required=required,
    )
    outcome = await details.run(QUERY, 9100401, AGENT)
    assert isinstance(outcome, DetailsResult) is served
    if not served:
        assert isinstance(outcome, LookupFailure)
        assert outcome.kind is FailureKind.AUDIT_FAILED
