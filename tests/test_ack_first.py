"""Lookups wait for queued acknowledgements, but never for long."""

from __future__ import annotations

import asyncio
import time

from bot.ack_first import AckFirst


async def test_a_lookup_starts_at_once_when_nothing_awaits_its_ack():
    gate = AckFirst(max_wait_s=1.0)
    started = time.monotonic()
    await gate.wait_turn()
    assert time.monotonic() - started < 0.05


async def test_a_lookup_waits_until_the_last_pending_ack_has_left():
    gate = AckFirst(max_wait_s=5.0)
    order: list[str] = []

    async def request(name: str, ack_after_s: float) -> None:
        with gate.acknowledging():
            await asyncio.sleep(ack_after_s)
            order.append(f"ack {name}")

    async def lookup() -> None:
        await gate.wait_turn()
        order.append("lookup")

    first = asyncio.create_task(request("a", 0.05))
    second = asyncio.create_task(request("b", 0.1))
    await asyncio.sleep(0)  # both requests are now being acknowledged
    await asyncio.gather(lookup(), first, second)
    assert order == ["ack a", "ack b", "lookup"]


async def test_under_a_steady_stream_a_lookup_waits_at_most_max_wait():
    gate = AckFirst(max_wait_s=0.1)
    with gate.acknowledging():  # a request that is never acknowledged while we wait
        started = time.monotonic()
        await gate.wait_turn()
        waited = time.monotonic() - started
    assert 0.09 < waited < 0.5
