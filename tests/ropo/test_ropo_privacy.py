"""No identity code, apicode or token in what the adapter logs or raises."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import httpx
import pytest

from bot.ropo.client import RopoClient
from bot.ropo.errors import RopoBadRequest, RopoError, RopoUnavailable
from bot.ropo.sandbox import SandboxState
from bot.ropo.sandbox_data import HETU_MANY_INVOICES
from tests.privacy import identity_codes_in
from tests.ropo.ropo_support import (
    FAKE_BASE_URL,
    TEST_APICODE,
    FakeRopo,
    RawRecords,
    hetu,
    problem,
)

MakeClient = Callable[..., RopoClient]
# The base64url of {"alg":"HS256","typ":"JWT"}: the start of every sandbox token.
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


def _leaks(text: str, *secrets: str) -> list[str]:
    """The identity code these tests look up, readable in any disguise, and any secret."""
    found = identity_codes_in(text, [HETU_MANY_INVOICES])
    return found + [secret for secret in secrets if secret in text]


async def test_a_failing_and_a_succeeding_hetu_lookup_log_no_identity_code_or_secret(
    client: RopoClient,
    sandbox: SandboxState,
    raw_log: RawRecords,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.fail_next(500, 500, 500)

    with pytest.raises(RopoUnavailable) as caught:
        await client.find_invoices(hetu(HETU_MANY_INVOICES))
    invoices = await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert len(invoices) == 5
    token = sandbox.lookups[0].headers["authorization"].removeprefix("Bearer ")
    secrets = (TEST_APICODE, token, token.split(".")[2], JWT_HEADER)
    raw = "\n".join(raw_log.lines)
    # The scan is only worth something if the lookups were logged at all.
    assert re.search(r"bot\.ropo\.client DEBUG: Ropo One token answered 201 in \d+ ms", raw)
    assert "bot.ropo.client INFO: Ropo One jobs/findbyendcustomer failed" in raw
    assert "bot.ropo.auth INFO: Ropo One token renewed; valid for " in raw
    assert "httpx INFO: HTTP Request: POST" in raw
    assert _leaks(raw, *secrets) == []
    assert _leaks(caplog.text, *secrets) == []
    for text in (str(caught.value), repr(caught.value), *map(str, caught.value.args)):
        assert _leaks(text, *secrets) == []


@pytest.mark.parametrize(
    ("echoed", "masked"),
    [
        (HETU_MANY_INVOICES, "131052-****"),
        ("131052%2D308T", "131052%2D****"),  # the query string, as Ropo received it
        ("131052\\u2013308T", "131052\\u2013****"),  # JSON-escaped twice over
        ("131052\u2013308t", "131052\u2013****"),
    ],
)
async def test_ropo_echoing_the_identity_code_in_a_problem_is_masked_in_the_error(
    make_client: MakeClient, raw_log: RawRecords, echoed: str, masked: str
) -> None:
    echo = problem(400, "Bad Request", f"Invalid ssn {echoed} in request")
    ropo = FakeRopo(lookup_answers=[echo])
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    with pytest.raises(RopoBadRequest) as caught:
        await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert str(caught.value) == (
        f"Ropo One rejected the invoice query: Bad Request: Invalid ssn {masked} in request"
    )
    assert _leaks(str(caught.value)) == []
    assert _leaks("\n".join(raw_log.lines)) == []


async def test_ropo_echoing_the_identity_code_in_a_5xx_is_not_logged(
    make_client: MakeClient, raw_log: RawRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.ropo.client._backoff_s", lambda attempt: 0.0)
    echo = problem(503, "Service Unavailable", f"Busy serving {HETU_MANY_INVOICES}")
    ropo = FakeRopo(lookup_answers=[echo, echo, echo])
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    with pytest.raises(RopoUnavailable) as caught:
        await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert _leaks(str(caught.value)) == []
    assert _leaks("\n".join(raw_log.lines)) == []


async def test_a_token_is_never_in_an_error_even_when_ropo_echoes_it(
    make_client: MakeClient,
) -> None:
    token = "opaque-token-value-1234"
    echo = problem(400, "Bad Request", f"Unexpected header Authorization: Bearer {token}")
    ropo = FakeRopo(token=token, lookup_answers=[echo])
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    with pytest.raises(RopoError) as caught:
        await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert token not in str(caught.value)
    assert str(caught.value).endswith("Authorization: Bearer [redacted]")


async def test_the_apicode_is_never_in_an_error_even_when_ropo_echoes_it(
    make_client: MakeClient,
) -> None:
    refusal = httpx.Response(
        400, json={"errorId": 1002, "errorText": f"Bad apicode {TEST_APICODE}"}
    )
    ropo = FakeRopo(token_answers=[refusal])
    client = make_client(FAKE_BASE_URL, transport=ropo.transport)

    with pytest.raises(RopoError) as caught:
        await client.find_invoices(hetu(HETU_MANY_INVOICES))

    assert TEST_APICODE not in str(caught.value)
