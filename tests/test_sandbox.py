"""The built-in Ropo One stand-in answers like the documented API, and misbehaves on request."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from bot.ropo.sandbox import (
    FIND_PATH,
    PROBLEM_TYPE,
    SANDBOX_APICODE,
    SANDBOX_CID,
    TOKEN_PATH,
    RecordedRequest,
    SandboxState,
    create_sandbox_app,
)
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

CREDENTIALS = {"cid": SANDBOX_CID, "apicode": SANDBOX_APICODE}
LINK = "https://sandbox.myropo.example/invoice/"


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


@pytest.fixture
def app() -> Starlette:
    return create_sandbox_app()


@pytest.fixture
def state(app: Starlette) -> SandboxState:
    return app.state.sandbox


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client


async def _token(client: httpx.AsyncClient) -> str:
    response = await client.post(TOKEN_PATH, json=CREDENTIALS)
    assert response.status_code == 201
    return response.json()["token"]


@pytest.fixture
async def authed(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same client, now sending a valid bearer token."""
    client.headers["Authorization"] = f"Bearer {await _token(client)}"
    return client


async def _find(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(FIND_PATH, json=body)


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"status": status, "type": PROBLEM_TYPE, "title": title, "detail": detail}


def _assert_problem(response: httpx.Response, status: int, title: str, detail: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == _problem(status, title, detail)


def _b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _job(
    case: int,
    invoice: str,
    day: str,
    status: str,
    amount: float,
    *,
    link: bool = True,
    **group: Any,
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "case_number": case,
        "invoice_number": invoice,
        "original_invoice_date": day,
        "status": status,
        "open_amount": amount,
        "group_job": 1 if group else 0,
        **group,
    }
    if link:
        job["my_ropo_link"] = f"{LINK}{case}"
    return job


MANY_OPEN = [
    _job(9100001, "SBX-10001", "2025-11-20", "due", 57.35),
    _job(9100002, "SBX-10002", "2024-09-16", "collection", 412.80),
    _job(9100003, "SBX-10003", "2026-01-15", "invoicing", 23.50, link=False),
    _job(9100004, "SBX-10004", "2025-06-02", "reminder", 89.90),
    _job(
        9100006,
        "SBX-10006",
        "2025-12-01",
        "due",
        120.00,
        group_invoice_numbers=["SBX-10006/1", "SBX-10006/2", "SBX-10006/3"],
        group_total_payable=310.45,
    ),
]
MANY_PAID = _job(9100005, "SBX-10005", "2024-03-11", "paid", 0.00)

SMALL_OPEN = [
    _job(9100401, "SBX-10401", "2025-09-12", "due", 199.00),
    _job(9100402, "SBX-10402", "2025-04-30", "reminder", 64.10),
]
SMALL_PAID = _job(9100403, "SBX-10403", "2024-12-05", "paid", 0.00)


# --- POST /rest/token -------------------------------------------------------------------------


async def test_right_credentials_get_a_two_hour_hs256_jwt(client: httpx.AsyncClient) -> None:
    before = int(time.time())
    response = await client.post(TOKEN_PATH, json=CREDENTIALS)

    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["token"]
    header, payload, signature = response.json()["token"].split(".")
    assert _b64url_json(header) == {"alg": "HS256", "typ": "JWT"}
    claims = _b64url_json(payload)
    assert set(claims) == {"sub", "iat", "exp", "jti"}
    assert claims["sub"] == SANDBOX_CID
    assert before <= claims["iat"] <= time.time()
    assert claims["exp"] - claims["iat"] == 7200
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)  # 32 bytes of HMAC-SHA256, unpadded


async def test_every_token_is_distinct(client: httpx.AsyncClient) -> None:
    assert await _token(client) != await _token(client)


@pytest.mark.parametrize(
    "body",
    [
        {"cid": SANDBOX_CID, "apicode": "wrong"},
        {"cid": "someone-else", "apicode": SANDBOX_APICODE},
        {"cid": SANDBOX_APICODE, "apicode": SANDBOX_CID},
    ],
)
async def test_wrong_credentials_are_refused_with_error_id(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await client.post(TOKEN_PATH, json=body)

    assert response.status_code == 400
    assert response.json() == {"errorId": 1002, "errorText": "Invalid cid or apicode."}


async def test_unencodable_apicode_is_a_wrong_credential(client: httpx.AsyncClient) -> None:
    content = b'{"cid": "sandbox", "apicode": "\\ud800"}'  # a lone surrogate, valid JSON

    response = await client.post(TOKEN_PATH, content=content)

    assert response.status_code == 400
    assert response.json() == {"errorId": 1002, "errorText": "Invalid cid or apicode."}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b"{}",
        json.dumps({"cid": SANDBOX_CID}).encode(),
        json.dumps({"apicode": SANDBOX_APICODE}).encode(),
        json.dumps({"cid": 1, "apicode": SANDBOX_APICODE}).encode(),
    ],
)
async def test_missing_credentials_are_refused_with_error_id(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        TOKEN_PATH, content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "errorId": 1001,
        "errorText": "cid and apicode are required strings.",
    }


async def test_credentials_come_from_the_constructor() -> None:
    app = create_sandbox_app(cid="acme", apicode="s3cret")
    async with _client(app) as client:
        default = await client.post(TOKEN_PATH, json=CREDENTIALS)
        custom = await client.post(TOKEN_PATH, json={"cid": "acme", "apicode": "s3cret"})

    assert default.status_code == 400
    assert custom.status_code == 201
    assert _b64url_json(custom.json()["token"].split(".")[1])["sub"] == "acme"


# --- bearer token check -----------------------------------------------------------------------

UNAUTHORIZED = ("Unauthorized", "Missing, invalid or expired token.")


async def _assert_unauthorized(
    client: httpx.AsyncClient, authorization: str | bytes | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.post(FIND_PATH, json={"custnum": CUSTNUM_SMALL}, headers=headers)
    _assert_problem(response, 401, *UNAUTHORIZED)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_lookup_without_token_is_401(client: httpx.AsyncClient) -> None:
    await _assert_unauthorized(client, None)


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c", "Bearer ä.ö.å".encode("latin-1")],
)
async def test_lookup_with_garbage_token_is_401(
    client: httpx.AsyncClient, authorization: str | bytes
) -> None:
    await _assert_unauthorized(client, authorization)


async def test_valid_token_under_another_scheme_is_401(client: httpx.AsyncClient) -> None:
    await _assert_unauthorized(client, f"Basic {await _token(client)}")


async def test_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"bearer {await _token(client)}"}
    response = await client.post(FIND_PATH, json={"custnum": CUSTNUM_SMALL}, headers=headers)
    assert response.status_code == 200


async def test_tampered_token_is_401(client: httpx.AsyncClient) -> None:
    header, payload, signature = (await _token(client)).split(".")
    claims = _b64url_json(payload) | {"exp": 4_000_000_000}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    await _assert_unauthorized(client, f"Bearer {header}.{forged}.{signature}")


async def test_unsigned_token_is_401(client: httpx.AsyncClient) -> None:
    _, payload, _ = (await _token(client)).split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()

    await _assert_unauthorized(client, f"Bearer {none}.{payload}.")


async def test_token_of_another_sandbox_is_401(client: httpx.AsyncClient) -> None:
    async with _client(create_sandbox_app()) as other:
        foreign = await _token(other)

    await _assert_unauthorized(client, f"Bearer {foreign}")


async def test_token_born_expired_is_401() -> None:
    async with _client(create_sandbox_app(token_ttl_s=0)) as client:
        await _assert_unauthorized(client, f"Bearer {await _token(client)}")


async def test_token_expires_after_its_lifetime() -> None:
    async with _client(create_sandbox_app(token_ttl_s=0.2)) as client:
        client.headers["Authorization"] = f"Bearer {await _token(client)}"
        assert (await _find(client, custnum=CUSTNUM_SMALL)).status_code == 200

        await asyncio.sleep(0.3)

        _assert_problem(await _find(client, custnum=CUSTNUM_SMALL), 401, *UNAUTHORIZED)


async def test_revoked_tokens_are_401_and_a_new_token_works(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    old = await _token(client)
    state.revoke_tokens()

    await _assert_unauthorized(client, f"Bearer {old}")
    new = await _token(client)
    response = await client.post(
        FIND_PATH, json={"custnum": CUSTNUM_SMALL}, headers={"Authorization": f"Bearer {new}"}
    )
    assert response.status_code == 200


# --- request validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "Either ssn or custnum is required, not both."),
        ({"ssn": "", "custnum": ""}, "Either ssn or custnum is required, not both."),
        ({"all_invoices": 1}, "Either ssn or custnum is required, not both."),
        (
            {"ssn": HETU_MANY_INVOICES, "custnum": CUSTNUM_SMALL},
            "Either ssn or custnum is required, not both.",
        ),
        ({"ssn": 131052}, "ssn and custnum must be strings."),
        ({"custnum": 1001}, "ssn and custnum must be strings."),
        ({"ssn": HETU_MANY_INVOICES, "all_invoices": 2}, "all_invoices must be 0 or 1."),
        ({"ssn": HETU_MANY_INVOICES, "all_invoices": True}, "all_invoices must be 0 or 1."),
        ({"ssn": HETU_MANY_INVOICES, "all_invoices": "1"}, "all_invoices must be 0 or 1."),
        ([HETU_MANY_INVOICES], "The request body must be a JSON object."),
    ],
)
async def test_bad_lookup_body_is_400_problem_without_the_hetu(
    authed: httpx.AsyncClient, body: Any, detail: str
) -> None:
    response = await authed.post(FIND_PATH, json=body)

    _assert_problem(response, 400, "Bad Request", detail)
    assert "308T" not in response.text


async def test_non_json_lookup_body_is_400_problem(authed: httpx.AsyncClient) -> None:
    response = await authed.post(FIND_PATH, content=b"ssn=131052-308T")

    _assert_problem(response, 400, "Bad Request", "The request body must be a JSON object.")


# --- the customers ----------------------------------------------------------------------------


async def test_hetu_with_many_invoices_returns_open_jobs_only(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, ssn=HETU_MANY_INVOICES)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"jobs": MANY_OPEN}


async def test_all_invoices_0_is_the_default(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, ssn=HETU_MANY_INVOICES, all_invoices=0)

    assert response.json() == {"jobs": MANY_OPEN}


async def test_all_invoices_1_adds_the_paid_job_in_place(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, ssn=HETU_MANY_INVOICES, all_invoices=1)

    assert response.json() == {"jobs": [*MANY_OPEN[:4], MANY_PAID, MANY_OPEN[4]]}


async def test_amounts_are_json_numbers_with_two_decimals(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, ssn=HETU_MANY_INVOICES, all_invoices=1)

    amounts = re.findall(r'"(?:open_amount|group_total_payable)":([^,}]+)', response.text)
    assert amounts == ["57.35", "412.80", "23.50", "89.90", "0.00", "120.00", "310.45"]


async def test_hetu_with_only_paid_invoices_is_404_unless_all_invoices(
    authed: httpx.AsyncClient,
) -> None:
    open_only = await _find(authed, ssn=HETU_ONLY_PAID)
    everything = await _find(authed, ssn=HETU_ONLY_PAID, all_invoices=1)

    _assert_problem(open_only, 404, "Not Found", "No jobs found for the end customer.")
    assert everything.json() == {
        "jobs": [
            _job(9100101, "SBX-10101", "2024-05-06", "paid", 0.00),
            _job(9100102, "SBX-10102", "2025-02-14", "paid", 0.00),
        ]
    }


async def test_century_sign_tells_two_people_apart(authed: httpx.AsyncClient) -> None:
    born_1990 = await _find(authed, ssn=HETU_DUE_20TH_CENTURY)
    born_2090 = await _find(authed, ssn=HETU_REMINDER_21ST_CENTURY)

    assert born_1990.json() == {"jobs": [_job(9100201, "SBX-10201", "2025-10-01", "due", 150.00)]}
    assert born_2090.json() == {
        "jobs": [_job(9100301, "SBX-10301", "2026-02-03", "reminder", 75.25)]
    }


async def test_hetu_must_match_exactly(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, ssn=HETU_MANY_INVOICES.lower())

    _assert_problem(response, 404, "Not Found", "No jobs found for the end customer.")


async def test_small_customer_number(authed: httpx.AsyncClient) -> None:
    open_only = await _find(authed, custnum=CUSTNUM_SMALL)
    everything = await _find(authed, custnum=CUSTNUM_SMALL, all_invoices=1)

    assert open_only.json() == {"jobs": SMALL_OPEN}
    assert everything.json() == {"jobs": [*SMALL_OPEN, SMALL_PAID]}


async def test_large_customer_number_has_120_open_and_5_paid_jobs(
    authed: httpx.AsyncClient,
) -> None:
    open_jobs = (await _find(authed, custnum=CUSTNUM_LARGE)).json()["jobs"]
    all_jobs = (await _find(authed, custnum=CUSTNUM_LARGE, all_invoices=1)).json()["jobs"]

    assert len(open_jobs) == 120
    assert Counter(job["status"] for job in open_jobs) == {
        "due": 40,
        "reminder": 40,
        "invoicing": 20,
        "collection": 20,
    }
    assert len(all_jobs) == 125
    assert [job["status"] for job in all_jobs[120:]] == ["paid"] * 5
    assert len({job["case_number"] for job in all_jobs}) == 125
    assert len({job["invoice_number"] for job in all_jobs}) == 125
    assert all("2024-01-01" <= job["original_invoice_date"] <= "2026-12-31" for job in all_jobs)
    assert sum("my_ropo_link" not in job for job in open_jobs) == 13


async def test_large_customer_group_jobs_are_complete(authed: httpx.AsyncClient) -> None:
    jobs = (await _find(authed, custnum=CUSTNUM_LARGE)).json()["jobs"]
    groups = [job for job in jobs if job["group_job"] == 1]
    singles = [job for job in jobs if job["group_job"] == 0]

    assert len(groups) == 8
    assert groups[0] == _job(
        9120008,
        "SBX-20008",
        "2024-02-19",
        "reminder",
        274.53,
        group_invoice_numbers=["SBX-20008/1", "SBX-20008/2", "SBX-20008/3"],
        group_total_payable=823.59,
    )
    assert all(2 <= len(job["group_invoice_numbers"]) <= 4 for job in groups)
    assert not any({"group_invoice_numbers", "group_total_payable"} & set(job) for job in singles)


async def test_old_schema_customer(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, custnum=CUSTNUM_OLD_SCHEMA)

    extra = {"channel": "e-invoice", "note": "a field the bot does not know"}
    assert response.json() == {
        "jobs": [
            {
                "invoice_number": "SBX-10501",
                "original_invoice_date": "2025-08-08",
                "status": "reminder",
                "open_amount": 48.60,
                "group_job": 1,
                "group_case_numbers": ["9100511", "9100512"],
                "group_total_payable": 97.20,
                "my_ropo_link": None,
                "extra_info": extra,
            },
            {
                "invoice_number": "SBX-10502",
                "original_invoice_date": "2025-03-03",
                "status": "due",
                "open_amount": 33.00,
                "group_job": 0,
                "my_ropo_link": f"{LINK}9100502",
                "extra_info": extra,
            },
        ]
    }


@pytest.mark.parametrize(
    "body",
    [{"custnum": "C-9999"}, {"custnum": "c-1001"}, {"ssn": "311299-999X"}, {"ssn": "garbage"}],
)
async def test_unknown_customer_is_404_problem_without_echo(
    authed: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await authed.post(FIND_PATH, json=body)

    _assert_problem(response, 404, "Not Found", "No jobs found for the end customer.")
    assert next(iter(body.values())) not in response.text


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("custnum", "status", "title", "detail"),
    [
        (
            Fault.SERVER_ERROR,
            500,
            "Internal Server Error",
            "The sandbox simulated an internal error.",
        ),
        (Fault.UNAVAILABLE, 503, "Service Unavailable", "The sandbox simulated a service outage."),
        (Fault.BAD_REQUEST, 400, "Bad Request", "The sandbox simulated a rejected request."),
        (Fault.RATE_LIMITED, 429, "Too Many Requests", "The sandbox simulated rate limiting."),
    ],
)
async def test_fault_customer_numbers_answer_with_problems(
    authed: httpx.AsyncClient, custnum: str, status: int, title: str, detail: str
) -> None:
    response = await _find(authed, custnum=custnum)

    _assert_problem(response, status, title, detail)
    assert response.headers.get("retry-after") == ("1" if status == 429 else None)


def test_fault_identifiers_are_stable() -> None:
    assert [fault.value for fault in Fault] == [
        "FAULT-500",
        "FAULT-503",
        "FAULT-429",
        "FAULT-SLOW",
        "FAULT-HTML",
        "FAULT-BADJSON",
        "FAULT-400",
    ]


async def test_html_fault_is_a_200_proxy_page(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, custnum=Fault.HTML)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith("<!DOCTYPE html>")
    assert "Service temporarily unavailable" in response.text


async def test_bad_json_fault_is_a_200_of_the_wrong_shape(authed: httpx.AsyncClient) -> None:
    response = await _find(authed, custnum=Fault.BAD_JSON)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"jobs": "maintenance"}


async def test_slow_fault_waits_then_answers_like_the_small_customer() -> None:
    async with _client(create_sandbox_app(slow_delay_s=0.2)) as client:
        client.headers["Authorization"] = f"Bearer {await _token(client)}"
        started = time.monotonic()
        response = await _find(client, custnum=Fault.SLOW, all_invoices=1)
        elapsed = time.monotonic() - started

    assert elapsed >= 0.2
    assert response.json() == {"jobs": [*SMALL_OPEN, SMALL_PAID]}


async def test_slow_fault_is_slow_by_default(authed: httpx.AsyncClient) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_find(authed, custnum=Fault.SLOW), timeout=0.2)


# --- steering from tests ----------------------------------------------------------------------


async def test_fail_next_queues_failures_then_resumes(
    authed: httpx.AsyncClient, state: SandboxState
) -> None:
    state.fail_next(503, 429, 500)

    first, second, third, fourth = [await _find(authed, custnum=CUSTNUM_SMALL) for _ in range(4)]

    detail = "Failure injected by the sandbox."
    _assert_problem(first, 503, "Service Unavailable", detail)
    _assert_problem(second, 429, "Too Many Requests", detail)
    assert second.headers["retry-after"] == "0"
    assert "retry-after" not in first.headers
    _assert_problem(third, 500, "Internal Server Error", detail)
    assert fourth.json() == {"jobs": SMALL_OPEN}


async def test_fail_next_can_simulate_an_early_401(
    authed: httpx.AsyncClient, state: SandboxState
) -> None:
    state.fail_next(401)

    _assert_problem(
        await _find(authed, custnum=CUSTNUM_SMALL),
        401,
        "Unauthorized",
        "Failure injected by the sandbox.",
    )
    assert (await _find(authed, custnum=CUSTNUM_SMALL)).status_code == 200


async def test_unauthorized_lookups_do_not_consume_queued_failures(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.fail_next(503)

    await _assert_unauthorized(client, None)
    client.headers["Authorization"] = f"Bearer {await _token(client)}"
    assert (await _find(client, custnum=CUSTNUM_SMALL)).status_code == 503


async def test_fail_next_names_unusual_statuses_generically(
    authed: httpx.AsyncClient, state: SandboxState
) -> None:
    state.fail_next(499)

    response = await _find(authed, custnum=CUSTNUM_SMALL)

    _assert_problem(response, 499, "Error", "Failure injected by the sandbox.")


@pytest.mark.parametrize("status", [200, 302, 399, 600])
def test_fail_next_takes_only_error_statuses(state: SandboxState, status: int) -> None:
    with pytest.raises(ValueError, match="4xx/5xx"):
        state.fail_next(status)


async def test_latency_delays_every_lookup_and_is_settable(
    authed: httpx.AsyncClient, state: SandboxState
) -> None:
    state.latency_s = 0.15
    started = time.monotonic()
    await _find(authed, custnum=CUSTNUM_SMALL)

    assert time.monotonic() - started >= 0.15


async def test_latency_from_the_constructor_does_not_delay_tokens() -> None:
    async with _client(create_sandbox_app(latency_s=1.0)) as client:
        started = time.monotonic()
        client.headers["Authorization"] = f"Bearer {await _token(client)}"
        token_took = time.monotonic() - started
        await _find(client, custnum=CUSTNUM_SMALL)
        both_took = time.monotonic() - started

    assert token_took < 1.0 <= both_took


async def test_every_request_is_recorded_as_sent(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    token = await _token(client)
    await client.post(
        FIND_PATH,
        json={"ssn": HETU_MANY_INVOICES, "all_invoices": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    await client.post(FIND_PATH, content=b"not json")
    await client.get("/rest/nowhere")

    assert [(r.method, r.path, r.json) for r in state.requests] == [
        ("POST", TOKEN_PATH, CREDENTIALS),
        ("POST", FIND_PATH, {"ssn": HETU_MANY_INVOICES, "all_invoices": 1}),
        ("POST", FIND_PATH, None),
        ("GET", "/rest/nowhere", None),
    ]
    assert all(isinstance(r, RecordedRequest) for r in state.requests)
    assert state.requests[0].headers["content-type"] == "application/json"
    assert state.requests[1].headers["authorization"] == f"Bearer {token}"
    assert state.token_requests == 1
    assert [r.json for r in state.lookups] == [
        {"ssn": HETU_MANY_INVOICES, "all_invoices": 1},
        None,
    ]


async def test_token_requests_counts_failed_attempts_too(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    await client.post(TOKEN_PATH, json={"cid": "x", "apicode": "y"})
    await _token(client)

    assert state.token_requests == 2


async def test_reset_forgets_requests_failures_and_latency_but_not_tokens(
    authed: httpx.AsyncClient, state: SandboxState
) -> None:
    state.fail_next(500)
    state.latency_s = 5.0

    state.reset()

    assert state.requests == []
    assert state.latency_s == 0.0
    assert (await _find(authed, custnum=CUSTNUM_SMALL)).status_code == 200
    assert state.token_requests == 0
    assert len(state.lookups) == 1


async def test_nothing_logged_contains_a_hetu(
    authed: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    for ssn in (HETU_MANY_INVOICES, HETU_ONLY_PAID, "311299-999X"):
        await _find(authed, ssn=ssn)
    await _find(authed, custnum=Fault.SERVER_ERROR)

    assert caplog.records  # the fault is logged, so this checks real log output
    for ssn in (HETU_MANY_INVOICES, HETU_ONLY_PAID, "311299-999X"):
        assert ssn not in caplog.text


# --- served for real --------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[str, SandboxState]]:
    """The sandbox behind uvicorn in a background thread, as the demo and e2e tests run it."""
    app = create_sandbox_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}", app.state.sandbox
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def test_sandbox_serves_over_real_http_from_a_thread(served: tuple[str, SandboxState]) -> None:
    base_url, state = served
    with httpx.Client(base_url=base_url) as client:
        token = client.post(TOKEN_PATH, json=CREDENTIALS).json()["token"]
        response = client.post(
            FIND_PATH,
            json={"custnum": CUSTNUM_SMALL},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert response.json() == {"jobs": SMALL_OPEN}
    assert state.token_requests == 1
    assert [r.json for r in state.lookups] == [{"custnum": CUSTNUM_SMALL}]
