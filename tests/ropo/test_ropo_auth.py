"""Ropo One bearer tokens: one login shared by all lookups, renewed before expiry or on a 401."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from bot.ropo.auth import TOKEN_LIFETIME_S, token_lifetime
from bot.ropo.client import RopoClient
from bot.ropo.errors import RopoAuthError, RopoProtocolError
from bot.ropo.sandbox import SandboxState
from bot.ropo.sandbox_data import CUSTNUM_SMALL, HETU_MANY_INVOICES
from tests.ropo.ropo_support import (
    FAKE_BASE_URL,
    FIND_URL_PATH,
    TEST_APICODE,
    TEST_CID,
    TOKEN_URL_PATH,
    FakeRopo,
    custnum,
    hetu,
    jwt,
    serve_sandbox,
)

MakeClient = Callable[..., RopoClient]


def _bearers(sandbox: SandboxState) -> list[str]:
    return [request.headers["authorization"] for request in sandbox.lookups]


async def test_login_sends_exactly_cid_and_apicode_as_json(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(custnum(CUSTNUM_SMALL))

    login = sandbox.requests[0]
    assert (login.method, login.path) == ("POST", "/rest/token")
    assert login.json == {"cid": TEST_CID, "apicode": TEST_APICODE}
    assert login.headers["content-type"] == "application/json"
    assert "authorization" not in login.headers


async def test_one_token_serves_consecutive_lookups(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(custnum(CUSTNUM_SMALL))
    await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert sandbox.token_requests == 1
    assert len(sandbox.lookups) == 2
    first, second = _bearers(sandbox)
    assert first == second
    assert first.startswith("Bearer ey")


async def test_fifty_concurrent_lookups_on_a_cold_start_log_in_once(
    client: RopoClient, sandbox: SandboxState
) -> None:
    results = await asyncio.gather(
        *(client.find_invoices(custnum(CUSTNUM_SMALL)) for _ in range(50))
    )

    assert sandbox.token_requests == 1
    assert len(sandbox.lookups) == 50
    assert len(set(_bearers(sandbox))) == 1
    assert all(len(invoices) == 2 for invoices in results)


async def test_a_token_is_renewed_before_its_exp_claim_is_reached(
    make_client: MakeClient,
) -> None:
    # The sandbox's exp is whole seconds, so a 2 s token lives 1-2 s by its claim and the client
    # renews at 9/10 of that: by 1.8 s at the latest. The sandbox itself still accepts it until
    # 2.0 s, so a client that did not renew early would reuse it and log in only once.
    with serve_sandbox(token_ttl_s=2) as (url, sandbox):
        client = make_client(url)
        await client.find_invoices(custnum(CUSTNUM_SMALL))
        await asyncio.sleep(1.9)
        await client.find_invoices(custnum(CUSTNUM_SMALL))

        assert sandbox.token_requests == 2
        assert len(sandbox.lookups) == 2  # renewed before sending: no 401 round trip
        first, second = _bearers(sandbox)
        assert first != second


async def test_a_revoked_token_is_renewed_once_and_the_lookup_succeeds(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(custnum(CUSTNUM_SMALL))
    sandbox.revoke_tokens()

    invoices = await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert len(invoices) == 2
    assert sandbox.token_requests == 2
    assert len(sandbox.lookups) == 3  # ok, 401, ok again with the new token
    first, rejected, renewed = _bearers(sandbox)
    assert first == rejected
    assert renewed != rejected


async def test_the_renewing_login_carries_no_token_and_the_retry_carries_the_new_one(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(custnum(CUSTNUM_SMALL))
    sandbox.revoke_tokens()
    await client.find_invoices(custnum(CUSTNUM_SMALL))

    paths = [request.path for request in sandbox.requests]
    assert paths == [TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH, TOKEN_URL_PATH, FIND_URL_PATH]
    assert "authorization" not in sandbox.requests[3].headers
    assert sandbox.requests[3].json == {"cid": TEST_CID, "apicode": TEST_APICODE}
    assert sandbox.requests[4].json == sandbox.requests[2].json  # the same query, resent


async def test_a_queued_401_renews_the_token_once_and_the_lookup_succeeds(
    client: RopoClient, sandbox: SandboxState
) -> None:
    sandbox.fail_next(401)

    invoices = await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert len(invoices) == 2
    assert sandbox.token_requests == 2
    rejected, renewed = _bearers(sandbox)
    assert renewed != rejected


async def test_a_401_after_renewal_is_an_auth_error_without_a_third_login(
    client: RopoClient, sandbox: SandboxState
) -> None:
    sandbox.fail_next(401, 401)

    with pytest.raises(RopoAuthError) as caught:
        await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert str(caught.value) == "Ropo One rejected a freshly issued token"
    assert caught.value.status == 401
    assert sandbox.token_requests == 2
    assert len(sandbox.lookups) == 2


async def test_tokens_that_are_born_expired_end_in_an_auth_error_after_one_renewal(
    make_client: MakeClient,
) -> None:
    with serve_sandbox(token_ttl_s=0) as (url, sandbox):
        with pytest.raises(RopoAuthError) as caught:
            await make_client(url).find_invoices(custnum(CUSTNUM_SMALL))

        assert caught.value.status == 401
        assert sandbox.token_requests == 2
        assert len(sandbox.lookups) == 2


async def test_fifty_concurrent_lookups_after_a_revoke_renew_the_token_once(
    client: RopoClient, sandbox: SandboxState
) -> None:
    await client.find_invoices(custnum(CUSTNUM_SMALL))
    sandbox.revoke_tokens()

    results = await asyncio.gather(
        *(client.find_invoices(custnum(CUSTNUM_SMALL)) for _ in range(50))
    )

    assert all(len(invoices) == 2 for invoices in results)
    assert sandbox.token_requests == 2
    # The warm-up, all 50 with the revoked token (401), then all 50 again with the new one; the
    # sandbox may receive a retry before a slow first attempt, so count rather than slice.
    assert len(sandbox.lookups) == 101
    revoked = _bearers(sandbox)[0]
    counts = Counter(_bearers(sandbox))
    assert counts.pop(revoked) == 51
    assert list(counts.values()) == [50]  # one new token, used by every retry


async def test_a_wrong_apicode_is_an_auth_error_with_ropos_text_and_without_the_apicode(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState
) -> None:
    wrong_apicode = "wrong-apicode-8d1f0c"
    client = make_client(ropo_url, apicode=wrong_apicode)

    with pytest.raises(RopoAuthError) as caught:
        await client.find_invoices(hetu(HETU_MANY_INVOICES))

    message = str(caught.value)
    assert message == "Ropo One refused the login: Invalid cid or apicode. (errorId 1002)"
    assert wrong_apicode not in message
    assert wrong_apicode not in repr(caught.value)
    assert caught.value.status == 400
    assert sandbox.token_requests == 1  # a refused login is not retried
    assert sandbox.lookups == []


async def test_a_failed_login_is_tried_again_on_the_next_lookup(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState
) -> None:
    client = make_client(ropo_url, apicode="wrong-apicode-8d1f0c")

    for _ in range(2):
        with pytest.raises(RopoAuthError):
            await client.find_invoices(custnum(CUSTNUM_SMALL))

    assert sandbox.token_requests == 2


async def test_a_token_without_exp_is_kept_for_the_documented_two_hours(
    make_client: MakeClient,
) -> None:
    ropo = FakeRopo(
        token=jwt({"sub": "bot-tests"}),
        lookup_answers=[httpx.Response(200, json={"jobs": []})] * 2,
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    await client.find_invoices(custnum("C-1"))
    await client.find_invoices(custnum("C-1"))

    assert ropo.paths() == [TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH]


async def test_a_token_that_is_not_a_jwt_is_reused(make_client: MakeClient) -> None:
    ropo = FakeRopo(
        token="opaque-token-value-1234",
        lookup_answers=[httpx.Response(200, json={"jobs": []})] * 2,
    )
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    await client.find_invoices(custnum("C-1"))
    await client.find_invoices(custnum("C-1"))

    assert ropo.paths() == [TOKEN_URL_PATH, FIND_URL_PATH, FIND_URL_PATH]
    assert ropo.requests[1].headers["authorization"] == "Bearer opaque-token-value-1234"


async def test_a_token_answer_without_a_token_is_a_protocol_error(make_client: MakeClient) -> None:
    ropo = FakeRopo(token_answers=[httpx.Response(201, json={"jwt": "x"})])
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    with pytest.raises(RopoProtocolError) as caught:
        await client.find_invoices(custnum("C-1"))

    assert str(caught.value) == "Ropo One's token answer had no token (application/json)"
    assert ropo.paths() == [TOKEN_URL_PATH]


def test_token_lifetime_is_read_from_the_exp_claim() -> None:
    assert token_lifetime(jwt({"exp": 1_000_100}), now=1_000_000.0) == 100.0


def test_token_lifetime_of_an_expired_jwt_is_zero() -> None:
    assert token_lifetime(jwt({"exp": 999_000}), now=1_000_000.0) == 0.0


@pytest.mark.parametrize(
    "token",
    [
        jwt({"sub": "no exp"}),
        jwt({"exp": "soon"}),
        "opaque-token",
        "a.%%%.c",
        "",
    ],
)
def test_token_lifetime_falls_back_to_two_hours_when_exp_is_unreadable(token: str) -> None:
    assert token_lifetime(token, now=time.time()) == TOKEN_LIFETIME_S == 7200
