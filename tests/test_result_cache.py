"""The paging cache: per agent, expiring, bounded by entries and bytes; an injected clock."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

from bot.audit import AuditQuery, AuditStore, AuditTrail
from bot.audit.store import read_only, search
from bot.lookup import InvoiceLookup, LookupResult, Requester, Surface
from bot.query import Identifier, IdentifierKind, Query
from bot.result_cache import ResultCache, estimated_size
from bot.ropo.models import Invoice, InvoiceStatus
from bot.settings import RopoEnvironment

HETU = Identifier(IdentifierKind.HETU, "131052-308T")
CUSTNUM = Identifier(IdentifierKind.CUSTOMER_NUMBER, "C-1001")
AGENT = Requester("T1", "U1", "C1", Surface.BUTTON)
OTHER_AGENT = Requester("T1", "U2", "C1", Surface.BUTTON)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def invoice(number: str, status: InvoiceStatus = InvoiceStatus.DUE) -> Invoice:
    return Invoice(
        case_number=int(number),
        invoice_number=f"SBX-{number}",
        original_invoice_date=date(2025, 1, 1),
        status=status,
        open_amount=Decimal("0.00" if status is InvoiceStatus.PAID else "10.00"),
    )


def result(query: Query, *invoices: Invoice, reference: str = "R-AAAAAA") -> LookupResult:
    return LookupResult(query, invoices, "EUR", RopoEnvironment.SANDBOX, reference)


def cache(clock: Clock, *, ttl_s: float = 300, entries: int = 10, size: int = 10**6):
    return ResultCache(ttl_s=ttl_s, max_entries=entries, max_bytes=size, clock=clock)


def test_a_result_is_kept_for_its_agent_and_query_only() -> None:
    kept = cache(Clock())
    found = result(Query(HETU), invoice("1"))
    kept.put(AGENT, found)
    assert kept.get(AGENT, Query(HETU)) is found
    assert kept.get(OTHER_AGENT, Query(HETU)) is None
    assert kept.get(AGENT, Query(CUSTNUM)) is None
    assert kept.get(AGENT, Query(HETU, include_paid=True)) is None  # would lack paid invoices
    assert kept.get(Requester("T2", "U1", "C1", Surface.BUTTON), Query(HETU)) is None


def test_results_expire_after_the_ttl() -> None:
    clock = Clock()
    kept = cache(clock, ttl_s=300)
    kept.put(AGENT, result(Query(HETU), invoice("1")))
    clock.now += 299.9
    assert kept.get(AGENT, Query(HETU)) is not None
    clock.now += 0.2
    assert kept.get(AGENT, Query(HETU)) is None
    assert len(kept) == 0


def test_the_least_recently_used_goes_first_when_entries_run_out() -> None:
    kept = cache(Clock(), entries=2)
    queries = [Query(Identifier(IdentifierKind.CUSTOMER_NUMBER, f"C-{n}")) for n in range(3)]
    kept.put(AGENT, result(queries[0], invoice("1")))
    kept.put(AGENT, result(queries[1], invoice("2")))
    assert kept.get(AGENT, queries[0]) is not None  # now the most recently used
    kept.put(AGENT, result(queries[2], invoice("3")))
    assert len(kept) == 2
    assert kept.get(AGENT, queries[1]) is None
    assert kept.get(AGENT, queries[0]) is not None
    assert kept.get(AGENT, queries[2]) is not None


def test_the_byte_bound_evicts_and_a_result_bigger_than_it_is_not_kept() -> None:
    small = result(Query(HETU), invoice("1"))
    big = result(Query(CUSTNUM), *(invoice(str(n)) for n in range(1, 21)))
    kept = cache(Clock(), size=estimated_size(big) + estimated_size(small) - 1)
    kept.put(AGENT, small)
    kept.put(AGENT, big)
    assert kept.get(AGENT, Query(HETU)) is None  # evicted to make room
    assert kept.get(AGENT, Query(CUSTNUM)) is big
    assert kept.size_bytes == estimated_size(big)

    tiny = cache(Clock(), size=estimated_size(small))
    tiny.put(AGENT, small)
    tiny.put(AGENT, dataclasses.replace(small, invoices=big.invoices))  # same key, too big
    assert tiny.get(AGENT, Query(HETU)) is None  # the older answer is not served instead
    assert tiny.size_bytes == 0


def test_the_size_estimate_grows_with_invoices_and_their_text() -> None:
    one = result(Query(HETU), invoice("1"))
    two = result(Query(HETU), invoice("1"), invoice("2"))
    grouped = result(
        Query(HETU), invoice("1").model_copy(update={"group_invoice_numbers": ("A/1", "A/2")})
    )
    assert estimated_size(one) < estimated_size(grouped) < estimated_size(two)


def test_open_only_is_filtered_from_an_include_paid_result() -> None:
    kept = cache(Clock())
    paid, due = invoice("1", InvoiceStatus.PAID), invoice("2")
    kept.put(AGENT, result(Query(HETU, include_paid=True), due, paid))
    narrowed = kept.get(AGENT, Query(HETU))
    assert narrowed is not None
    assert narrowed.query == Query(HETU)
    assert narrowed.invoices == (due,)


def test_a_ttl_of_zero_keeps_nothing() -> None:
    kept = cache(Clock(), ttl_s=0)
    kept.put(AGENT, result(Query(HETU), invoice("1")))
    assert kept.get(AGENT, Query(HETU)) is None


def test_no_agent_no_caching() -> None:
    kept = cache(Clock())
    nobody = Requester(None, None, None, Surface.BUTTON)
    kept.put(nobody, result(Query(HETU), invoice("1")))
    assert kept.get(nobody, Query(HETU)) is None


class CountingSource:
    def __init__(self) -> None:
        self.calls = 0

    async def find_invoices(self, query: Query) -> tuple[Invoice, ...]:
        self.calls += 1
        paid = (invoice("2", InvoiceStatus.PAID),) if query.include_paid else ()
        return (invoice("1"), *paid)


async def test_a_page_from_the_cache_is_audited_as_cached_with_its_own_reference(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    trail = AuditTrail(AuditStore(path), b"k" * 32)
    source = CountingSource()
    lookup = InvoiceLookup(
        source,
        currency="EUR",
        environment=RopoEnvironment.SANDBOX,
        audit=trail,
        cache=cache(Clock()),
    )
    first = await lookup.run(Query(HETU, include_paid=True), AGENT)
    again = await lookup.page(Query(HETU), AGENT)
    elsewhere = await lookup.page(Query(HETU), OTHER_AGENT)
    await trail.aclose()

    assert source.calls == 2  # the first lookup, and the other agent's page
    assert isinstance(first, LookupResult)
    assert isinstance(again, LookupResult)
    assert isinstance(elsewhere, LookupResult)
    assert again.reference != first.reference
    with read_only(path) as connection:
        rows = search(connection, AuditQuery())
    assert [(r.user_id, r.outcome_text, r.ropo_latency_ms is None) for r in rows] == [
        ("U1", "found 2", False),
        ("U1", "found 1 (cached)", True),
        ("U2", "found 1", False),
    ]
    assert rows[1].include_paid is False
    assert rows[1].reference == again.reference
