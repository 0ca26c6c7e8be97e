"""The circuit breaker around Ropo One, against the sandbox over real HTTP.

Time is stepped by hand (the breaker takes a clock), so "after the wait" needs no sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

import pytest

import bot.ropo.client as client_module
from bot.ropo.circuit import CircuitBreaker, CircuitState
from bot.ropo.client import RopoClient
from bot.ropo.errors import RopoBadRequest, RopoCircuitOpen, RopoUnavailable
from bot.ropo.sandbox import SandboxState
from bot.ropo.sandbox_data import CUSTNUM_SMALL, Fault
from tests.ropo.ropo_support import custnum

MakeClient = Callable[..., RopoClient]
DOWN = custnum(Fault.UNAVAILABLE.value)
UP = custnum(CUSTNUM_SMALL)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def no_backoff_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "_backoff_s", lambda attempt: 0.0)


def breaker(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, reset_after_s=30.0, clock=clock)


async def test_consecutive_server_errors_open_it_and_then_ropo_is_not_asked(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState, clock: Clock
) -> None:
    client = make_client(ropo_url, max_retries=0, circuit=breaker(clock))
    for _ in range(3):
        with pytest.raises(RopoUnavailable) as caught:
            await client.find_invoices(DOWN)
        assert type(caught.value) is RopoUnavailable  # Ropo was asked, and failed
    assert client.circuit_state is CircuitState.OPEN
    assert client.circuit_retry_in_s == 30.0

    clock.now += 10
    with pytest.raises(RopoCircuitOpen) as caught_open:
        await client.find_invoices(UP)

    assert caught_open.value.retry_in_s == 20.0
    assert caught_open.value.kind == "circuit_open"
    assert len(sandbox.lookups) == 3  # the fourth lookup never left the app


@pytest.mark.usefixtures("no_backoff_wait")
async def test_a_retry_is_not_sent_once_the_circuit_has_opened(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState, clock: Clock
) -> None:
    client = make_client(ropo_url, circuit=breaker(clock, threshold=2))  # two retries

    with pytest.raises(RopoCircuitOpen):
        await client.find_invoices(DOWN)

    assert len(sandbox.lookups) == 2  # the third try was refused by the breaker


async def test_one_probe_after_the_wait_closes_it_when_ropo_answers(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState, clock: Clock
) -> None:
    client = make_client(ropo_url, max_retries=0, circuit=breaker(clock, threshold=1))
    with pytest.raises(RopoUnavailable):
        await client.find_invoices(DOWN)
    clock.now += 30
    assert client.circuit_state is CircuitState.HALF_OPEN

    sandbox.latency_s = 0.3
    probe = asyncio.create_task(client.find_invoices(UP))
    # The sandbox records in its server's thread: polling its record is the event to wait on.
    while len(sandbox.lookups) < 2:  # noqa: ASYNC110 - the probe has reached Ropo
        await asyncio.sleep(0.005)
    with pytest.raises(RopoCircuitOpen):  # only one request tests Ropo at a time
        await client.find_invoices(UP)
    invoices = await probe

    assert [i.invoice_number for i in invoices] == ["SBX-10401", "SBX-10402"]
    assert client.circuit_state is CircuitState.CLOSED
    assert client.circuit_retry_in_s is None
    assert len(await client.find_invoices(UP)) == 2
    assert len(sandbox.lookups) == 3


async def test_a_failed_probe_opens_it_for_another_wait(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState, clock: Clock
) -> None:
    client = make_client(ropo_url, max_retries=0, circuit=breaker(clock, threshold=1))
    with pytest.raises(RopoUnavailable):
        await client.find_invoices(DOWN)
    clock.now += 31

    with pytest.raises(RopoUnavailable):
        await client.find_invoices(DOWN)  # the probe

    assert client.circuit_state is CircuitState.OPEN
    assert client.circuit_retry_in_s == 30.0
    assert len(sandbox.lookups) == 2


@pytest.mark.parametrize(
    "query", [custnum(Fault.BAD_REQUEST.value), custnum("C-NOBODY")], ids=["400", "no invoices"]
)
async def test_client_errors_and_no_invoices_do_not_count(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState, clock: Clock, query
) -> None:
    client = make_client(ropo_url, max_retries=0, circuit=breaker(clock, threshold=2))
    for _ in range(2):
        with pytest.raises(RopoUnavailable):
            await client.find_invoices(DOWN)
        with contextlib.suppress(RopoBadRequest):
            await client.find_invoices(query)  # Ropo is up: the count starts again

    assert client.circuit_state is CircuitState.CLOSED
    assert len(sandbox.lookups) == 4


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_connection_failures_open_it(make_client: MakeClient, clock: Clock) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/rest"
    client = make_client(url, max_retries=0, timeout_s=2, circuit=breaker(clock, threshold=2))
    for _ in range(2):
        with pytest.raises(RopoUnavailable) as caught:
            await client.find_invoices(UP)  # the login cannot connect
        assert str(caught.value) == "Cannot reach Ropo One (ConnectError)"

    with pytest.raises(RopoCircuitOpen):
        await client.find_invoices(UP)


async def test_timeouts_open_it(
    make_client: MakeClient, ropo_url: str, sandbox: SandboxState, clock: Clock
) -> None:
    client = make_client(ropo_url, max_retries=0, timeout_s=0.3, circuit=breaker(clock, 2))
    await client.find_invoices(UP)  # logged in while Ropo is quick
    slow = custnum(Fault.SLOW.value)
    for _ in range(2):
        with pytest.raises(RopoUnavailable):
            await client.find_invoices(slow)

    assert client.circuit_state is CircuitState.OPEN
