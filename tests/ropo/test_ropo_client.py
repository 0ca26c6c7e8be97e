"""RopoClient against the sandbox over real HTTP: what it sends, what it parses, how it fails."""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

import bot.ropo.client as client_module
from bot.ropo.client import RopoClient
from bot.ropo.errors import (
    RopoAuthError,
    RopoBadRequest,
    RopoError,
    RopoProtocolError,
    RopoUnavailable,
)
from bot.ropo.models import Invoice, InvoiceStatus
from bot.ropo.sandbox import SandboxState
from bot.ropo.sandbox_data import (
    CUSTNUM_LARGE,
    CUSTNUM_OLD_SCHEMA,
    CUSTNUM_SMALL,
    HETU_DUE_20TH_CENTURY,
    HETU_MANY_INVOICES,
    HETU_ONLY_PAID,
    HETU_REMINDER_21ST_CENTURY,
    Fault,
)
from tests.ropo.ropo_support import (
    FAKE_BASE_URL,
    FIND_URL_PATH,
    TOKEN_URL_PATH,
    FakeRopo,
    custnum,
    hetu,
    problem,
)

MakeClient = Callable[..., RopoClient]
LINK = "https://sandbox.myropo.example/invoice/"
FIND = "jobs/findbyendcustomer"


def _never_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the jittered backoff a wait no budget allows: only Retry-After can cause a retry."""
    monkeypatch.setattr(client_module, "_backoff_s", lambda attempt: 3600.0)


@pytest.fixture
def no_backoff_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry at once, for tests about *whether* something is retried rather than when."""
    monkeypatch.setattr(client_module, "_backoff_s", lambda attempt: 0.0)


# --- what is sent ---------------------------------------------------------------------------


async def test_a_hetu_is_sent_as_ssn_with_a_bearer_token(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(hetu(HETU_MANY_INVOICES))

    (lookup,) = sandbox.lookups
    assert lookup.method == "POST"
    assert lookup.json == {"ssn": "131052-308T"}
    assert lookup.headers["content-type"] == "application/json"
    assert lookup.headers["accept"] == "application/json"
    assert lookup.headers["user-agent"].startswith("ropo-invoices-bot/")
    scheme, _, token = lookup.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert token.count(".") == 2  # the JWT the sandbox issued


async def test_a_customer_number_is_sent_as_custnum(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert [lookup.json for lookup in sandbox.lookups] == [{"custnum": "C-1001"}]


async def test_include_paid_adds_all_invoices_as_the_integer_1(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(hetu(HETU_MANY_INVOICES, include_paid=True))
    await client.find_invoices(custnum(CUSTNUM_SMALL, include_paid=True))

    first, second = (lookup.json for lookup in sandbox.lookups)
    assert first == {"ssn": "131052-308T", "all_invoices": 1}
    assert second == {"custnum": "C-1001", "all_invoices": 1}
    assert type(first["all_invoices"]) is int  # JSON 1, not true


async def test_the_century_sign_is_sent_as_given_and_picks_a_different_person(
    client: RopoClient, sandbox: SandboxState
) -> None:
    born_1990 = await client.find_invoices(hetu(HETU_DUE_20TH_CENTURY))
    born_1990_y = await client.find_invoices(hetu(HETU_REMINDER_21ST_CENTURY))

    assert [lookup.json for lookup in sandbox.lookups] == [
        {"ssn": "100190-999P"},
        {"ssn": "100190Y999P"},
    ]
    assert [(i.status, str(i.open_amount)) for i in born_1990] == [(InvoiceStatus.DUE, "150.00")]
    assert [(i.status, str(i.open_amount)) for i in born_1990_y] == [
        (InvoiceStatus.REMINDER, "75.25")
    ]


async def test_the_identifier_is_sent_unchanged_even_in_lower_case(
    client: RopoClient, sandbox: SandboxState
) -> None:
    # Normalising is the query parser's job; the adapter must not second-guess it.
    invoices = await client.find_invoices(hetu("131052-308t"))

    assert [lookup.json for lookup in sandbox.lookups] == [{"ssn": "131052-308t"}]
    assert invoices == ()  # the sandbox matches exactly, as Ropo does


# --- what is parsed -------------------------------------------------------------------------


async def test_no_jobs_404_is_an_empty_tuple(client: RopoClient, sandbox: SandboxState) -> None:
    assert await client.find_invoices(hetu(HETU_ONLY_PAID)) == ()
    assert await client.find_invoices(custnum("C-NOBODY")) == ()
    assert len(sandbox.lookups) == 2  # a 404 is an answer, not retried


async def test_a_200_is_parsed_into_invoices_in_ropos_order(client: RopoClient) -> None:
    invoices = await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert invoices == (
        Invoice(
            case_number=9100001,
            invoice_number="SBX-10001",
            original_invoice_date=date(2025, 11, 20),
            status=InvoiceStatus.DUE,
            open_amount=Decimal("57.35"),
            my_ropo_link=f"{LINK}9100001",
        ),
        Invoice(
            case_number=9100002,
            invoice_number="SBX-10002",
            original_invoice_date=date(2024, 9, 16),
            status=InvoiceStatus.COLLECTION,
            open_amount=Decimal("412.80"),
            my_ropo_link=f"{LINK}9100002",
        ),
        Invoice(
            case_number=9100003,
            invoice_number="SBX-10003",
            original_invoice_date=date(2026, 1, 15),
            status=InvoiceStatus.INVOICING,
            open_amount=Decimal("23.50"),
            my_ropo_link=None,
        ),
        Invoice(
            case_number=9100004,
            invoice_number="SBX-10004",
            original_invoice_date=date(2025, 6, 2),
            status=InvoiceStatus.REMINDER,
            open_amount=Decimal("89.90"),
            my_ropo_link=f"{LINK}9100004",
        ),
        Invoice(
            case_number=9100006,
            invoice_number="SBX-10006",
            original_invoice_date=date(2025, 12, 1),
            status=InvoiceStatus.DUE,
            open_amount=Decimal("120.00"),
            group_job=True,
            group_invoice_numbers=("SBX-10006/1", "SBX-10006/2", "SBX-10006/3"),
            group_total_payable=Decimal("310.45"),
            my_ropo_link=f"{LINK}9100006",
        ),
    )


async def test_amounts_are_exact_decimals_as_ropo_wrote_them(client: RopoClient) -> None:
    invoices = await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert all(type(invoice.open_amount) is Decimal for invoice in invoices)
    assert [str(invoice.open_amount) for invoice in invoices] == [
        "57.35",
        "412.80",
        "23.50",
        "89.90",
        "120.00",
    ]
    assert invoices[1].open_amount == Decimal("412.80")
    assert type(invoices[4].group_total_payable) is Decimal
    assert str(invoices[4].group_total_payable) == "310.45"


async def test_paid_invoices_come_back_only_when_asked_for(client: RopoClient) -> None:
    open_only = await client.find_invoices(custnum(CUSTNUM_LARGE))
    with_paid = await client.find_invoices(custnum(CUSTNUM_LARGE, include_paid=True))

    assert len(open_only) == 120
    assert len(with_paid) == 125
    assert sum(invoice.status is InvoiceStatus.PAID for invoice in with_paid) == 5
    assert InvoiceStatus.PAID not in {invoice.status for invoice in open_only}


async def test_the_older_schema_is_parsed_leniently(client: RopoClient) -> None:
    invoices = await client.find_invoices(custnum(CUSTNUM_OLD_SCHEMA))

    assert invoices == (
        Invoice(
            case_number=None,
            invoice_number="SBX-10501",
            original_invoice_date=date(2025, 8, 8),
            status=InvoiceStatus.REMINDER,
            open_amount=Decimal("48.60"),
            group_job=True,
            group_invoice_numbers=("9100511", "9100512"),  # from group_case_numbers
            group_total_payable=Decimal("97.20"),
            my_ropo_link=None,  # null in the answer
        ),
        Invoice(
            case_number=None,
            invoice_number="SBX-10502",
            original_invoice_date=date(2025, 3, 3),
            status=InvoiceStatus.DUE,
            open_amount=Decimal("33.00"),
            my_ropo_link=f"{LINK}9100502",
        ),
    )


async def test_a_404_that_is_not_a_problem_json_is_a_protocol_error(
    make_client: MakeClient,
) -> None:
    # A proxy's or a wrong base URL's "page not found" must not read as "no invoices".
    page = httpx.Response(404, html="<html><body><h1>404 Not Found</h1></body></html>")
    ropo = FakeRopo(lookup_answers=[page])

    with pytest.raises(RopoProtocolError) as caught:
        await make_client(FAKE_BASE_URL, transport=ropo.transport).find_invoices(custnum("C-1"))

    assert str(caught.value) == (
        "Ropo One answered 404 without a problem body (text/html); is ROPO_BASE_URL right?"
    )
    assert caught.value.status == 404


async def test_jobs_null_is_an_empty_tuple(make_client: MakeClient) -> None:
    ropo = FakeRopo(lookup_answers=[httpx.Response(200, json={"jobs": None})])

    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    assert await client.find_invoices(custnum("C-1")) == ()


async def test_an_amount_that_is_not_a_number_is_a_protocol_error(make_client: MakeClient) -> None:
    body = {"jobs": [{"invoice_number": "X-1", "status": "due", "open_amount": "n/a"}]}
    ropo = FakeRopo(lookup_answers=[httpx.Response(200, json=body)])
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    with pytest.raises(RopoProtocolError):
        await client.find_invoices(custnum("C-1"))


# --- how it fails ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "status"), [(Fault.SERVER_ERROR, 500), (Fault.UNAVAILABLE, 503)])
async def test_a_server_error_is_retried_twice_with_backoff_then_unavailable(
    client: RopoClient, sandbox: SandboxState, fault: Fault, status: int
) -> None:
    started = time.monotonic()
    with pytest.raises(RopoUnavailable) as caught:
        await client.find_invoices(custnum(fault.value))
    elapsed = time.monotonic() - started

    assert type(caught.value) is RopoUnavailable
    assert str(caught.value) == f"Ropo One answered {status} on {FIND}"
    assert caught.value.status == status
    assert len(sandbox.lookups) == 3
    # Two jittered waits: 0.125-0.25 s, then 0.25-0.5 s; the upper bound leaves a loaded CI
    # machine room and still catches a wait for the whole budget.
    assert 0.37 <= elapsed < 5.0


@pytest.mark.usefixtures("no_backoff_wait")
async def test_two_outages_then_an_answer_returns_the_answer(
    client: RopoClient, sandbox: SandboxState
) -> None:
    sandbox.fail_next(503, 503)

    invoices = await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert [invoice.invoice_number for invoice in invoices] == ["SBX-10401", "SBX-10402"]
    assert len(sandbox.lookups) == 3
    assert sandbox.token_requests == 1


@pytest.mark.usefixtures("no_backoff_wait")
@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
async def test_every_retryable_status_is_retried(
    client: RopoClient, sandbox: SandboxState, status: int
) -> None:
    sandbox.fail_next(status)

    invoices = await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert len(invoices) == 2
    assert len(sandbox.lookups) == 2


@pytest.mark.parametrize(
    ("status", "error", "prefix"),
    [
        (400, RopoBadRequest, "Ropo One rejected the invoice query"),
        (422, RopoBadRequest, "Ropo One rejected the invoice query"),
        (403, RopoAuthError, "Ropo One refused our token on invoice query"),
        (418, RopoProtocolError, "Ropo One answered 418 on invoice query"),
    ],
)
async def test_a_status_that_cannot_improve_is_not_retried(
    client: RopoClient,
    sandbox: SandboxState,
    status: int,
    error: type[RopoError],
    prefix: str,
) -> None:
    sandbox.fail_next(status)

    with pytest.raises(RopoError) as caught:
        await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert type(caught.value) is error
    title = HTTPStatus(status).phrase
    assert str(caught.value) == f"{prefix}: {title}: Failure injected by the sandbox."
    assert caught.value.status == status
    assert len(sandbox.lookups) == 1


async def test_the_bad_request_fault_is_a_bad_request_tried_once(
    client: RopoClient, sandbox: SandboxState
) -> None:
    with pytest.raises(RopoBadRequest) as caught:
        await client.find_invoices(custnum(Fault.BAD_REQUEST.value))

    assert str(caught.value) == (
        "Ropo One rejected the invoice query: Bad Request: "
        "The sandbox simulated a rejected request."
    )
    assert len(sandbox.lookups) == 1


async def test_a_rate_limit_waits_for_retry_after_and_gives_up_when_the_next_wait_wont_fit(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState
) -> None:
    # FAULT-429 always answers 429 with Retry-After: 1. In a 1.5 s budget the client waits 1 s
    # once; the second 1 s wait would not fit, so it stops and says what really failed.
    client = make_client(ropo_url, timeout_s=1.5)

    started = time.monotonic()
    with pytest.raises(RopoUnavailable) as caught:
        await client.find_invoices(custnum(Fault.RATE_LIMITED.value))
    elapsed = time.monotonic() - started

    assert type(caught.value) is RopoUnavailable
    assert str(caught.value) == f"Ropo One answered 429 on {FIND}"
    assert caught.value.status == 429
    assert len(sandbox.lookups) == 2  # one retry: the second wait was not started
    assert elapsed >= 0.99  # the retry waited for Retry-After


async def test_a_rate_limit_with_retry_after_0_is_retried_at_once(
    client: RopoClient, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    _never_back_off(monkeypatch)
    sandbox.fail_next(429)

    invoices = await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert len(invoices) == 2
    assert len(sandbox.lookups) == 2


async def test_a_retry_after_http_date_in_the_past_means_retry_now(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _never_back_off(monkeypatch)
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    ropo = FakeRopo(
        lookup_answers=[
            problem(503, "Service Unavailable", "later", {"Retry-After": past}),
            httpx.Response(200, json={"jobs": [{"invoice_number": "X-1", "status": "due"}]}),
        ]
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    invoices = await client.find_invoices(custnum("C-1"))

    assert [invoice.invoice_number for invoice in invoices] == ["X-1"]
    assert ropo.paths() == [TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH]


async def test_a_retry_after_http_date_beyond_the_budget_is_not_waited_for(
    make_client: MakeClient,
) -> None:
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    ropo = FakeRopo(
        lookup_answers=[problem(503, "Service Unavailable", "later", {"Retry-After": later})]
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport, timeout_s=30)

    started = time.monotonic()
    with pytest.raises(RopoUnavailable) as caught:
        await client.find_invoices(custnum("C-1"))

    assert time.monotonic() - started < 10  # not the hour, nor the 30 s budget
    assert type(caught.value) is RopoUnavailable
    assert caught.value.status == 503
    assert ropo.paths() == [TOKEN_URL_PATH, FIND_URL_PATH]


@pytest.mark.usefixtures("no_backoff_wait")
@pytest.mark.parametrize("retry_after", ["soon", "-5"])
async def test_an_unusable_or_negative_retry_after_still_allows_a_retry(
    make_client: MakeClient, retry_after: str
) -> None:
    ropo = FakeRopo(
        lookup_answers=[
            problem(503, "Service Unavailable", "later", {"Retry-After": retry_after}),
            httpx.Response(200, json={"jobs": []}),
        ]
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport, timeout_s=0.5)

    assert await client.find_invoices(custnum("C-1")) == ()
    assert ropo.paths() == [TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH]


async def test_a_retry_after_of_nan_falls_back_to_the_backoff(make_client: MakeClient) -> None:
    ropo = FakeRopo(
        lookup_answers=[
            problem(503, "Service Unavailable", "later", {"Retry-After": "NaN"}),
            httpx.Response(200, json={"jobs": []}),
        ]
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport, timeout_s=30)

    started = time.monotonic()
    assert await client.find_invoices(custnum("C-1")) == ()
    assert time.monotonic() - started < 10  # the backoff (<= 0.25 s), not the 30 s budget
    assert ropo.paths() == [TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH]


@pytest.mark.parametrize(
    ("fault", "content_type"),
    [(Fault.HTML, "text/html"), (Fault.BAD_JSON, "application/json")],
)
async def test_a_200_that_is_not_the_api_is_a_protocol_error(
    client: RopoClient, sandbox: SandboxState, fault: Fault, content_type: str
) -> None:
    with pytest.raises(RopoProtocolError) as caught:
        await client.find_invoices(custnum(fault.value))

    assert str(caught.value) == f"Ropo One answered 200 with an unexpected body ({content_type})"
    assert caught.value.status == 200
    assert len(sandbox.lookups) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_refused_connection_is_unavailable_after_retries_within_the_budget(
    make_client: MakeClient,
) -> None:
    client = make_client(f"http://127.0.0.1:{_closed_port()}/rest", timeout_s=2)

    started = time.monotonic()
    with pytest.raises(RopoUnavailable) as caught:
        await client.find_invoices(custnum(CUSTNUM_SMALL))
    elapsed = time.monotonic() - started

    assert type(caught.value) is RopoUnavailable
    assert str(caught.value) == "Cannot reach Ropo One (ConnectError)"
    # Both backoffs were waited; the budget is kept, give or take a loaded machine's delays.
    assert 0.37 <= elapsed < 2.0 + 1.0


@pytest.mark.usefixtures("no_backoff_wait")
async def test_a_connection_error_on_the_first_attempt_only_is_retried(
    make_client: MakeClient,
) -> None:
    ropo = FakeRopo(
        token_answers=[httpx.ConnectError("Connection refused")],
        lookup_answers=[
            httpx.ReadTimeout("timed out"),
            httpx.Response(200, json={"jobs": [{"invoice_number": "X-1", "status": "due"}]}),
        ],
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    invoices = await client.find_invoices(custnum("C-1"))

    assert [invoice.invoice_number for invoice in invoices] == ["X-1"]
    assert ropo.paths() == [TOKEN_URL_PATH, TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH]
