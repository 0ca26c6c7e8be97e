"""Waiting for work in flight: acknowledgements before lookups, lookups before shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.slack.in_flight import InFlight


async def test_nothing_in_flight_means_no_wait():
    acks = InFlight()
    waiting = acks.idle(max_wait_s=1.0)
    # Done on its first step: it never gives the event loop a chance to make it wait.
    with pytest.raises(StopIteration) as done:
        waiting.send(None)
    assert done.value.value is True


async def test_a_waiter_goes_on_once_the_last_one_in_flight_is_done():
    acks = InFlight()
    order: list[str] = []

    async def request(name: str, ack_after_s: float) -> None:
        with acks.track():
            await asyncio.sleep(ack_after_s)
            order.append(f"ack {name}")

    async def lookup() -> None:
        assert await acks.idle(max_wait_s=5.0) is True
        order.append("lookup")

    first = asyncio.create_task(request("a", 0.05))
    second = asyncio.create_task(request("b", 0.1))
    await asyncio.sleep(0)  # both requests are now in flight
    assert acks.count == 2
    await asyncio.gather(lookup(), first, second)
    assert order == ["ack a", "ack b", "lookup"]
    assert acks.count == 0


async def test_a_waiter_waits_at_most_max_wait():
    acks = InFlight()
    with acks.track():  # never done while we wait
        started = time.monotonic()
        assert await acks.idle(max_wait_s=0.1) is False
        waited = time.monotonic() - started
    # At least the wait asked for (timers may fire a little early); the upper bound only
    # says it came back at all, with room for a loaded CI machine.
    assert 0.09 < waited < 5.0
