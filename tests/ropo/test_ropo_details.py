"""RopoClient.get_job_details against the sandbox over real HTTP, and odd bodies scripted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import httpx
import pytest

import bot.ropo.client as client_module
from bot.ropo.client import RopoClient
from bot.ropo.errors import RopoBadRequest, RopoProtocolError, RopoUnavailable
from bot.ropo.models import JobDetails
from bot.ropo.sandbox import DETAILS_PATH, SandboxState
from bot.ropo.sandbox_data import DETAILS_FAULT_JOBS, DETAILS_MISSING_JOB, Fault
from tests.ropo.ropo_support import FAKE_BASE_URL, TOKEN_URL_PATH

MakeClient = Callable[..., RopoClient]
FAULT_JOB = {fault: job_id for job_id, fault in DETAILS_FAULT_JOBS.items()}


@pytest.fixture
def no_backoff_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "_backoff_s", lambda attempt: 0.0)


async def test_details_are_a_get_by_jobid_with_a_bearer_token(
    client: RopoClient, sandbox: SandboxState
) -> None:
    details = await client.get_job_details(9100004)

    assert details == JobDetails(
        job_id=9100004,
        invoice_number="SBX-10004",
        payment_reference="91000048",
        due_date=date(2025, 6, 16),
        original_invoice_date=date(2025, 6, 2),
        status_text="Reminder",
        next_status=2,
        next_status_text="Debt collection",
        next_status_date=date(2025, 7, 14),
    )
    (request,) = sandbox.details_requests
    assert (request.method, request.path, request.query) == ("GET", DETAILS_PATH, "jobid=9100004")
    assert request.headers["authorization"].startswith("Bearer ")
    assert request.json is None  # no body on a GET


async def test_a_job_ropo_does_not_have_is_none(client: RopoClient) -> None:
    assert await client.get_job_details(DETAILS_MISSING_JOB) is None


async def test_the_token_is_shared_with_lookups(client: RopoClient, sandbox: SandboxState) -> None:
    await client.get_job_details(9100004)
    await client.get_job_details(9100002)
    assert sandbox.token_requests == 1


@pytest.mark.usefixtures("no_backoff_wait")
async def test_an_outage_is_retried_then_unavailable(
    client: RopoClient, sandbox: SandboxState
) -> None:
    with pytest.raises(RopoUnavailable):
        await client.get_job_details(FAULT_JOB[Fault.UNAVAILABLE])
    assert len(sandbox.details_requests) == 3


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.HTML, RopoProtocolError),
        (Fault.BAD_JSON, RopoProtocolError),
        (Fault.BAD_REQUEST, RopoBadRequest),
    ],
)
async def test_broken_answers_are_mapped_like_a_lookups(
    client: RopoClient, fault: Fault, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await client.get_job_details(FAULT_JOB[fault])


async def test_an_expired_token_is_renewed_once(client: RopoClient, sandbox: SandboxState) -> None:
    await client.get_job_details(9100004)
    sandbox.revoke_tokens()
    assert await client.get_job_details(9100002) is not None
    assert sandbox.token_requests == 2


def _scripted(answer: httpx.Response) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_URL_PATH:
            return httpx.Response(201, json={"token": "t"})
        return answer

    return httpx.MockTransport(handle)


async def test_a_one_item_list_and_unknown_fields_are_read_leniently(
    make_client: MakeClient,
) -> None:
    body = [{"jobid": "77", "billcode": 4349, "nextstatus": "-1", "paydate": "x", "extra": {}}]
    client = make_client(FAKE_BASE_URL, transport=_scripted(httpx.Response(200, json=body)))
    details = await client.get_job_details(77)
    assert details == JobDetails(job_id=77, payment_reference="4349", next_status=-1)
    assert details is not None
    assert not details.has_next_step


@pytest.mark.parametrize("body", [[], [{}, {}], "maintenance", 12])
async def test_a_body_that_is_not_one_job_is_a_protocol_error(
    make_client: MakeClient, body: object
) -> None:
    client = make_client(FAKE_BASE_URL, transport=_scripted(httpx.Response(200, json=body)))
    with pytest.raises(RopoProtocolError):
        await client.get_job_details(77)


async def test_a_404_page_that_is_not_a_problem_is_a_protocol_error(
    make_client: MakeClient,
) -> None:
    client = make_client(
        FAKE_BASE_URL, transport=_scripted(httpx.Response(404, text="<html>Not Found</html>"))
    )
    with pytest.raises(RopoProtocolError):
        await client.get_job_details(77)
